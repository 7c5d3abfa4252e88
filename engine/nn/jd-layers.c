#include "jd-layers.h"

#include <math.h>
#include <string.h>

#include "jd-error.h"

JdTensor *
jd_tensor_view_as (const JdTensor *t, int ndim, const int64_t *shape)
{
  JdTensor *view = jd_tensor_new_view (t->backend, t->dtype, ndim, shape, t->data);
  g_assert (jd_tensor_numel (view) == jd_tensor_numel (t));
  return view;
}

void
jd_tensor_reshape (JdTensor *t, int ndim, const int64_t *shape)
{
  int64_t before = jd_tensor_numel (t);
  g_assert (ndim >= 0 && ndim <= JD_MAX_DIMS);
  t->ndim = ndim;
  memcpy (t->shape, shape, (gsize) ndim * sizeof (int64_t));
  g_assert (jd_tensor_numel (t) == before);
}

JdTensor *
jd_layer_new_tensor (JdBackend *backend, int ndim, const int64_t *shape, GError **error)
{
  return jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
}

/* ---- Linear, Conv2d, norms ---------------------------------------------------------------- */

gboolean
jd_linear_layer_init (JdLinearLayer *layer, JdWeights *weights, const char *prefix,
                      int64_t in_features, int64_t out_features, gboolean bias, GError **error)
{
  memset (layer, 0, sizeof *layer);
  layer->backend = jd_weights_get_backend (weights);
  layer->in_features = in_features;
  layer->out_features = out_features;
  layer->weight = jd_weights_get_in (weights, prefix, "weight", 2,
                                     (int64_t[]) { out_features, in_features }, error);
  JD_TRY_FALSE (layer->weight != NULL);
  if (bias)
    {
      layer->bias = jd_weights_get_in (weights, prefix, "bias", 1, &out_features, error);
      JD_TRY_FALSE (layer->bias != NULL);
    }
  return TRUE;
}

JdTensor *
jd_linear_layer_forward (const JdLinearLayer *layer, const JdTensor *x, GError **error)
{
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = layer->out_features;
  g_autoptr (JdTensor) dst = jd_layer_new_tensor (layer->backend, x->ndim, shape, error);
  JD_TRY_NULL (dst != NULL);
  JD_TRY_NULL (jd_linear (layer->backend, x, layer->weight, layer->bias, dst, error));
  return g_steal_pointer (&dst);
}

gboolean
jd_conv2d_layer_init (JdConv2dLayer *layer, JdWeights *weights, const char *prefix,
                      int64_t in_channels, int64_t out_channels, int kernel, int stride,
                      int padding, GError **error)
{
  memset (layer, 0, sizeof *layer);
  layer->backend = jd_weights_get_backend (weights);
  layer->in_channels = in_channels;
  layer->out_channels = out_channels;
  layer->kernel = kernel;
  layer->stride = stride;
  layer->padding = padding;
  layer->weight = jd_weights_get_in (weights, prefix, "weight", 4,
                                     (int64_t[]) { out_channels, in_channels, kernel, kernel },
                                     error);
  JD_TRY_FALSE (layer->weight != NULL);
  layer->bias = jd_weights_get_in (weights, prefix, "bias", 1, &out_channels, error);
  return layer->bias != NULL;
}

JdTensor *
jd_conv2d_layer_forward (const JdConv2dLayer *layer, const JdTensor *x, GError **error)
{
  if (x->ndim != 4)
    {
      g_autofree char *shape = jd_tensor_shape_string (x);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "conv2d layer: the input must be (N, C, H, W), got %s", shape);
      return NULL;
    }
  int64_t ho = (x->shape[2] + 2 * layer->padding - layer->kernel) / layer->stride + 1;
  int64_t wo = (x->shape[3] + 2 * layer->padding - layer->kernel) / layer->stride + 1;
  g_autoptr (JdTensor) dst = jd_layer_new_tensor (
    layer->backend, 4, (int64_t[]) { x->shape[0], layer->out_channels, MAX (ho, 1), MAX (wo, 1) },
    error);
  JD_TRY_NULL (dst != NULL);
  JD_TRY_NULL (jd_conv2d (layer->backend, x, layer->weight, layer->bias, layer->stride,
                          layer->padding,
                          dst, error));
  return g_steal_pointer (&dst);
}

gboolean
jd_group_norm_layer_init (JdGroupNormLayer *layer, JdWeights *weights, const char *prefix,
                          int64_t channels, int groups, float eps, GError **error)
{
  memset (layer, 0, sizeof *layer);
  layer->backend = jd_weights_get_backend (weights);
  layer->channels = channels;
  layer->groups = groups;
  layer->eps = eps;
  layer->weight = jd_weights_get_in (weights, prefix, "weight", 1, &channels, error);
  JD_TRY_FALSE (layer->weight != NULL);
  layer->bias = jd_weights_get_in (weights, prefix, "bias", 1, &channels, error);
  return layer->bias != NULL;
}

