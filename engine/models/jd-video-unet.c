#include "jd-video-unet.h"

#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"

#define MAX_BLOCKS 8
#define MAX_LAYERS 8

/* Epsilons of the published SVD UNet (FACTS.md): GroupNorms 1e-6 in the cross-attention down
 * blocks and every up block, 1e-5 in the plain down block, the mid block and conv_norm_out;
 * 1e-6 in the transformers' GroupNorm; nn.LayerNorm's 1e-5 in the transformer blocks. */
#define EPS_CROSS_BLOCK   1e-6f
#define EPS_PLAIN_BLOCK   1e-5f
#define EPS_UP_BLOCK      1e-6f
#define EPS_MID_BLOCK     1e-5f
#define EPS_NORM_OUT      1e-5f
#define EPS_TRANSFORMER   1e-6f
#define EPS_LAYER_NORM    1e-5f

/* SVD's TemporalBasicTransformerBlock: attention along frames, every pixel its own sequence. */
typedef struct {
  JdLayerNormLayer norm_in, norm1, norm2, norm3;
  JdFeedForward    ff_in, ff;
  JdAttentionLayer attn1, attn2;
} TemporalTransformerBlock;

typedef struct {
  JdGroupNormLayer          norm;
  JdLinearLayer             proj_in, proj_out;
  int                       n_layers;
  JdTransformerBlock        blocks[MAX_LAYERS];
  TemporalTransformerBlock  temporal_blocks[MAX_LAYERS];
  JdTimestepEmbedding       time_pos_embed;
  JdAlphaBlender            time_mixer;
  int64_t                   channels;
} TransformerSpatioTemporal;

typedef struct {
  int                        n_layers;
  JdSpatioTemporalResBlock   resnets[MAX_LAYERS];
  TransformerSpatioTemporal *attentions;   /* n_layers of them, or NULL */
  gboolean                   has_downsample, has_upsample;
  JdDownsample2D             downsample;
  JdUpsample2D               upsample;
} Block;

struct _JdVideoUNet {
  JdBackend          *backend;
  int                 n_blocks;
  int64_t             in_channels, out_channels, temb_channels, context_dim;
  int64_t             channels[MAX_BLOCKS];
  int64_t             addition_time_embed_dim;
  JdTimestepEmbedding time_embedding, add_embedding;
  JdConv2dLayer       conv_in, conv_out;
  JdGroupNormLayer    conv_norm_out;
  Block               down[MAX_BLOCKS], up[MAX_BLOCKS];
  Block               mid;   /* resnets 0 and 1, attentions[0] */
  char              **stage_names;
};

static void
block_clear (Block *block)
{
  g_clear_pointer (&block->attentions, g_free);
}

void
jd_video_unet_free (JdVideoUNet *unet)
{
  if (unet == NULL)
    return;
  for (int i = 0; i < MAX_BLOCKS; i++)
    {
      block_clear (&unet->down[i]);
      block_clear (&unet->up[i]);
    }
  block_clear (&unet->mid);
  g_strfreev (unet->stage_names);
  g_free (unet);
}

/* ---- Transformers ------------------------------------------------------------------------- */

static gboolean
temporal_block_init (TemporalTransformerBlock *block, JdWeights *weights, const char *prefix,
                     int64_t dim, int heads, int64_t context_dim, GError **error)
{
  const int64_t head_dim = dim / heads;
  g_autofree char *p_norm_in = jd_weights_join (prefix, "norm_in");
  g_autofree char *p_ff_in = jd_weights_join (prefix, "ff_in");
  g_autofree char *p_norm1 = jd_weights_join (prefix, "norm1");
  g_autofree char *p_attn1 = jd_weights_join (prefix, "attn1");
  g_autofree char *p_norm2 = jd_weights_join (prefix, "norm2");
  g_autofree char *p_attn2 = jd_weights_join (prefix, "attn2");
  g_autofree char *p_norm3 = jd_weights_join (prefix, "norm3");
  g_autofree char *p_ff = jd_weights_join (prefix, "ff");
  JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm_in, weights, p_norm_in, dim, EPS_LAYER_NORM,
                                          error));
  JD_TRY_FALSE (jd_feed_forward_init (&block->ff_in, weights, p_ff_in, dim, dim, 4, error));
  JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm1, weights, p_norm1, dim, EPS_LAYER_NORM,
                                          error));
  JD_TRY_FALSE (jd_attention_layer_init (&block->attn1, weights, p_attn1, dim, heads, head_dim, 0,
                                         FALSE, error));
  JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm2, weights, p_norm2, dim, EPS_LAYER_NORM,
                                          error));
  JD_TRY_FALSE (jd_attention_layer_init (&block->attn2, weights, p_attn2, dim, heads, head_dim,
                                         context_dim, FALSE, error));
  JD_TRY_FALSE (jd_layer_norm_layer_init (&block->norm3, weights, p_norm3, dim, EPS_LAYER_NORM,
                                          error));
  return jd_feed_forward_init (&block->ff, weights, p_ff, dim, dim, 4, error);
}

