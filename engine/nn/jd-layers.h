/* jd-layers.h — the diffusers building blocks the UNets and VAEs are made of.
 *
 * Each layer is a struct of borrowed weight pointers (owned by the JdWeights store it was
 * initialised from, which must outlive it), an init that looks its weights up under a name
 * prefix with the shapes the given dimensions imply (so a file that does not fit the config
 * fails at init, naming the tensor), and a forward that returns a new tensor on the store's
 * backend. The math and the parameter names are those of tools/reference/jointdit_reference
 * (and so of diffusers). Intermediate tensors are allocated per forward and freed on return;
 * a memory plan that reuses buffers comes later.
 *
 * Layouts: images (N, C, H, W); token sequences (B, L, C); SVD's temporal blocks see
 * (B, C, F, H, W). Frame batches are (B·F, C, H, W), frames of one sample consecutive.
 */
#pragma once

#include <glib.h>

#include "jd-ops.h"
#include "jd-weights.h"

G_BEGIN_DECLS

/* Shape helpers for owned tensors and views. */
/* A view of t's data with another shape of the same element count (freeing it frees no data). */
JdTensor *jd_tensor_view_as        (const JdTensor *t, int ndim, const int64_t *shape);
/* Changes an owned tensor's shape in place (same element count). */
void      jd_tensor_reshape        (JdTensor *t, int ndim, const int64_t *shape);
/* A new F32 tensor on backend, or NULL with error. */
JdTensor *jd_layer_new_tensor      (JdBackend *backend, int ndim, const int64_t *shape,
                                    GError **error);

/* nn.Linear: weight (out, in), optional bias (out). x (..., in) -> (..., out). */
typedef struct {
  JdBackend      *backend;
  const JdTensor *weight;
  const JdTensor *bias;
  int64_t         in_features, out_features;
} JdLinearLayer;

gboolean  jd_linear_layer_init     (JdLinearLayer *layer, JdWeights *weights, const char *prefix,
                                    int64_t in_features, int64_t out_features, gboolean bias,
                                    GError **error);
JdTensor *jd_linear_layer_forward  (const JdLinearLayer *layer, const JdTensor *x,
                                    GError **error);

/* nn.Conv2d with a square kernel, symmetric padding. */
typedef struct {
  JdBackend      *backend;
  const JdTensor *weight;
  const JdTensor *bias;
  int64_t         in_channels, out_channels;
  int             kernel, stride, padding;
} JdConv2dLayer;

gboolean  jd_conv2d_layer_init     (JdConv2dLayer *layer, JdWeights *weights, const char *prefix,
                                    int64_t in_channels, int64_t out_channels, int kernel,
                                    int stride, int padding, GError **error);
JdTensor *jd_conv2d_layer_forward  (const JdConv2dLayer *layer, const JdTensor *x,
                                    GError **error);

/* nn.GroupNorm (affine) on (N, C, ...); the activation (identity or SiLU) is fused after it. */
typedef struct {
  JdBackend      *backend;
  const JdTensor *weight;
  const JdTensor *bias;
  int64_t         channels;
  int             groups;
  float           eps;
} JdGroupNormLayer;

gboolean  jd_group_norm_layer_init (JdGroupNormLayer *layer, JdWeights *weights,
                                    const char *prefix, int64_t channels, int groups, float eps,
                                    GError **error);
JdTensor *jd_group_norm_layer_forward (const JdGroupNormLayer *layer, const JdTensor *x,
                                       JdUnaryKind activation, GError **error);

/* nn.LayerNorm (affine) over the last dim. */
typedef struct {
  JdBackend      *backend;
  const JdTensor *weight;
  const JdTensor *bias;
  int64_t         dim;
  float           eps;
} JdLayerNormLayer;

gboolean  jd_layer_norm_layer_init (JdLayerNormLayer *layer, JdWeights *weights,
                                    const char *prefix, int64_t dim, float eps, GError **error);
JdTensor *jd_layer_norm_layer_forward (const JdLayerNormLayer *layer, const JdTensor *x,
                                       GError **error);

/* ResnetBlock2D: norm1 → SiLU → conv1 (+ time_emb_proj(SiLU(temb)) per channel) → norm2 → SiLU
 * → conv2, plus conv_shortcut (1×1) when the channel count changes; output scale 1. */
typedef struct {
  JdGroupNormLayer norm1, norm2;
  JdConv2dLayer    conv1, conv2, conv_shortcut;
  JdLinearLayer    time_emb_proj;
  gboolean         has_time_emb_proj, has_conv_shortcut;
} JdResnetBlock2D;