JdTensor *
jd_group_norm_layer_forward (const JdGroupNormLayer *layer, const JdTensor *x,
                             JdUnaryKind activation, GError **error)
{
  g_autoptr (JdTensor) dst = jd_layer_new_tensor (layer->backend, x->ndim, x->shape, error);
  JD_TRY_NULL (dst != NULL);
  JD_TRY_NULL (jd_group_norm (layer->backend, x, layer->weight, layer->bias, layer->groups,
                              layer->eps,
                              activation, dst, error));
  return g_steal_pointer (&dst);
}

gboolean
jd_layer_norm_layer_init (JdLayerNormLayer *layer, JdWeights *weights, const char *prefix,
                          int64_t dim, float eps, GError **error)
{
  memset (layer, 0, sizeof *layer);
  layer->backend = jd_weights_get_backend (weights);
  layer->dim = dim;
  layer->eps = eps;
  layer->weight = jd_weights_get_in (weights, prefix, "weight", 1, &dim, error);
  JD_TRY_FALSE (layer->weight != NULL);
  layer->bias = jd_weights_get_in (weights, prefix, "bias", 1, &dim, error);
  return layer->bias != NULL;
}

JdTensor *
jd_layer_norm_layer_forward (const JdLayerNormLayer *layer, const JdTensor *x, GError **error)
{
  g_autoptr (JdTensor) dst = jd_layer_new_tensor (layer->backend, x->ndim, x->shape, error);
  JD_TRY_NULL (dst != NULL);
  JD_TRY_NULL (jd_layer_norm (layer->backend, x, layer->weight, layer->bias, layer->eps, dst,
                              error));
  return g_steal_pointer (&dst);
}

/* ---- Residual blocks ---------------------------------------------------------------------- */

static gboolean
child_prefix (char **out, const char *prefix, const char *suffix)
{
  *out = jd_weights_join (prefix, suffix);
  return TRUE;
}

gboolean
jd_resnet_block2d_init (JdResnetBlock2D *block, JdWeights *weights, const char *prefix,
                        int64_t in_channels, int64_t out_channels, int64_t temb_channels,
                        int groups, float eps, GError **error)
{
  memset (block, 0, sizeof *block);
  g_autofree char *p_norm1 = NULL, *p_conv1 = NULL, *p_temb = NULL, *p_norm2 = NULL,
                  *p_conv2 = NULL, *p_short = NULL;
  child_prefix (&p_norm1, prefix, "norm1");
  child_prefix (&p_conv1, prefix, "conv1");
  child_prefix (&p_temb, prefix, "time_emb_proj");
  child_prefix (&p_norm2, prefix, "norm2");
  child_prefix (&p_conv2, prefix, "conv2");
  child_prefix (&p_short, prefix, "conv_shortcut");
  JD_TRY_FALSE (jd_group_norm_layer_init (&block->norm1, weights, p_norm1, in_channels, groups, eps,
                                          error));
  JD_TRY_FALSE (jd_conv2d_layer_init (&block->conv1, weights, p_conv1, in_channels, out_channels, 3,
                                      1, 1, error));
  block->has_time_emb_proj = temb_channels > 0;
  if (block->has_time_emb_proj)
    JD_TRY_FALSE (jd_linear_layer_init (&block->time_emb_proj, weights, p_temb, temb_channels,
                                        out_channels, TRUE, error));
  JD_TRY_FALSE (jd_group_norm_layer_init (&block->norm2, weights, p_norm2, out_channels, groups,
                                          eps,
                                          error));
  JD_TRY_FALSE (jd_conv2d_layer_init (&block->conv2, weights, p_conv2, out_channels, out_channels,
                                      3,
                                      1, 1, error));
  block->has_conv_shortcut = in_channels != out_channels;
  if (block->has_conv_shortcut)
    JD_TRY_FALSE (jd_conv2d_layer_init (&block->conv_shortcut, weights, p_short, in_channels,
                                        out_channels, 1, 1, 0, error));
  return TRUE;
}

/* h += proj(SiLU(temb)) broadcast over the trailing dims of h; temb_shape is the shape the
 * projected embedding is viewed as (1 for every broadcast dim). */