/* y += sublayer(norm(y)) for a feed-forward sublayer. */
static gboolean
add_feed_forward (const JdLayerNormLayer *norm, const JdFeedForward *ff, JdTensor *y,
                  GError **error)
{
  g_autoptr (JdTensor) n = jd_layer_norm_layer_forward (norm, y, error);
  JD_TRY_FALSE (n != NULL);
  g_autoptr (JdTensor) f = jd_feed_forward_forward (ff, n, error);
  JD_TRY_FALSE (f != NULL);
  return jd_add (norm->backend, y, f, y, error);
}

static gboolean
add_attention (const JdLayerNormLayer *norm, const JdAttentionLayer *attn,
               const JdTensor *context, JdTensor *y, GError **error)
{
  g_autoptr (JdTensor) n = jd_layer_norm_layer_forward (norm, y, error);
  JD_TRY_FALSE (n != NULL);
  return jd_attention_layer_add_to (attn, n, context, y, error);
}

/* x (B·F, S, C), context (B, L, D) -> (B·F, S, C). */
static JdTensor *
temporal_block_forward (const TemporalTransformerBlock *block, const JdTensor *x, int frames,
                        const JdTensor *context, GError **error)
{
  JdBackend *backend = block->norm1.backend;
  const int64_t b = x->shape[0] / frames, s = x->shape[1], c = x->shape[2];
  const int swap_middle[4] = { 0, 2, 1, 3 };
  g_autoptr (JdTensor) frames_first = jd_tensor_view_as (x, 4, (int64_t[]) { b, frames, s, c });
  g_autoptr (JdTensor) y = jd_layer_new_tensor (backend, 4, (int64_t[]) { b, s, frames, c },
                                                error);
  JD_TRY_NULL (y != NULL);
  JD_TRY_NULL (jd_permute (backend, frames_first, swap_middle, y, error));
  jd_tensor_reshape (y, 3, (int64_t[]) { b * s, frames, c });
  JD_TRY_NULL (add_feed_forward (&block->norm_in, &block->ff_in, y, error));
  JD_TRY_NULL (add_attention (&block->norm1, &block->attn1, NULL, y, error));
  /* Sequences are ordered (sample, pixel): sample n's context serves its s sequences. */
  JD_TRY_NULL (add_attention (&block->norm2, &block->attn2, context, y, error));
  JD_TRY_NULL (add_feed_forward (&block->norm3, &block->ff, y, error));
  jd_tensor_reshape (y, 4, (int64_t[]) { b, s, frames, c });
  g_autoptr (JdTensor) out = jd_layer_new_tensor (backend, 4, (int64_t[]) { b, frames, s, c },
                                                  error);
  JD_TRY_NULL (out != NULL);
  JD_TRY_NULL (jd_permute (backend, y, swap_middle, out, error));
  jd_tensor_reshape (out, 3, x->shape);
  return g_steal_pointer (&out);
}

static gboolean
transformer_init (TransformerSpatioTemporal *t, JdWeights *weights, const char *prefix,
                  int64_t channels, int heads, int64_t context_dim, int n_layers, int groups,
                  GError **error)
{
  memset (t, 0, sizeof *t);
  t->channels = channels;
  t->n_layers = n_layers;
  g_autofree char *p_norm = jd_weights_join (prefix, "norm");
  g_autofree char *p_in = jd_weights_join (prefix, "proj_in");
  g_autofree char *p_out = jd_weights_join (prefix, "proj_out");
  g_autofree char *p_pos = jd_weights_join (prefix, "time_pos_embed");
  g_autofree char *p_mixer = jd_weights_join (prefix, "time_mixer");
  JD_TRY_FALSE (jd_group_norm_layer_init (&t->norm, weights, p_norm, channels, groups,
                                          EPS_TRANSFORMER, error));
  JD_TRY_FALSE (jd_linear_layer_init (&t->proj_in, weights, p_in, channels, channels, TRUE, error));
  for (int i = 0; i < n_layers; i++)
    {
      g_autofree char *p_block = jd_weights_join_printf (prefix, "transformer_blocks.%d", i);
      g_autofree char *p_temporal =
        jd_weights_join_printf (prefix, "temporal_transformer_blocks.%d", i);
      JD_TRY_FALSE (jd_transformer_block_init (&t->blocks[i], weights, p_block, channels, heads,
                                               channels / heads, context_dim, FALSE, EPS_LAYER_NORM,
                                               error));
      JD_TRY_FALSE (temporal_block_init (&t->temporal_blocks[i], weights, p_temporal, channels,
                                         heads, context_dim, error));
    }
  JD_TRY_FALSE (jd_timestep_embedding_init (&t->time_pos_embed, weights, p_pos, channels,
                                            4 * channels, channels, error));
  JD_TRY_FALSE (jd_alpha_blender_init (&t->time_mixer, weights, p_mixer, FALSE, error));
  return jd_linear_layer_init (&t->proj_out, weights, p_out, channels, channels, TRUE, error);
}