/* temb_channels 0: no time_emb_proj (the VAEs). */
gboolean  jd_resnet_block2d_init   (JdResnetBlock2D *block, JdWeights *weights,
                                    const char *prefix, int64_t in_channels,
                                    int64_t out_channels, int64_t temb_channels, int groups,
                                    float eps, GError **error);
/* x (N, Cin, H, W), temb (N, temb_channels) or NULL -> (N, Cout, H, W). */
JdTensor *jd_resnet_block2d_forward (const JdResnetBlock2D *block, const JdTensor *x,
                                     const JdTensor *temb, GError **error);

/* SVD's TemporalResnetBlock: ResnetBlock2D's shape on (B, C, F, H, W) with Conv3d (3, 1, 1)
 * kernels, so it mixes frames only; GroupNorm statistics span all frames. */
typedef struct {
  JdGroupNormLayer norm1, norm2;
  JdBackend       *backend;
  const JdTensor  *conv1_weight, *conv1_bias, *conv2_weight, *conv2_bias;
  const JdTensor  *shortcut_weight, *shortcut_bias;   /* NULL when channels match */
  JdLinearLayer    time_emb_proj;
  gboolean         has_time_emb_proj;
  int64_t          in_channels, out_channels;
} JdTemporalResnetBlock;

gboolean  jd_temporal_resnet_block_init (JdTemporalResnetBlock *block, JdWeights *weights,
                                         const char *prefix, int64_t in_channels,
                                         int64_t out_channels, int64_t temb_channels,
                                         int groups, float eps, GError **error);
/* x (B, Cin, F, H, W), temb (B, F, temb_channels) or NULL -> (B, Cout, F, H, W). */
JdTensor *jd_temporal_resnet_block_forward (const JdTemporalResnetBlock *block,
                                            const JdTensor *x, const JdTensor *temb,
                                            GError **error);

/* time_mixer: α = sigmoid(mix_factor), read once at init. The UNet blends
 * α·spatial + (1−α)·temporal; with switch_to_temporal (SVD's VAE decoder) the roles swap. */
typedef struct {
  float alpha;   /* the weight of the spatial branch, after any switch */
} JdAlphaBlender;

gboolean  jd_alpha_blender_init    (JdAlphaBlender *blender, JdWeights *weights,
                                    const char *prefix, gboolean switch_to_temporal,
                                    GError **error);
/* temporal ← α·spatial + (1−α)·temporal, in place (equal shapes). */
gboolean  jd_alpha_blender_blend_into (const JdAlphaBlender *blender, JdBackend *backend,
                                       const JdTensor *spatial, JdTensor *temporal,
                                       GError **error);

/* SpatioTemporalResBlock: spatial_res_block per frame, temporal_res_block across frames,
 * blended by time_mixer. */
typedef struct {
  JdResnetBlock2D       spatial_res_block;
  JdTemporalResnetBlock temporal_res_block;
  JdAlphaBlender        time_mixer;
} JdSpatioTemporalResBlock;

/* temporal_eps < 0: the same as eps.  groups: of every GroupNorm inside (SVD: 32). */
gboolean  jd_spatio_temporal_res_block_init (JdSpatioTemporalResBlock *block,
                                             JdWeights *weights, const char *prefix,
                                             int64_t in_channels, int64_t out_channels,
                                             int64_t temb_channels, int groups, float eps,
                                             float temporal_eps, gboolean switch_to_temporal,
                                             GError **error);
/* x (B·F, Cin, H, W), temb (B·F, temb_channels) or NULL -> (B·F, Cout, H, W). */
JdTensor *jd_spatio_temporal_res_block_forward (const JdSpatioTemporalResBlock *block,
                                                const JdTensor *x, const JdTensor *temb,
                                                int frames, GError **error);

/* Attention: to_q / to_k / to_v (bias when qkv_bias) and to_out.0 (with bias), heads split the
 * inner width heads × head_dim, scale 1/sqrt(head_dim). */
typedef struct {
  JdLinearLayer to_q, to_k, to_v, to_out;
  int           heads;
  int64_t       dim, head_dim, context_dim;
} JdAttentionLayer;

/* context_dim 0: self-attention (keys and values from x). */
gboolean  jd_attention_layer_init  (JdAttentionLayer *layer, JdWeights *weights,
                                    const char *prefix, int64_t dim, int heads,
                                    int64_t head_dim, int64_t context_dim, gboolean qkv_bias,
                                    GError **error);