static gboolean
add_time_embedding (const JdLinearLayer *proj, const JdTensor *temb, const int *perm,
                    int view_ndim, const int64_t *view_shape, JdTensor *h, GError **error)
{
  JdBackend *backend = proj->backend;
  g_autoptr (JdTensor) act = jd_layer_new_tensor (backend, temb->ndim, temb->shape, error);
  JD_TRY_FALSE (act != NULL);
  JD_TRY_FALSE (jd_unary (backend, JD_UNARY_SILU, 0, 0, temb, act, error));
  g_autoptr (JdTensor) projected = jd_linear_layer_forward (proj, act, error);
  JD_TRY_FALSE (projected != NULL);
  g_autoptr (JdTensor) arranged = NULL;
  if (perm != NULL)
    {
      int64_t shape[JD_MAX_DIMS];
      for (int i = 0; i < projected->ndim; i++)
        shape[i] = projected->shape[perm[i]];
      arranged = jd_layer_new_tensor (backend, projected->ndim, shape, error);
      JD_TRY_FALSE (arranged != NULL);
      JD_TRY_FALSE (jd_permute (backend, projected, perm, arranged, error));
    }
  g_autoptr (JdTensor) view = jd_tensor_view_as (arranged ? arranged : projected, view_ndim,
                                                 view_shape);
  return jd_add (backend, h, view, h, error);
}

JdTensor *
jd_resnet_block2d_forward (const JdResnetBlock2D *block, const JdTensor *x,
                           const JdTensor *temb, GError **error)
{
  JdBackend *backend = block->conv1.backend;
  g_autoptr (JdTensor) n1 = jd_group_norm_layer_forward (&block->norm1, x, JD_UNARY_SILU, error);
  JD_TRY_NULL (n1 != NULL);
  g_autoptr (JdTensor) h = jd_conv2d_layer_forward (&block->conv1, n1, error);
  JD_TRY_NULL (h != NULL);
  if (block->has_time_emb_proj && temb != NULL)
    JD_TRY_NULL (add_time_embedding (&block->time_emb_proj, temb, NULL, 4,
                                     (int64_t[]) { h->shape[0], h->shape[1], 1, 1 }, h, error));
  g_autoptr (JdTensor) n2 = jd_group_norm_layer_forward (&block->norm2, h, JD_UNARY_SILU, error);
  JD_TRY_NULL (n2 != NULL);
  g_autoptr (JdTensor) out = jd_conv2d_layer_forward (&block->conv2, n2, error);
  JD_TRY_NULL (out != NULL);
  if (block->has_conv_shortcut)
    {
      g_autoptr (JdTensor) shortcut = jd_conv2d_layer_forward (&block->conv_shortcut, x, error);
      JD_TRY_NULL (shortcut != NULL);
      JD_TRY_NULL (jd_add (backend, out, shortcut, out, error));
    }
  else
    JD_TRY_NULL (jd_add (backend, out, x, out, error));
  return g_steal_pointer (&out);
}

gboolean
jd_temporal_resnet_block_init (JdTemporalResnetBlock *block, JdWeights *weights,
                               const char *prefix, int64_t in_channels, int64_t out_channels,
                               int64_t temb_channels, int groups, float eps, GError **error)
{
  memset (block, 0, sizeof *block);
  block->backend = jd_weights_get_backend (weights);
  block->in_channels = in_channels;
  block->out_channels = out_channels;
  g_autofree char *p_norm1 = jd_weights_join (prefix, "norm1");
  g_autofree char *p_norm2 = jd_weights_join (prefix, "norm2");
  g_autofree char *p_temb = jd_weights_join (prefix, "time_emb_proj");
  JD_TRY_FALSE (jd_group_norm_layer_init (&block->norm1, weights, p_norm1, in_channels, groups, eps,
                                          error));
  JD_TRY_FALSE (jd_group_norm_layer_init (&block->norm2, weights, p_norm2, out_channels, groups,
                                          eps,
                                          error));
  block->conv1_weight = jd_weights_get_in (weights, prefix, "conv1.weight", 5,
                                           (int64_t[]) { out_channels, in_channels, 3, 1, 1 },
                                           error);
  JD_TRY_FALSE (block->conv1_weight != NULL);
  block->conv1_bias = jd_weights_get_in (weights, prefix, "conv1.bias", 1, &out_channels, error);
  JD_TRY_FALSE (block->conv1_bias != NULL);
  block->conv2_weight = jd_weights_get_in (weights, prefix, "conv2.weight", 5,
                                           (int64_t[]) { out_channels, out_channels, 3, 1, 1 },
                                           error);
  JD_TRY_FALSE (block->conv2_weight != NULL);
  block->conv2_bias = jd_weights_get_in (weights, prefix, "conv2.bias", 1, &out_channels, error);
  JD_TRY_FALSE (block->conv2_bias != NULL);
  block->has_time_emb_proj = temb_channels > 0;
  if (block->has_time_emb_proj)
    JD_TRY_FALSE (jd_linear_layer_init (&block->time_emb_proj, weights, p_temb, temb_channels,
                                        out_channels, TRUE, error));
  if (in_channels != out_channels)
    {
      block->shortcut_weight = jd_weights_get_in (
        weights, prefix, "conv_shortcut.weight", 5,
        (int64_t[]) { out_channels, in_channels, 1, 1, 1 }, error);
      JD_TRY_FALSE (block->shortcut_weight != NULL);
      block->shortcut_bias = jd_weights_get_in (weights, prefix, "conv_shortcut.bias", 1,
                                                &out_channels, error);
      JD_TRY_FALSE (block->shortcut_bias != NULL);
    }
  return TRUE;
}