/* x (B·F, C, H, W), context (B, L, D) -> (B·F, C, H, W). */
static JdTensor *
transformer_forward (const TransformerSpatioTemporal *t, const JdTensor *x,
                     const JdTensor *context, int frames, GError **error)
{
  JdBackend *backend = t->norm.backend;
  const int64_t bf = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
  const int64_t b = bf / frames, hw = h * w;

  /* The frame-index embedding, the same for every sample and pixel. */
  g_autofree float *ids = g_new (float, frames);
  for (int f = 0; f < frames; f++)
    ids[f] = (float) f;
  g_autoptr (JdTensor) positions = jd_layer_new_tensor (backend, 1, (int64_t[]) { frames },
                                                        error);
  JD_TRY_NULL (positions != NULL);
  JD_TRY_NULL (jd_tensor_upload_f32 (positions, ids, error));
  g_autoptr (JdTensor) features = jd_sinusoids (backend, positions, (int) c, error);
  JD_TRY_NULL (features != NULL);
  g_autoptr (JdTensor) frame_emb = jd_timestep_embedding_forward (&t->time_pos_embed, features,
                                                                  error);
  JD_TRY_NULL (frame_emb != NULL);
  g_autoptr (JdTensor) frame_emb_view = jd_tensor_view_as (frame_emb, 4,
                                                           (int64_t[]) { 1, frames, 1, c });

  g_autoptr (JdTensor) normed = jd_group_norm_layer_forward (&t->norm, x, JD_UNARY_IDENTITY,
                                                             error);
  JD_TRY_NULL (normed != NULL);
  g_autoptr (JdTensor) tokens = jd_layer_new_tensor (backend, 4, (int64_t[]) { bf, h, w, c },
                                                     error);
  JD_TRY_NULL (tokens != NULL);
  JD_TRY_NULL (jd_permute (backend, normed, (const int[]) { 0, 2, 3, 1 }, tokens, error));
  jd_tensor_reshape (tokens, 3, (int64_t[]) { bf, hw, c });
  g_autoptr (JdTensor) hidden = jd_linear_layer_forward (&t->proj_in, tokens, error);
  JD_TRY_NULL (hidden != NULL);

  for (int i = 0; i < t->n_layers; i++)
    {
      g_autoptr (JdTensor) spatial = jd_transformer_block_forward (&t->blocks[i], hidden,
                                                                   context, error);
      JD_TRY_NULL (spatial != NULL);
      g_autoptr (JdTensor) with_pos = jd_layer_new_tensor (backend, 3, spatial->shape, error);
      JD_TRY_NULL (with_pos != NULL);
      {
        g_autoptr (JdTensor) s4 = jd_tensor_view_as (spatial, 4, (int64_t[]) { b, frames, hw, c });
        g_autoptr (JdTensor) p4 = jd_tensor_view_as (with_pos, 4,
                                                     (int64_t[]) { b, frames, hw, c });
        JD_TRY_NULL (jd_add (backend, s4, frame_emb_view, p4, error));
      }
      g_autoptr (JdTensor) mixed = temporal_block_forward (&t->temporal_blocks[i], with_pos,
                                                           frames, context, error);
      JD_TRY_NULL (mixed != NULL);
      JD_TRY_NULL (jd_alpha_blender_blend_into (&t->time_mixer, backend, spatial, mixed, error));
      g_clear_pointer (&hidden, jd_tensor_free);
      hidden = g_steal_pointer (&mixed);
    }

  g_autoptr (JdTensor) projected = jd_linear_layer_forward (&t->proj_out, hidden, error);
  JD_TRY_NULL (projected != NULL);
  jd_tensor_reshape (projected, 4, (int64_t[]) { bf, h, w, c });
  g_autoptr (JdTensor) out = jd_layer_new_tensor (backend, 4, x->shape, error);
  JD_TRY_NULL (out != NULL);
  JD_TRY_NULL (jd_permute (backend, projected, (const int[]) { 0, 3, 1, 2 }, out, error));
  JD_TRY_NULL (jd_add (backend, out, x, out, error));
  return g_steal_pointer (&out);
}