/* x (B, L, dim); context (Bc, Lk, context_dim) or NULL for self-attention -> (B, L, dim).
 * A context may serve several query rows: when Bc divides B, rows n·B/Bc … (n+1)·B/Bc − 1 of x
 * attend to context n (queries are independent, so this equals repeating the context; the
 * video UNet uses it for frame batches and pixel sequences). When the keys are one token,
 * softmax over them is 1: the output is to_out(to_v(context)) for every query, computed so. */
JdTensor *jd_attention_layer_forward (const JdAttentionLayer *layer, const JdTensor *x,
                                      const JdTensor *context, GError **error);
/* acc += attention(x, context) with acc of x's shape, without materialising the broadcast of
 * the one-token shortcut. */
gboolean  jd_attention_layer_add_to (const JdAttentionLayer *layer, const JdTensor *x,
                                     const JdTensor *context, JdTensor *acc, GError **error);

/* GEGLU FeedForward: net.0.proj (dim → 2·inner) → value · GELU(gate) (exact GELU; value the
 * first half) → net.2 (inner → dim_out); inner = mult · dim. */
typedef struct {
  JdLinearLayer proj, out;
  int64_t       inner;
} JdFeedForward;

gboolean  jd_feed_forward_init     (JdFeedForward *ff, JdWeights *weights, const char *prefix,
                                    int64_t dim, int64_t dim_out, int mult, GError **error);
JdTensor *jd_feed_forward_forward  (const JdFeedForward *ff, const JdTensor *x, GError **error);

/* BasicTransformerBlock: x += attn1(norm1 x); x += attn2(norm2 x, context) (a second
 * self-attention when double_self_attention and no context_dim); x += ff(norm3 x). */
typedef struct {
  JdLayerNormLayer norm1, norm2, norm3;
  JdAttentionLayer attn1, attn2;
  JdFeedForward    ff;
  gboolean         has_attn2;
} JdTransformerBlock;

gboolean  jd_transformer_block_init (JdTransformerBlock *block, JdWeights *weights,
                                     const char *prefix, int64_t dim, int heads,
                                     int64_t head_dim, int64_t context_dim,
                                     gboolean double_self_attention, float norm_eps,
                                     GError **error);
/* x (B, L, dim); context as for jd_attention_layer_forward (ignored without cross-attention). */
JdTensor *jd_transformer_block_forward (const JdTransformerBlock *block, const JdTensor *x,
                                        const JdTensor *context, GError **error);

/* TimestepEmbedding: linear_1 → SiLU → linear_2. */
typedef struct {
  JdLinearLayer linear_1, linear_2;
} JdTimestepEmbedding;

gboolean  jd_timestep_embedding_init (JdTimestepEmbedding *embedding, JdWeights *weights,
                                      const char *prefix, int64_t in_features, int64_t hidden,
                                      int64_t out_features, GError **error);
JdTensor *jd_timestep_embedding_forward (const JdTimestepEmbedding *embedding,
                                         const JdTensor *x, GError **error);
/* Sinusoidal features as SVD and AudioLDM2 use them ([cos | sin], no shift, period 10000):
 * positions (N) -> (N, dim). */
JdTensor *jd_sinusoids             (JdBackend *backend, const JdTensor *positions, int dim,
                                    GError **error);

/* Downsample2D: 3×3 conv, stride 2. padding 1 is symmetric (the UNets); padding 0 first pads
 * one zero row and column at the bottom and right (the VAE encoders). */
typedef struct {
  JdConv2dLayer conv;
  int           padding;
} JdDownsample2D;

gboolean  jd_downsample2d_init     (JdDownsample2D *down, JdWeights *weights, const char *prefix,
                                    int64_t channels, int padding, GError **error);
JdTensor *jd_downsample2d_forward  (const JdDownsample2D *down, const JdTensor *x,
                                    GError **error);

/* Upsample2D: nearest-neighbour to (out_h, out_w) (×2 when both are 0), then a 3×3 conv. */
typedef struct {
  JdConv2dLayer conv;
} JdUpsample2D;

gboolean  jd_upsample2d_init       (JdUpsample2D *up, JdWeights *weights, const char *prefix,
                                    int64_t channels, GError **error);
JdTensor *jd_upsample2d_forward    (const JdUpsample2D *up, const JdTensor *x, int64_t out_h,
                                    int64_t out_w, GError **error);

G_END_DECLS