static JdTensor *
conv_temporal_new (JdBackend *backend, const JdTensor *x, const JdTensor *weight,
                   const JdTensor *bias, GError **error)
{
  int64_t shape[5] = { x->shape[0], weight->shape[0], x->shape[2], x->shape[3], x->shape[4] };
  g_autoptr (JdTensor) dst = jd_layer_new_tensor (backend, 5, shape, error);
  JD_TRY_NULL (dst != NULL);
  JD_TRY_NULL (jd_conv_temporal (backend, x, weight, bias, dst, error));
  return g_steal_pointer (&dst);
}

JdTensor *
jd_temporal_resnet_block_forward (const JdTemporalResnetBlock *block, const JdTensor *x,
                                  const JdTensor *temb, GError **error)
{
  JdBackend *backend = block->backend;
  if (x->ndim != 5)
    {
      g_autofree char *shape = jd_tensor_shape_string (x);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "temporal res block: the input must be (B, C, F, H, W), got %s", shape);
      return NULL;
    }
  g_autoptr (JdTensor) n1 = jd_group_norm_layer_forward (&block->norm1, x, JD_UNARY_SILU, error);
  JD_TRY_NULL (n1 != NULL);
  g_autoptr (JdTensor) h = conv_temporal_new (backend, n1, block->conv1_weight,
                                              block->conv1_bias, error);
  JD_TRY_NULL (h != NULL);
  if (block->has_time_emb_proj && temb != NULL)
    /* (B, F, C) → (B, C, F), broadcast over H, W. */
    JD_TRY_NULL (add_time_embedding (&block->time_emb_proj, temb, (const int[]) { 0, 2, 1 }, 5,
                                     (int64_t[]) { h->shape[0], h->shape[1], h->shape[2], 1, 1 }, h,
                                     error));
  g_autoptr (JdTensor) n2 = jd_group_norm_layer_forward (&block->norm2, h, JD_UNARY_SILU, error);
  JD_TRY_NULL (n2 != NULL);
  g_autoptr (JdTensor) out = conv_temporal_new (backend, n2, block->conv2_weight,
                                                block->conv2_bias, error);
  JD_TRY_NULL (out != NULL);
  if (block->shortcut_weight != NULL)
    {
      g_autoptr (JdTensor) shortcut = conv_temporal_new (backend, x, block->shortcut_weight,
                                                         block->shortcut_bias, error);
      JD_TRY_NULL (shortcut != NULL);
      JD_TRY_NULL (jd_add (backend, out, shortcut, out, error));
    }
  else
    JD_TRY_NULL (jd_add (backend, out, x, out, error));
  return g_steal_pointer (&out);
}

gboolean
jd_alpha_blender_init (JdAlphaBlender *blender, JdWeights *weights, const char *prefix,
                       gboolean switch_to_temporal, GError **error)
{
  const JdTensor *mix = jd_weights_get_in (weights, prefix, "mix_factor", 1, (int64_t[]) { 1 },
                                           error);
  JD_TRY_FALSE (mix != NULL);
  float factor;
  JD_TRY_FALSE (jd_tensor_download_f32 (mix, &factor, error));
  /* In double, as the reference's float64 run does, then rounded once. */
  double alpha = 1.0 / (1.0 + exp (-(double) factor));
  blender->alpha = (float) (switch_to_temporal ? 1.0 - alpha : alpha);
  return TRUE;
}

gboolean
jd_alpha_blender_blend_into (const JdAlphaBlender *blender, JdBackend *backend,
                             const JdTensor *spatial, JdTensor *temporal, GError **error)
{
  return jd_axpby (backend, 1.0f - blender->alpha, temporal, blender->alpha, spatial, temporal,
                   error);
}

gboolean
jd_spatio_temporal_res_block_init (JdSpatioTemporalResBlock *block, JdWeights *weights,
                                   const char *prefix, int64_t in_channels,
                                   int64_t out_channels, int64_t temb_channels, int groups,
                                   float eps, float temporal_eps, gboolean switch_to_temporal,
                                   GError **error)
{
  memset (block, 0, sizeof *block);
  g_autofree char *p_spatial = jd_weights_join (prefix, "spatial_res_block");
  g_autofree char *p_temporal = jd_weights_join (prefix, "temporal_res_block");
  g_autofree char *p_mixer = jd_weights_join (prefix, "time_mixer");
  JD_TRY_FALSE (jd_resnet_block2d_init (&block->spatial_res_block, weights, p_spatial, in_channels,
                                        out_channels, temb_channels, groups, eps, error));
  JD_TRY_FALSE (jd_temporal_resnet_block_init (&block->temporal_res_block, weights, p_temporal,
                                               out_channels, out_channels, temb_channels, groups,
                                               temporal_eps < 0 ? eps : temporal_eps, error));
  return jd_alpha_blender_init (&block->time_mixer, weights, p_mixer, switch_to_temporal, error);
}