/* ---- Blocks ------------------------------------------------------------------------------- */

static gboolean
block_init_attentions (Block *block, JdWeights *weights, const char *prefix, int n,
                       int64_t channels, int heads, int64_t context_dim, int tlayers, int groups,
                       GError **error)
{
  block->attentions = g_new0 (TransformerSpatioTemporal, n);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *p = jd_weights_join_printf (prefix, "attentions.%d", i);
      JD_TRY_FALSE (transformer_init (&block->attentions[i], weights, p, channels, heads,
                                      context_dim, tlayers, groups, error));
    }
  return TRUE;
}

static JdTensor *
block_layer_forward (const Block *block, int i, const JdTensor *h, const JdTensor *temb,
                     const JdTensor *context, int frames, GError **error)
{
  g_autoptr (JdTensor) r = jd_spatio_temporal_res_block_forward (&block->resnets[i], h, temb,
                                                                 frames, error);
  JD_TRY_NULL (r != NULL);
  if (block->attentions == NULL)
    return g_steal_pointer (&r);
  return transformer_forward (&block->attentions[i], r, context, frames, error);
}

static gboolean
fail_config (GError **error, const char *path, const char *what)
{
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "The model config's %s %s", path, what);
  return FALSE;
}

static gboolean
read_block_types (JsonObject *config, const char *path, const char *key, const char *cross,
                  const char *plain, int n, gboolean *is_cross, GError **error)
{
  g_auto (GStrv) types = jd_config_string_array (config, path, key, error);
  JD_TRY_FALSE (types != NULL);
  if ((int) g_strv_length (types) != n)
    {
      g_autofree char *what = g_strdup_printf (
        ".%s lists %u block types, but block_out_channels has %d entries", key,
        g_strv_length (types), n);
      return fail_config (error, path, what);
    }
  for (int i = 0; i < n; i++)
    {
      if (strcmp (types[i], cross) == 0)
        is_cross[i] = TRUE;
      else if (strcmp (types[i], plain) == 0)
        is_cross[i] = FALSE;
      else
        {
          g_autofree char *q = jd_safetensors_quote (types[i]);
          g_autofree char *what = g_strdup_printf (".%s[%d] is “%s”; this engine knows %s and %s",
                                                   key, i, q, cross, plain);
          return fail_config (error, path, what);
        }
    }
  return TRUE;
}

JdVideoUNet *
jd_video_unet_new (JdWeights *weights, JsonObject *config, const char *config_path,
                   const char *prefix, GError **error)
{
  g_autoptr (JdVideoUNet) unet = g_new0 (JdVideoUNet, 1);
  unet->backend = jd_weights_get_backend (weights);
  const char *path = config_path;
  int64_t ch[MAX_BLOCKS];
  int n = 0;
  JD_TRY_NULL (jd_config_int_array (config, path, "block_out_channels", 32, 1 << 16, -1,
                                    MAX_BLOCKS, ch,
                                    &n, error));
  /* SVD builds every GroupNorm with 32 groups; "norm_num_groups" is this project's extension
   * for compact models, whose 32-channel levels would otherwise normalise one channel per group
   * and so erase the per-channel offset the timestep embedding adds in each resnet. */
  int64_t groups64 = 32;
  if (jd_config_has (config, "norm_num_groups"))
    JD_TRY_NULL (jd_config_int (config, path, "norm_num_groups", 1, 1 << 12, &groups64, error));
  const int groups = (int) groups64;
  for (int i = 0; i < n; i++)
    if (ch[i] % groups != 0)
      {
        g_autofree char *what = g_strdup_printf (".block_out_channels must be multiples of "
                                                 "norm_num_groups (%d)", groups);
        fail_config (error, path, what);
        return NULL;
      }
  unet->n_blocks = n;
  memcpy (unet->channels, ch, sizeof ch);
  JD_TRY_NULL (jd_config_int (config, path, "in_channels", 1, 1 << 16, &unet->in_channels, error));
  JD_TRY_NULL (jd_config_int (config, path, "out_channels", 1, 1 << 16, &unet->out_channels,
                              error));
  int64_t layers[MAX_BLOCKS], heads[MAX_BLOCKS], context[MAX_BLOCKS], tlayers[MAX_BLOCKS];
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "layers_per_block", n, 1, MAX_LAYERS - 1, -1,
                                         layers, error));
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "num_attention_heads", n, 1, 1 << 12, -1,
                                         heads,
                                         error));
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "cross_attention_dim", n, 1, 1 << 16, -1,
                                         context,
                                         error));
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "transformer_layers_per_block", n, 1,
                                         MAX_LAYERS,
                                         1, tlayers, error));
  for (int i = 1; i < n; i++)
    if (context[i] != context[0])
      {
        fail_config (error, path, ".cross_attention_dim must be the same for every block (one "
                     "context feeds them all)");
        return NULL;
      }
  for (int i = 0; i < n; i++)
    if (ch[i] % heads[i] != 0)
      {
        fail_config (error, path, ".num_attention_heads must divide block_out_channels");
        return NULL;
      }
  unet->context_dim = context[0];
  int64_t proj_dim;
  JD_TRY_NULL (jd_config_int (config, path, "addition_time_embed_dim", 2, 1 << 16,
                              &unet->addition_time_embed_dim, error));
  JD_TRY_NULL (jd_config_int (config, path, "projection_class_embeddings_input_dim", 1, 1 << 20,
                              &proj_dim, error));
  if (proj_dim != 3 * unet->addition_time_embed_dim)
    {
      fail_config (error, path, ".projection_class_embeddings_input_dim must be 3 × "
                   "addition_time_embed_dim (three added time ids)");
      return NULL;
    }
  gboolean down_cross[MAX_BLOCKS], up_cross[MAX_BLOCKS];
  JD_TRY_NULL (read_block_types (config, path, "down_block_types",
                                 "CrossAttnDownBlockSpatioTemporal",
                                 "DownBlockSpatioTemporal", n, down_cross, error));
  JD_TRY_NULL (read_block_types (config, path, "up_block_types", "CrossAttnUpBlockSpatioTemporal",
                                 "UpBlockSpatioTemporal", n, up_cross, error));

  const int64_t temb = 4 * ch[0];
  unet->temb_channels = temb;
  g_autofree char *p_time = jd_weights_join (prefix, "time_embedding");
  g_autofree char *p_add = jd_weights_join (prefix, "add_embedding");
  g_autofree char *p_conv_in = jd_weights_join (prefix, "conv_in");
  g_autofree char *p_norm_out = jd_weights_join (prefix, "conv_norm_out");
  g_autofree char *p_conv_out = jd_weights_join (prefix, "conv_out");
  JD_TRY_NULL (jd_timestep_embedding_init (&unet->time_embedding, weights, p_time, ch[0], temb,
                                           temb,
                                           error));
  JD_TRY_NULL (jd_timestep_embedding_init (&unet->add_embedding, weights, p_add, proj_dim, temb,
                                           temb,
                                           error));
  JD_TRY_NULL (jd_conv2d_layer_init (&unet->conv_in, weights, p_conv_in, unet->in_channels, ch[0],
                                     3, 1,
                                     1, error));

  for (int i = 0; i < n; i++)
    {
      Block *block = &unet->down[i];
      g_autofree char *p = jd_weights_join_printf (prefix, "down_blocks.%d", i);
      const float eps = down_cross[i] ? EPS_CROSS_BLOCK : EPS_PLAIN_BLOCK;
      block->n_layers = (int) layers[i];
      for (int j = 0; j < block->n_layers; j++)
        {
          g_autofree char *pr = jd_weights_join_printf (p, "resnets.%d", j);
          JD_TRY_NULL (jd_spatio_temporal_res_block_init (&block->resnets[j], weights, pr,
                                                          j == 0 ? ch[MAX (i - 1, 0)] : ch[i], ch[i],
                                                          temb, groups, eps, -1, FALSE, error));
        }
      if (down_cross[i])
        JD_TRY_NULL (block_init_attentions (block, weights, p, block->n_layers, ch[i],
                                            (int) heads[i],
                                            context[i], (int) tlayers[i], groups, error));
      block->has_downsample = i < n - 1;
      if (block->has_downsample)
        {
          g_autofree char *pd = jd_weights_join (p, "downsamplers.0");
          JD_TRY_NULL (jd_downsample2d_init (&block->downsample, weights, pd, ch[i], 1, error));
        }
    }

  {
    Block *mid = &unet->mid;
    g_autofree char *p = jd_weights_join (prefix, "mid_block");
    mid->n_layers = 2;
    for (int j = 0; j < 2; j++)
      {
        g_autofree char *pr = jd_weights_join_printf (p, "resnets.%d", j);
        JD_TRY_NULL (jd_spatio_temporal_res_block_init (&mid->resnets[j], weights, pr, ch[n - 1],
                                                        ch[n - 1], temb, groups, EPS_MID_BLOCK, -1,
                                                        FALSE,
                                                        error));
      }
    JD_TRY_NULL (block_init_attentions (mid, weights, p, 1, ch[n - 1], (int) heads[n - 1],
                                        context[n - 1], (int) tlayers[n - 1], groups, error));
  }

  for (int i = 0; i < n; i++)
    {
      Block *block = &unet->up[i];
      const int r = n - 1 - i;                          /* the matching down level */
      const int64_t out_ch = ch[r];
      const int64_t prev_ch = i > 0 ? ch[r + 1] : ch[n - 1];
      const int64_t in_ch = ch[MAX (r - 1, 0)];
      g_autofree char *p = jd_weights_join_printf (prefix, "up_blocks.%d", i);
      block->n_layers = (int) layers[r] + 1;
      for (int j = 0; j < block->n_layers; j++)
        {
          const int64_t skip_ch = j == block->n_layers - 1 ? in_ch : out_ch;
          g_autofree char *pr = jd_weights_join_printf (p, "resnets.%d", j);
          JD_TRY_NULL (jd_spatio_temporal_res_block_init (&block->resnets[j], weights, pr,
                                                          (j == 0 ? prev_ch : out_ch) + skip_ch, out_ch,
                                                          temb, groups, EPS_UP_BLOCK, -1, FALSE,
                                                          error));
        }
      if (up_cross[i])
        JD_TRY_NULL (block_init_attentions (block, weights, p, block->n_layers, out_ch,
                                            (int) heads[r],
                                            context[r], (int) tlayers[r], groups, error));
      block->has_upsample = i < n - 1;
      if (block->has_upsample)
        {
          g_autofree char *pu = jd_weights_join (p, "upsamplers.0");
          JD_TRY_NULL (jd_upsample2d_init (&block->upsample, weights, pu, out_ch, error));
        }
    }
  JD_TRY_NULL (jd_group_norm_layer_init (&unet->conv_norm_out, weights, p_norm_out, ch[0], groups,
                                         EPS_NORM_OUT, error));
  JD_TRY_NULL (jd_conv2d_layer_init (&unet->conv_out, weights, p_conv_out, ch[0],
                                     unet->out_channels, 3,
                                     1, 1, error));

  unet->stage_names = jd_unet_stage_names_new (n);
  return g_steal_pointer (&unet);
}