JdTensor *
jd_spatio_temporal_res_block_forward (const JdSpatioTemporalResBlock *block, const JdTensor *x,
                                      const JdTensor *temb, int frames, GError **error)
{
  JdBackend *backend = block->temporal_res_block.backend;
  if (frames <= 0 || x->ndim != 4 || x->shape[0] % frames != 0)
    {
      g_autofree char *shape = jd_tensor_shape_string (x);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "spatio-temporal res block: the input %s is not a batch of whole samples "
                   "of %d frames", shape, frames);
      return NULL;
    }
  g_autoptr (JdTensor) spatial = jd_resnet_block2d_forward (&block->spatial_res_block, x, temb,
                                                            error);
  JD_TRY_NULL (spatial != NULL);
  const int64_t b = spatial->shape[0] / frames, c = spatial->shape[1];
  const int64_t h = spatial->shape[2], w = spatial->shape[3];
  const int to_channels_first[5] = { 0, 2, 1, 3, 4 };   /* its own inverse */
  g_autoptr (JdTensor) frames_view = jd_tensor_view_as (spatial, 5,
                                                        (int64_t[]) { b, frames, c, h, w });
  g_autoptr (JdTensor) channels_first = jd_layer_new_tensor (
    backend, 5, (int64_t[]) { b, c, frames, h, w }, error);
  JD_TRY_NULL (channels_first != NULL);
  JD_TRY_NULL (jd_permute (backend, frames_view, to_channels_first, channels_first, error));
  g_autoptr (JdTensor) temb_frames = NULL;
  if (temb != NULL)
    temb_frames = jd_tensor_view_as (temb, 3, (int64_t[]) { b, frames, temb->shape[1] });
  g_autoptr (JdTensor) temporal = jd_temporal_resnet_block_forward (&block->temporal_res_block,
                                                                    channels_first, temb_frames,
                                                                    error);
  JD_TRY_NULL (temporal != NULL);
  /* Blend in the frame-batch layout, so only the temporal branch is permuted back. */
  g_autoptr (JdTensor) out = jd_layer_new_tensor (backend, 5, frames_view->shape, error);
  JD_TRY_NULL (out != NULL);
  JD_TRY_NULL (jd_permute (backend, temporal, to_channels_first, out, error));
  JD_TRY_NULL (jd_alpha_blender_blend_into (&block->time_mixer, backend, frames_view, out, error));
  jd_tensor_reshape (out, 4, spatial->shape);
  return g_steal_pointer (&out);
}

/* ---- Attention and transformer blocks ----------------------------------------------------- */

gboolean
jd_attention_layer_init (JdAttentionLayer *layer, JdWeights *weights, const char *prefix,
                         int64_t dim, int heads, int64_t head_dim, int64_t context_dim,
                         gboolean qkv_bias, GError **error)
{
  memset (layer, 0, sizeof *layer);
  layer->heads = heads;
  layer->dim = dim;
  layer->head_dim = head_dim;
  layer->context_dim = context_dim;
  const int64_t inner = heads * head_dim, kv_dim = context_dim > 0 ? context_dim : dim;
  g_autofree char *p_q = jd_weights_join (prefix, "to_q");
  g_autofree char *p_k = jd_weights_join (prefix, "to_k");
  g_autofree char *p_v = jd_weights_join (prefix, "to_v");
  g_autofree char *p_out = jd_weights_join (prefix, "to_out.0");
  JD_TRY_FALSE (jd_linear_layer_init (&layer->to_q, weights, p_q, dim, inner, qkv_bias, error));
  JD_TRY_FALSE (jd_linear_layer_init (&layer->to_k, weights, p_k, kv_dim, inner, qkv_bias, error));
  JD_TRY_FALSE (jd_linear_layer_init (&layer->to_v, weights, p_v, kv_dim, inner, qkv_bias, error));
  return jd_linear_layer_init (&layer->to_out, weights, p_out, inner, dim, TRUE, error);
}

/* The attention of x (B, L, dim) to context, with queries regrouped per context sample:
 * returns (Bc, L·B/Bc, dim), or (Bc, 1, dim) when the keys are one token (the same output for
 * every query of the group). */
static JdTensor *
attention_core (const JdAttentionLayer *layer, const JdTensor *x, const JdTensor *context,
                GError **error)
{
  JdBackend *backend = layer->to_q.backend;
  const JdTensor *src = context != NULL ? context : x;
  if (x->ndim != 3 || x->shape[2] != layer->dim || src->ndim != 3
      || src->shape[0] == 0 || x->shape[0] % src->shape[0] != 0)
    {
      g_autofree char *xs = jd_tensor_shape_string (x);
      g_autofree char *cs = jd_tensor_shape_string (src);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "attention layer: queries %s (want (B, L, %" G_GINT64_FORMAT ")) and context "
                   "%s (want (Bc, Lk, D) with Bc dividing B) do not fit", xs, layer->dim, cs);
      return NULL;
    }
  const int64_t groups = src->shape[0], lk = src->shape[1];
  const int64_t lq = x->shape[0] / groups * x->shape[1];
  if (lk == 1)
    {
      /* Softmax over one key is 1: every query gets that key's value. */
      g_autoptr (JdTensor) v = jd_linear_layer_forward (&layer->to_v, src, error);
      JD_TRY_NULL (v != NULL);
      return jd_linear_layer_forward (&layer->to_out, v, error);
    }
  g_autoptr (JdTensor) queries = jd_tensor_view_as (x, 3, (int64_t[]) { groups, lq, layer->dim });
  g_autoptr (JdTensor) q = jd_linear_layer_forward (&layer->to_q, queries, error);
  JD_TRY_NULL (q != NULL);
  g_autoptr (JdTensor) k = jd_linear_layer_forward (&layer->to_k, src, error);
  JD_TRY_NULL (k != NULL);
  g_autoptr (JdTensor) v = jd_linear_layer_forward (&layer->to_v, src, error);
  JD_TRY_NULL (v != NULL);
  g_autoptr (JdTensor) attended = jd_layer_new_tensor (backend, 3, q->shape, error);
  JD_TRY_NULL (attended != NULL);
  const float scale = (float) (1.0 / sqrt ((double) layer->head_dim));
  JD_TRY_NULL (jd_attention (backend, q, k, v, layer->heads, scale, 0, NULL, NULL, attended,
                             error));
  return jd_linear_layer_forward (&layer->to_out, attended, error);
}

JdTensor *
jd_attention_layer_forward (const JdAttentionLayer *layer, const JdTensor *x,
                            const JdTensor *context, GError **error)
{
  JdBackend *backend = layer->to_q.backend;
  g_autoptr (JdTensor) core = attention_core (layer, x, context, error);
  JD_TRY_NULL (core != NULL);
  g_autoptr (JdTensor) out = jd_layer_new_tensor (backend, x->ndim, x->shape, error);
  JD_TRY_NULL (out != NULL);
  if (core->shape[1] == 1 && jd_tensor_numel (core) != jd_tensor_numel (out))
    {
      const int64_t groups = core->shape[0];
      g_autoptr (JdTensor) grouped = jd_tensor_view_as (
        out, 3, (int64_t[]) { groups, jd_tensor_numel (out) / groups / layer->dim, layer->dim });
      JD_TRY_NULL (jd_broadcast (backend, core, grouped, error));
      return g_steal_pointer (&out);
    }
  jd_tensor_reshape (core, x->ndim, x->shape);
  return g_steal_pointer (&core);
}

gboolean
jd_attention_layer_add_to (const JdAttentionLayer *layer, const JdTensor *x,
                           const JdTensor *context, JdTensor *acc, GError **error)
{
  JdBackend *backend = layer->to_q.backend;
  g_autoptr (JdTensor) core = attention_core (layer, x, context, error);
  JD_TRY_FALSE (core != NULL);
  const int64_t groups = core->shape[0];
  g_autoptr (JdTensor) grouped = jd_tensor_view_as (
    acc, 3, (int64_t[]) { groups, jd_tensor_numel (acc) / groups / layer->dim, layer->dim });
  return jd_add (backend, grouped, core, grouped, error);
}

gboolean
jd_feed_forward_init (JdFeedForward *ff, JdWeights *weights, const char *prefix, int64_t dim,
                      int64_t dim_out, int mult, GError **error)
{
  memset (ff, 0, sizeof *ff);
  ff->inner = dim * mult;
  g_autofree char *p_proj = jd_weights_join (prefix, "net.0.proj");
  g_autofree char *p_out = jd_weights_join (prefix, "net.2");
  JD_TRY_FALSE (jd_linear_layer_init (&ff->proj, weights, p_proj, dim, 2 * ff->inner, TRUE, error));
  return jd_linear_layer_init (&ff->out, weights, p_out, ff->inner, dim_out > 0 ? dim_out : dim,
                               TRUE, error);
}