int64_t jd_video_unet_get_in_channels (JdVideoUNet *unet) { return unet->in_channels; }
int64_t jd_video_unet_get_out_channels (JdVideoUNet *unet) { return unet->out_channels; }
int64_t jd_video_unet_get_temb_channels (JdVideoUNet *unet) { return unet->temb_channels; }
int64_t jd_video_unet_get_context_dim (JdVideoUNet *unet) { return unet->context_dim; }

guint
jd_video_unet_get_n_stages (JdVideoUNet *unet)
{
  return (guint) unet->n_blocks + 2;
}

const char *
jd_video_unet_get_stage_name (JdVideoUNet *unet, guint stage)
{
  g_return_val_if_fail (stage < jd_video_unet_get_n_stages (unet), NULL);
  return unet->stage_names[stage];
}

int
jd_video_unet_find_stage (JdVideoUNet *unet, const char *name)
{
  return jd_unet_stage_find (unet->stage_names, name);
}

int64_t
jd_video_unet_get_stage_channels (JdVideoUNet *unet, guint stage)
{
  return jd_unet_stage_channels (unet->channels, unet->n_blocks, stage);
}

JdTensor *
jd_video_unet_embed (JdVideoUNet *unet, const JdTensor *timestep,
                     const JdTensor *added_time_ids, int frames, GError **error)
{
  JdBackend *backend = unet->backend;
  const int64_t b = added_time_ids->shape[0];
  if (added_time_ids->ndim != 2 || added_time_ids->shape[1] != 3 || timestep->ndim != 1
      || (timestep->shape[0] != 1 && timestep->shape[0] != b) || frames <= 0)
    {
      g_autofree char *ts = jd_tensor_shape_string (timestep);
      g_autofree char *as = jd_tensor_shape_string (added_time_ids);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "video UNet: the timestep %s must be (1) or (B) and the added time ids %s "
                   "(B, 3), with at least one frame (got %d)", ts, as, frames);
      return NULL;
    }
  g_autoptr (JdTensor) t_features = jd_sinusoids (backend, timestep, (int) unet->channels[0],
                                                  error);
  JD_TRY_NULL (t_features != NULL);
  g_autoptr (JdTensor) t_emb = jd_timestep_embedding_forward (&unet->time_embedding, t_features,
                                                              error);
  JD_TRY_NULL (t_emb != NULL);
  g_autoptr (JdTensor) ids = jd_tensor_view_as (added_time_ids, 1, (int64_t[]) { 3 * b });
  g_autoptr (JdTensor) id_features = jd_sinusoids (backend, ids,
                                                   (int) unet->addition_time_embed_dim, error);
  JD_TRY_NULL (id_features != NULL);
  jd_tensor_reshape (id_features, 2, (int64_t[]) { b, 3 * unet->addition_time_embed_dim });
  g_autoptr (JdTensor) emb = jd_timestep_embedding_forward (&unet->add_embedding, id_features,
                                                            error);
  JD_TRY_NULL (emb != NULL);
  JD_TRY_NULL (jd_add (backend, emb, t_emb, emb, error));
  /* One row per frame, frames of a sample consecutive. */
  g_autoptr (JdTensor) per_frame = jd_layer_new_tensor (
    backend, 3, (int64_t[]) { b, frames, unet->temb_channels }, error);
  JD_TRY_NULL (per_frame != NULL);
  g_autoptr (JdTensor) emb3 = jd_tensor_view_as (emb, 3, (int64_t[]) { b, 1, unet->temb_channels });
  JD_TRY_NULL (jd_broadcast (backend, emb3, per_frame, error));
  jd_tensor_reshape (per_frame, 2, (int64_t[]) { b * frames, unet->temb_channels });
  return g_steal_pointer (&per_frame);
}