JdTensor *
jd_feed_forward_forward (const JdFeedForward *ff, const JdTensor *x, GError **error)
{
  JdBackend *backend = ff->proj.backend;
  g_autoptr (JdTensor) projected = jd_linear_layer_forward (&ff->proj, x, error);
  JD_TRY_NULL (projected != NULL);
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = ff->inner;
  g_autoptr (JdTensor) value = jd_layer_new_tensor (backend, x->ndim, shape, error);
  JD_TRY_NULL (value != NULL);
  g_autoptr (JdTensor) gate = jd_layer_new_tensor (backend, x->ndim, shape, error);
  JD_TRY_NULL (gate != NULL);
  JD_TRY_NULL (jd_slice (backend, projected, x->ndim - 1, 0, value, error));
  JD_TRY_NULL (jd_slice (backend, projected, x->ndim - 1, ff->inner, gate, error));
  JD_TRY_NULL (jd_unary (backend, JD_UNARY_GELU, 0, 0, gate, gate, error));
  JD_TRY_NULL (jd_mul (backend, value, gate, value, error));
  return jd_linear_layer_forward (&ff->out, value, error);
}

gboolean
jd_transformer_block_init (JdTransformerBlock *block, JdWeights *weights, const char *prefix,
                           int64_t dim, int heads, int64_t head_dim, int64_t context_dim,
                           gboolean double_self_attention, float norm_eps, GError **error)
{
  memset (block, 0, sizeof *block);
  g_autofree char *p_norm1 = jd_weights_join (prefix, "norm1");
  g_autofree char *p_attn1 = jd_weights_join (prefix, "attn1");
  g_autofree char *p_norm2 = jd_weights_join (prefix, "norm2");
  g_autofree char *p_attn2 = jd_weights_join (prefix, "attn2");
  g_autofree char *p_norm3 = jd_weights_join (prefix, "norm3");
  g_autofree char *p_ff = jd_weights_join (prefix, "ff");
  JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm1, weights, p_norm1, dim, norm_eps, error));
  JD_TRY_FALSE (jd_attention_layer_init (&block->attn1, weights, p_attn1, dim, heads, head_dim, 0,
                                         FALSE, error));
  block->has_attn2 = context_dim > 0 || double_self_attention;
  if (block->has_attn2)
    {
      JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm2, weights, p_norm2, dim, norm_eps,
                                              error));
      JD_TRY_FALSE (jd_attention_layer_init (&block->attn2, weights, p_attn2, dim, heads, head_dim,
                                             context_dim, FALSE, error));
    }
  JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm3, weights, p_norm3, dim, norm_eps, error));
  return jd_feed_forward_init (&block->ff, weights, p_ff, dim, dim, 4, error);
}

JdTensor *
jd_transformer_block_forward (const JdTransformerBlock *block, const JdTensor *x,
                              const JdTensor *context, GError **error)
{
  JdBackend *backend = block->norm1.backend;
  g_autoptr (JdTensor) n1 = jd_layer_norm_layer_forward (&block->norm1, x, error);
  JD_TRY_NULL (n1 != NULL);
  g_autoptr (JdTensor) a1 = jd_attention_layer_forward (&block->attn1, n1, NULL, error);
  JD_TRY_NULL (a1 != NULL);
  JD_TRY_NULL (jd_add (backend, a1, x, a1, error));
  g_autoptr (JdTensor) h = g_steal_pointer (&a1);
  if (block->has_attn2)
    {
      g_autoptr (JdTensor) n2 = jd_layer_norm_layer_forward (&block->norm2, h, error);
      JD_TRY_NULL (n2 != NULL);
      JD_TRY_NULL (jd_attention_layer_add_to (&block->attn2, n2,
                                              block->attn2.context_dim > 0 ? context : NULL, h, error));
    }
  g_autoptr (JdTensor) n3 = jd_layer_norm_layer_forward (&block->norm3, h, error);
  JD_TRY_NULL (n3 != NULL);
  g_autoptr (JdTensor) f = jd_feed_forward_forward (&block->ff, n3, error);
  JD_TRY_NULL (f != NULL);
  JD_TRY_NULL (jd_add (backend, h, f, h, error));
  return g_steal_pointer (&h);
}

/* ---- Embeddings and resamplers ------------------------------------------------------------ */

gboolean
jd_timestep_embedding_init (JdTimestepEmbedding *embedding, JdWeights *weights,
                            const char *prefix, int64_t in_features, int64_t hidden,
                            int64_t out_features, GError **error)
{
  g_autofree char *p1 = jd_weights_join (prefix, "linear_1");
  g_autofree char *p2 = jd_weights_join (prefix, "linear_2");
  JD_TRY_FALSE (jd_linear_layer_init (&embedding->linear_1, weights, p1, in_features, hidden, TRUE,
                                      error));
  return jd_linear_layer_init (&embedding->linear_2, weights, p2, hidden,
                               out_features > 0 ? out_features : hidden, TRUE, error);
}