static gboolean
check_frames (const JdTensor *h, int frames, GError **error)
{
  if (h->ndim == 4 && frames > 0 && h->shape[0] % frames == 0)
    return TRUE;
  g_autofree char *hs = jd_tensor_shape_string (h);
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
               "video UNet: the input %s is not a frame batch (B·F, C, H, W) of %d frames", hs,
               frames);
  return FALSE;
}

JdTensor *
jd_video_unet_run_stage (JdVideoUNet *unet, guint stage, const JdTensor *h, GPtrArray *skips,
                         const JdTensor *temb, const JdTensor *context, int frames,
                         GError **error)
{
  if (stage >= jd_video_unet_get_n_stages (unet))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "video UNet: there is no encoder stage %u (it has %u)", stage,
                   jd_video_unet_get_n_stages (unet));
      return NULL;
    }
  JD_TRY_NULL (check_frames (h, frames, error));
  if (stage == 0)
    {
      g_autoptr (JdTensor) out = jd_conv2d_layer_forward (&unet->conv_in, h, error);
      JD_TRY_NULL (out != NULL);
      JD_TRY_NULL (jd_unet_skips_push_copy (skips, out, error));
      return g_steal_pointer (&out);
    }
  if (stage == (guint) unet->n_blocks + 1)
    {
      const Block *mid = &unet->mid;
      g_autoptr (JdTensor) r0 = jd_spatio_temporal_res_block_forward (&mid->resnets[0], h, temb,
                                                                      frames, error);
      JD_TRY_NULL (r0 != NULL);
      g_autoptr (JdTensor) a = transformer_forward (&mid->attentions[0], r0, context, frames,
                                                    error);
      JD_TRY_NULL (a != NULL);
      return jd_spatio_temporal_res_block_forward (&mid->resnets[1], a, temb, frames, error);
    }
  const Block *block = &unet->down[stage - 1];
  g_autoptr (JdTensor) x = NULL;
  const JdTensor *current = h;
  for (int j = 0; j < block->n_layers; j++)
    {
      JdTensor *next = block_layer_forward (block, j, current, temb, context, frames, error);
      JD_TRY_NULL (next != NULL);
      g_clear_pointer (&x, jd_tensor_free);
      x = next;
      current = x;
      JD_TRY_NULL (jd_unet_skips_push_copy (skips, x, error));
    }
  if (block->has_downsample)
    {
      g_autoptr (JdTensor) down = jd_downsample2d_forward (&block->downsample, x, error);
      JD_TRY_NULL (down != NULL);
      JD_TRY_NULL (jd_unet_skips_push_copy (skips, down, error));
      return g_steal_pointer (&down);
    }
  return g_steal_pointer (&x);
}

JdTensor *
jd_video_unet_decode (JdVideoUNet *unet, const JdTensor *h, GPtrArray *skips,
                      const JdTensor *temb, const JdTensor *context, int frames, GError **error)
{
  JdBackend *backend = unet->backend;
  JD_TRY_NULL (check_frames (h, frames, error));
  g_autoptr (JdTensor) x = NULL;
  const JdTensor *current = h;
  for (int i = 0; i < unet->n_blocks; i++)
    {
      const Block *block = &unet->up[i];
      for (int j = 0; j < block->n_layers; j++)
        {
          g_autoptr (JdTensor) skip = jd_unet_skips_pop (skips, error);
          JD_TRY_NULL (skip != NULL);
          if (skip->ndim != 4 || skip->shape[0] != current->shape[0]
              || skip->shape[2] != current->shape[2] || skip->shape[3] != current->shape[3])
            {
              g_autofree char *cs = jd_tensor_shape_string (current);
              g_autofree char *ss = jd_tensor_shape_string (skip);
              g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                           "video UNet up block %d: the skip %s does not fit the input %s", i,
                           ss, cs);
              return NULL;
            }
          g_autoptr (JdTensor) cat = jd_layer_new_tensor (
            backend, 4, (int64_t[]) { current->shape[0], current->shape[1] + skip->shape[1],
                                      current->shape[2], current->shape[3] }, error);
          JD_TRY_NULL (cat != NULL);
          JD_TRY_NULL (jd_concat (backend, 2, (const JdTensor *[]) { current, skip }, 1, cat,
                                  error));
          JdTensor *next = block_layer_forward (block, j, cat, temb, context, frames, error);
          JD_TRY_NULL (next != NULL);
          g_clear_pointer (&x, jd_tensor_free);
          x = next;
          current = x;
        }
      if (block->has_upsample)
        {
          /* To the next skip's size; the same as ×2 whenever the sizes are even. */
          int64_t oh = 0, ow = 0;
          if (skips->len > 0)
            {
              const JdTensor *next_skip = g_ptr_array_index (skips, skips->len - 1);
              oh = next_skip->shape[2];
              ow = next_skip->shape[3];
            }
          JdTensor *up = jd_upsample2d_forward (&block->upsample, x, oh, ow, error);
          JD_TRY_NULL (up != NULL);
          g_clear_pointer (&x, jd_tensor_free);
          x = up;
          current = x;
        }
    }
  g_autoptr (JdTensor) normed = jd_group_norm_layer_forward (&unet->conv_norm_out, current,
                                                             JD_UNARY_SILU, error);
  JD_TRY_NULL (normed != NULL);
  return jd_conv2d_layer_forward (&unet->conv_out, normed, error);
}

JdTensor *
jd_video_unet_forward (JdVideoUNet *unet, const JdTensor *sample, const JdTensor *timestep,
                       const JdTensor *context, const JdTensor *added_time_ids, GError **error)
{
  if (sample->ndim != 5 || sample->shape[2] != unet->in_channels || context->ndim != 3
      || context->shape[0] != sample->shape[0] || context->shape[2] != unet->context_dim
      || added_time_ids->ndim != 2 || added_time_ids->shape[0] != sample->shape[0])
    {
      g_autofree char *ss = jd_tensor_shape_string (sample);
      g_autofree char *cs = jd_tensor_shape_string (context);
      g_autofree char *as = jd_tensor_shape_string (added_time_ids);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "video UNet: sample %s must be (B, F, %" G_GINT64_FORMAT ", H, W), context %s "
                   "(B, L, %" G_GINT64_FORMAT ") and added time ids %s (B, 3)", ss,
                   unet->in_channels, cs, unet->context_dim, as);
      return NULL;
    }
  const int64_t b = sample->shape[0];
  const int frames = (int) sample->shape[1];
  g_autoptr (JdTensor) temb = jd_video_unet_embed (unet, timestep, added_time_ids, frames,
                                                   error);
  JD_TRY_NULL (temb != NULL);
  g_autoptr (JdTensor) h = jd_tensor_view_as (
    sample, 4, (int64_t[]) { b * frames, sample->shape[2], sample->shape[3], sample->shape[4] });
  g_autoptr (GPtrArray) skips = jd_unet_skips_new ();
  for (guint s = 0; s < jd_video_unet_get_n_stages (unet); s++)
    {
      JdTensor *next = jd_video_unet_run_stage (unet, s, h, skips, temb, context, frames, error);
      JD_TRY_NULL (next != NULL);
      jd_tensor_free (h);
      h = next;
    }
  g_autoptr (JdTensor) out = jd_video_unet_decode (unet, h, skips, temb, context, frames, error);
  JD_TRY_NULL (out != NULL);
  jd_tensor_reshape (out, 5, (int64_t[]) { b, frames, out->shape[1], out->shape[2],
                                           out->shape[3] });
  return g_steal_pointer (&out);
}