JdTensor *
jd_timestep_embedding_forward (const JdTimestepEmbedding *embedding, const JdTensor *x,
                               GError **error)
{
  g_autoptr (JdTensor) h = jd_linear_layer_forward (&embedding->linear_1, x, error);
  JD_TRY_NULL (h != NULL);
  JD_TRY_NULL (jd_unary (embedding->linear_1.backend, JD_UNARY_SILU, 0, 0, h, h, error));
  return jd_linear_layer_forward (&embedding->linear_2, h, error);
}

JdTensor *
jd_sinusoids (JdBackend *backend, const JdTensor *positions, int dim, GError **error)
{
  g_autoptr (JdTensor) dst = jd_layer_new_tensor (backend, 2,
                                                  (int64_t[]) { positions->shape[0], dim },
                                                  error);
  JD_TRY_NULL (dst != NULL);
  JD_TRY_NULL (jd_timestep_embedding (backend, positions, dim, TRUE, 0.0f, 1.0f, 10000.0f, dst,
                                      error));
  return g_steal_pointer (&dst);
}

gboolean
jd_downsample2d_init (JdDownsample2D *down, JdWeights *weights, const char *prefix,
                      int64_t channels, int padding, GError **error)
{
  down->padding = padding;
  g_autofree char *p_conv = jd_weights_join (prefix, "conv");
  return jd_conv2d_layer_init (&down->conv, weights, p_conv, channels, channels, 3, 2, padding,
                               error);
}

/* x with one zero column appended on the right and one zero row at the bottom. */
static JdTensor *
pad_bottom_right (JdBackend *backend, const JdTensor *x, GError **error)
{
  const int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
  g_autofree float *zeros = g_try_malloc0 ((gsize) (n * c * MAX (h + 1, w)) * sizeof (float));
  if (zeros == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY, "downsample: out of memory padding");
      return NULL;
    }
  g_autoptr (JdTensor) column = jd_layer_new_tensor (backend, 4, (int64_t[]) { n, c, h, 1 },
                                                     error);
  JD_TRY_NULL (column != NULL);
  JD_TRY_NULL (jd_tensor_upload_f32 (column, zeros, error));
  g_autoptr (JdTensor) wide = jd_layer_new_tensor (backend, 4, (int64_t[]) { n, c, h, w + 1 },
                                                   error);
  JD_TRY_NULL (wide != NULL);
  JD_TRY_NULL (jd_concat (backend, 2, (const JdTensor *[]) { x, column }, 3, wide, error));
  g_autoptr (JdTensor) row = jd_layer_new_tensor (backend, 4, (int64_t[]) { n, c, 1, w + 1 },
                                                  error);
  JD_TRY_NULL (row != NULL);
  JD_TRY_NULL (jd_tensor_upload_f32 (row, zeros, error));
  g_autoptr (JdTensor) padded = jd_layer_new_tensor (
    backend, 4, (int64_t[]) { n, c, h + 1, w + 1 }, error);
  JD_TRY_NULL (padded != NULL);
  JD_TRY_NULL (jd_concat (backend, 2, (const JdTensor *[]) { wide, row }, 2, padded, error));
  return g_steal_pointer (&padded);
}

JdTensor *
jd_downsample2d_forward (const JdDownsample2D *down, const JdTensor *x, GError **error)
{
  if (down->padding != 0)
    return jd_conv2d_layer_forward (&down->conv, x, error);
  g_autoptr (JdTensor) padded = pad_bottom_right (down->conv.backend, x, error);
  JD_TRY_NULL (padded != NULL);
  return jd_conv2d_layer_forward (&down->conv, padded, error);
}

gboolean
jd_upsample2d_init (JdUpsample2D *up, JdWeights *weights, const char *prefix, int64_t channels,
                    GError **error)
{
  g_autofree char *p_conv = jd_weights_join (prefix, "conv");
  return jd_conv2d_layer_init (&up->conv, weights, p_conv, channels, channels, 3, 1, 1, error);
}

JdTensor *
jd_upsample2d_forward (const JdUpsample2D *up, const JdTensor *x, int64_t out_h, int64_t out_w,
                       GError **error)
{
  if (out_h <= 0 || out_w <= 0)
    {
      out_h = 2 * x->shape[2];
      out_w = 2 * x->shape[3];
    }
  g_autoptr (JdTensor) big = jd_layer_new_tensor (
    up->conv.backend, 4, (int64_t[]) { x->shape[0], x->shape[1], out_h, out_w }, error);
  JD_TRY_NULL (big != NULL);
  JD_TRY_NULL (jd_upsample_nearest (up->conv.backend, x, big, error));
  return jd_conv2d_layer_forward (&up->conv, big, error);
}
