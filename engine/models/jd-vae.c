/* jd-vae.c — the video and audio VAEs on jd-layers. */
#include "jd-vae.h"

#include "jd-config-read.h"
#include "jd-error.h"

#define SPATIAL_EPS  1e-6f
#define TEMPORAL_EPS 1e-5f
/* SVD's temporal decoder fixes its GroupNorms at 32 groups whatever norm_num_groups says. */
#define TEMPORAL_DECODER_GROUPS 32
#define MAX_LAYERS 8

/* The mid-block attention: GroupNorm, one head over all channels, biased projections, the
 * input added back. */
typedef struct {
  JdGroupNormLayer group_norm;
  JdAttentionLayer attention;
} MidAttention;

typedef struct {
  JdResnetBlock2D resnets[MAX_LAYERS];
  JdSpatioTemporalResBlock st_resnets[MAX_LAYERS];
  int             n_resnets;
  JdDownsample2D  down;
  JdUpsample2D    up;
  gboolean        has_resample;
} Block;

struct _JdVae {
  JdVaeKind     kind;
  JdVaeConfig   config;
  JdBackend    *backend;
  /* encoder */
  JdConv2dLayer enc_conv_in, enc_conv_out, quant_conv;
  Block         enc_blocks[JD_VAE_MAX_BLOCKS];
  JdResnetBlock2D enc_mid[2];
  MidAttention  enc_mid_attention;
  JdGroupNormLayer enc_norm_out;
  /* decoder */
  JdConv2dLayer post_quant_conv, dec_conv_in, dec_conv_out;
  JdResnetBlock2D dec_mid[2];                     /* audio */
  JdSpatioTemporalResBlock dec_st_mid[MAX_LAYERS]; /* video */
  int           n_dec_mid;
  gboolean      dec_mid_has_attention;
  MidAttention  dec_mid_attention;
  Block         dec_blocks[JD_VAE_MAX_BLOCKS];
  JdGroupNormLayer dec_norm_out;
  const JdTensor *time_conv_out_weight, *time_conv_out_bias;
};

gboolean
jd_vae_config_read (JsonObject *object, const char *path, JdVaeConfig *config, GError **error)
{
  int64_t v, blocks[JD_VAE_MAX_BLOCKS];
  int n;
  *config = (JdVaeConfig) { 0 };
  JD_TRY_FALSE (jd_config_int (object, path, "in_channels", 1, 4096, &v, error));
  config->in_channels = (int) v;
  JD_TRY_FALSE (jd_config_int (object, path, "out_channels", 1, 4096, &v, error));
  config->out_channels = (int) v;
  JD_TRY_FALSE (jd_config_int_array (object, path, "block_out_channels", 1, 1 << 16, -1,
                                     JD_VAE_MAX_BLOCKS, blocks, &n, error));
  config->n_blocks = n;
  for (int i = 0; i < n; i++)
    config->block_out_channels[i] = (int) blocks[i];
  JD_TRY_FALSE (jd_config_int (object, path, "layers_per_block", 1, MAX_LAYERS - 1, &v, error));
  config->layers_per_block = (int) v;
  JD_TRY_FALSE (jd_config_int (object, path, "latent_channels", 1, 4096, &v, error));
  config->latent_channels = (int) v;
  config->norm_num_groups = 32;
  if (jd_config_has (object, "norm_num_groups"))
    {
      JD_TRY_FALSE (jd_config_int (object, path, "norm_num_groups", 1, 1 << 16, &v, error));
      config->norm_num_groups = (int) v;
    }
  config->decoder_norm_num_groups = TEMPORAL_DECODER_GROUPS;
  if (jd_config_has (object, "decoder_norm_num_groups"))
    {
      JD_TRY_FALSE (jd_config_int (object, path, "decoder_norm_num_groups", 1, 1 << 16, &v,
                                   error));
      config->decoder_norm_num_groups = (int) v;
    }
  JD_TRY_FALSE (jd_config_double (object, path, "scaling_factor", &config->scaling_factor, error));
  if (!(config->scaling_factor > 0.0))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "The model config's %s.scaling_factor must be positive, not %g", path,
                   config->scaling_factor);
      return FALSE;
    }
  return TRUE;
}

static gboolean
mid_attention_init (MidAttention *attn, JdWeights *weights, const char *prefix, int64_t ch,
                    int groups, GError **error)
{
  g_autofree char *norm = jd_weights_join (prefix, "group_norm");
  return jd_group_norm_layer_init (&attn->group_norm, weights, norm, ch, groups, SPATIAL_EPS,
                                   error)
         && jd_attention_layer_init (&attn->attention, weights, prefix, ch, 1, ch, 0, TRUE,
                                     error);
}

static JdTensor *
mid_attention_forward (const MidAttention *attn, JdBackend *backend, const JdTensor *x,
                       GError **error)
{
  const int64_t n = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
  static const int to_channels_last[4] = { 0, 2, 3, 1 };
  static const int to_channels_first[4] = { 0, 3, 1, 2 };
  g_autoptr (JdTensor) normed = jd_group_norm_layer_forward (&attn->group_norm, x,
                                                             JD_UNARY_IDENTITY, error);
  JD_TRY_NULL (normed != NULL);
  g_autoptr (JdTensor) tokens = jd_layer_new_tensor (backend, 4, (int64_t[]) { n, h, w, c },
                                                     error);
  JD_TRY_NULL (tokens != NULL);
  JD_TRY_NULL (jd_permute (backend, normed, to_channels_last, tokens, error));
  jd_tensor_reshape (tokens, 3, (int64_t[]) { n, h * w, c });
  g_autoptr (JdTensor) attended = jd_attention_layer_forward (&attn->attention, tokens, NULL,
                                                              error);
  JD_TRY_NULL (attended != NULL);
  jd_tensor_reshape (attended, 4, (int64_t[]) { n, h, w, c });
  g_autoptr (JdTensor) out = jd_layer_new_tensor (backend, 4, x->shape, error);
  JD_TRY_NULL (out != NULL);
  JD_TRY_NULL (jd_permute (backend, attended, to_channels_first, out, error));
  JD_TRY_NULL (jd_add (backend, out, x, out, error));
  return g_steal_pointer (&out);
}

static char *
name (const char *prefix, const char *format, ...) G_GNUC_PRINTF (2, 3);

static char *
name (const char *prefix, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *suffix = g_strdup_vprintf (format, args);
  va_end (args);
  return jd_weights_join (prefix, suffix);
}

static gboolean
encoder_init (JdVae *self, JdWeights *weights, const char *prefix, GError **error)
{
  const JdVaeConfig *c = &self->config;
  const int groups = c->norm_num_groups;
  const int *ch = c->block_out_channels;
  g_autofree char *conv_in = name (prefix, "encoder.conv_in");
  JD_TRY_FALSE (jd_conv2d_layer_init (&self->enc_conv_in, weights, conv_in, c->in_channels, ch[0],
                                      3,
                                      1, 1, error));
  for (int i = 0; i < c->n_blocks; i++)
    {
      Block *block = &self->enc_blocks[i];
      block->n_resnets = c->layers_per_block;
      for (int l = 0; l < block->n_resnets; l++)
        {
          g_autofree char *p = name (prefix, "encoder.down_blocks.%d.resnets.%d", i, l);
          int64_t in = l == 0 ? ch[i > 0 ? i - 1 : 0] : ch[i];
          JD_TRY_FALSE (jd_resnet_block2d_init (&block->resnets[l], weights, p, in, ch[i], 0,
                                                groups,
                                                SPATIAL_EPS, error));
        }
      block->has_resample = i < c->n_blocks - 1;
      if (block->has_resample)
        {
          g_autofree char *p = name (prefix, "encoder.down_blocks.%d.downsamplers.0", i);
          JD_TRY_FALSE (jd_downsample2d_init (&block->down, weights, p, ch[i], 0, error));
        }
    }
  const int64_t top = ch[c->n_blocks - 1];
  for (int r = 0; r < 2; r++)
    {
      g_autofree char *p = name (prefix, "encoder.mid_block.resnets.%d", r);
      JD_TRY_FALSE (jd_resnet_block2d_init (&self->enc_mid[r], weights, p, top, top, 0, groups,
                                            SPATIAL_EPS, error));
    }
  g_autofree char *attn = name (prefix, "encoder.mid_block.attentions.0");
  g_autofree char *norm = name (prefix, "encoder.conv_norm_out");
  g_autofree char *conv_out = name (prefix, "encoder.conv_out");
  g_autofree char *quant = name (prefix, "quant_conv");
  return mid_attention_init (&self->enc_mid_attention, weights, attn, top, groups, error)
         && jd_group_norm_layer_init (&self->enc_norm_out, weights, norm, top, groups,
                                      SPATIAL_EPS, error)
         && jd_conv2d_layer_init (&self->enc_conv_out, weights, conv_out, top,
                                  2 * c->latent_channels, 3, 1, 1, error)
         && jd_conv2d_layer_init (&self->quant_conv, weights, quant, 2 * c->latent_channels,
                                  2 * c->latent_channels, 1, 1, 0, error);
}

static gboolean
decoder_init (JdVae *self, JdWeights *weights, const char *prefix, GError **error)
{
  const JdVaeConfig *c = &self->config;
  const gboolean video = self->kind == JD_VAE_VIDEO;
  const int groups = video ? c->decoder_norm_num_groups : c->norm_num_groups;
  int rch[JD_VAE_MAX_BLOCKS];
  for (int i = 0; i < c->n_blocks; i++)
    rch[i] = c->block_out_channels[c->n_blocks - 1 - i];
  if (!video)
    {
      g_autofree char *p = name (prefix, "post_quant_conv");
      JD_TRY_FALSE (jd_conv2d_layer_init (&self->post_quant_conv, weights, p, c->latent_channels,
                                          c->latent_channels, 1, 1, 0, error));
    }
  g_autofree char *conv_in = name (prefix, "decoder.conv_in");
  JD_TRY_FALSE (jd_conv2d_layer_init (&self->dec_conv_in, weights, conv_in, c->latent_channels,
                                      rch[0], 3, 1, 1, error));

  /* Mid block: audio (resnet, attention, resnet); video resnets[0], then (attention,
   * resnets[i]) pairs — with one layer per block its attention exists but never runs. */
  self->n_dec_mid = video ? c->layers_per_block : 2;
  self->dec_mid_has_attention = self->n_dec_mid > 1;
  for (int r = 0; r < self->n_dec_mid; r++)
    {
      g_autofree char *p = name (prefix, "decoder.mid_block.resnets.%d", r);
      if (video)
        JD_TRY_FALSE (jd_spatio_temporal_res_block_init (&self->dec_st_mid[r], weights, p, rch[0],
                                                         rch[0], 0, groups, SPATIAL_EPS,
                                                         TEMPORAL_EPS, TRUE, error));
      else
        JD_TRY_FALSE (jd_resnet_block2d_init (&self->dec_mid[r], weights, p, rch[0], rch[0], 0,
                                              groups, SPATIAL_EPS, error));
    }
  if (self->dec_mid_has_attention)
    {
      g_autofree char *p = name (prefix, "decoder.mid_block.attentions.0");
      JD_TRY_FALSE (mid_attention_init (&self->dec_mid_attention, weights, p, rch[0], groups,
                                        error));
    }

  for (int i = 0; i < c->n_blocks; i++)
    {
      Block *block = &self->dec_blocks[i];
      block->n_resnets = c->layers_per_block + 1;
      for (int l = 0; l < block->n_resnets; l++)
        {
          g_autofree char *p = name (prefix, "decoder.up_blocks.%d.resnets.%d", i, l);
          int64_t in = l == 0 ? rch[i > 0 ? i - 1 : 0] : rch[i];
          if (video)
            JD_TRY_FALSE (jd_spatio_temporal_res_block_init (&block->st_resnets[l], weights, p, in,
                                                             rch[i], 0, groups, SPATIAL_EPS,
                                                             TEMPORAL_EPS, TRUE, error));
          else
            JD_TRY_FALSE (jd_resnet_block2d_init (&block->resnets[l], weights, p, in, rch[i], 0,
                                                  groups, SPATIAL_EPS, error));
        }
      block->has_resample = i < c->n_blocks - 1;
      if (block->has_resample)
        {
          g_autofree char *p = name (prefix, "decoder.up_blocks.%d.upsamplers.0", i);
          JD_TRY_FALSE (jd_upsample2d_init (&block->up, weights, p, rch[i], error));
        }
    }
  const int64_t last = rch[c->n_blocks - 1];
  g_autofree char *norm = name (prefix, "decoder.conv_norm_out");
  g_autofree char *conv_out = name (prefix, "decoder.conv_out");
  JD_TRY_FALSE (jd_group_norm_layer_init (&self->dec_norm_out, weights, norm, last, groups,
                                          SPATIAL_EPS, error));
  JD_TRY_FALSE (jd_conv2d_layer_init (&self->dec_conv_out, weights, conv_out, last, c->out_channels,
                                      3, 1, 1, error));
  if (video)
    {
      g_autofree char *p = name (prefix, "decoder.time_conv_out");
      const int64_t oc = c->out_channels;
      self->time_conv_out_weight = jd_weights_get_in (weights, p, "weight", 5,
                                                      (int64_t[]) { oc, oc, 3, 1, 1 }, error);
      JD_TRY_FALSE (self->time_conv_out_weight != NULL);
      self->time_conv_out_bias = jd_weights_get_in (weights, p, "bias", 1, &oc, error);
      JD_TRY_FALSE (self->time_conv_out_bias != NULL);
    }
  return TRUE;
}

JdVae *
jd_vae_new (JdWeights *weights, JdVaeKind kind, const JdVaeConfig *config, const char *prefix,
            GError **error)
{
  g_autoptr (JdVae) self = g_new0 (JdVae, 1);
  self->kind = kind;
  self->config = *config;
  self->backend = jd_weights_get_backend (weights);
  JD_TRY_NULL (encoder_init (self, weights, prefix, error));
  JD_TRY_NULL (decoder_init (self, weights, prefix, error));
  return g_steal_pointer (&self);
}

void
jd_vae_free (JdVae *self)
{
  /* Layers borrow their weights from the store; nothing else is owned. */
  g_free (self);
}

const JdVaeConfig *
jd_vae_get_config (JdVae *self)
{
  return &self->config;
}

int
jd_vae_factor (JdVae *self)
{
  return 1 << (self->config.n_blocks - 1);
}

/* Replaces *h by f(*h); on failure *h is kept for the caller's cleanup. */
#define STEP(h, call)                            \
  G_STMT_START {                                 \
    JdTensor *_next = (call);                    \
    JD_TRY_NULL (_next != NULL);                         \
    jd_tensor_free (h);                          \
    (h) = _next;                                 \
  } G_STMT_END

static gboolean
check_input (const char *what, const JdTensor *x, int channels, GError **error)
{
  if (x->ndim == 4 && x->shape[1] == channels && x->dtype == JD_DTYPE_F32)
    return TRUE;
  g_autofree char *have = jd_tensor_shape_string (x);
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
               "%s: the input must be F32 (N, %d, H, W), not %s", what, channels, have);
  return FALSE;
}

JdTensor *
jd_vae_encode (JdVae *self, const JdTensor *x, GError **error)
{
  const JdVaeConfig *c = &self->config;
  JD_TRY_NULL (check_input ("VAE encode", x, c->in_channels, error));
  g_autoptr (JdTensor) h = jd_conv2d_layer_forward (&self->enc_conv_in, x, error);
  JD_TRY_NULL (h != NULL);
  for (int i = 0; i < c->n_blocks; i++)
    {
      const Block *block = &self->enc_blocks[i];
      for (int l = 0; l < block->n_resnets; l++)
        STEP (h, jd_resnet_block2d_forward (&block->resnets[l], h, NULL, error));
      if (block->has_resample)
        STEP (h, jd_downsample2d_forward (&block->down, h, error));
    }
  STEP (h, jd_resnet_block2d_forward (&self->enc_mid[0], h, NULL, error));
  STEP (h, mid_attention_forward (&self->enc_mid_attention, self->backend, h, error));
  STEP (h, jd_resnet_block2d_forward (&self->enc_mid[1], h, NULL, error));
  STEP (h, jd_group_norm_layer_forward (&self->enc_norm_out, h, JD_UNARY_SILU, error));
  STEP (h, jd_conv2d_layer_forward (&self->enc_conv_out, h, error));
  STEP (h, jd_conv2d_layer_forward (&self->quant_conv, h, error));
  /* The moments are (mean, log-variance) along channels; the mean is the first half. */
  const int64_t shape[4] = { h->shape[0], c->latent_channels, h->shape[2], h->shape[3] };
  g_autoptr (JdTensor) mean = jd_layer_new_tensor (self->backend, 4, shape, error);
  JD_TRY_NULL (mean != NULL);
  JD_TRY_NULL (jd_slice (self->backend, h, 1, 0, mean, error));
  return g_steal_pointer (&mean);
}

static JdTensor *
time_conv_out (JdVae *self, const JdTensor *x, int frames, GError **error)
{
  const int64_t b = x->shape[0] / frames, c = x->shape[1], hh = x->shape[2], ww = x->shape[3];
  static const int swap_frames_channels[5] = { 0, 2, 1, 3, 4 };
  g_autoptr (JdTensor) view = jd_tensor_view_as (x, 5, (int64_t[]) { b, frames, c, hh, ww });
  g_autoptr (JdTensor) channels_first = jd_layer_new_tensor (
    self->backend, 5, (int64_t[]) { b, c, frames, hh, ww }, error);
  JD_TRY_NULL (channels_first != NULL);
  JD_TRY_NULL (jd_permute (self->backend, view, swap_frames_channels, channels_first, error));
  g_autoptr (JdTensor) mixed = jd_layer_new_tensor (self->backend, 5, channels_first->shape,
                                                    error);
  JD_TRY_NULL (mixed != NULL);
  JD_TRY_NULL (jd_conv_temporal (self->backend, channels_first, self->time_conv_out_weight,
                                 self->time_conv_out_bias, mixed, error));
  g_autoptr (JdTensor) out = jd_layer_new_tensor (self->backend, 5, view->shape, error);
  JD_TRY_NULL (out != NULL);
  JD_TRY_NULL (jd_permute (self->backend, mixed, swap_frames_channels, out, error));
  jd_tensor_reshape (out, 4, x->shape);
  return g_steal_pointer (&out);
}

JdTensor *
jd_vae_decode (JdVae *self, const JdTensor *z, int frames, GError **error)
{
  const JdVaeConfig *c = &self->config;
  const gboolean video = self->kind == JD_VAE_VIDEO;
  JD_TRY_NULL (check_input ("VAE decode", z, c->latent_channels, error));
  if (video && (frames < 1 || z->shape[0] % frames != 0))
    {
      g_autofree char *have = jd_tensor_shape_string (z);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "video VAE decode: latents %s are not whole samples of %d frames (the "
                   "decoder needs all frames of a sample at once)", have, frames);
      return NULL;
    }
  g_autoptr (JdTensor) h = NULL;
  if (video)
    h = jd_conv2d_layer_forward (&self->dec_conv_in, z, error);
  else
    {
      g_autoptr (JdTensor) q = jd_conv2d_layer_forward (&self->post_quant_conv, z, error);
      JD_TRY_NULL (q != NULL);
      h = jd_conv2d_layer_forward (&self->dec_conv_in, q, error);
    }
  JD_TRY_NULL (h != NULL);

  if (video)
    {
      STEP (h, jd_spatio_temporal_res_block_forward (&self->dec_st_mid[0], h, NULL, frames,
                                                     error));
      if (self->dec_mid_has_attention)
        {
          STEP (h, mid_attention_forward (&self->dec_mid_attention, self->backend, h, error));
          STEP (h, jd_spatio_temporal_res_block_forward (&self->dec_st_mid[1], h, NULL, frames,
                                                         error));
        }
    }
  else
    {
      STEP (h, jd_resnet_block2d_forward (&self->dec_mid[0], h, NULL, error));
      STEP (h, mid_attention_forward (&self->dec_mid_attention, self->backend, h, error));
      STEP (h, jd_resnet_block2d_forward (&self->dec_mid[1], h, NULL, error));
    }

  for (int i = 0; i < c->n_blocks; i++)
    {
      const Block *block = &self->dec_blocks[i];
      for (int l = 0; l < block->n_resnets; l++)
        {
          if (video)
            STEP (h, jd_spatio_temporal_res_block_forward (&block->st_resnets[l], h, NULL,
                                                           frames, error));
          else
            STEP (h, jd_resnet_block2d_forward (&block->resnets[l], h, NULL, error));
        }
      if (block->has_resample)
        STEP (h, jd_upsample2d_forward (&block->up, h, 0, 0, error));
    }
  STEP (h, jd_group_norm_layer_forward (&self->dec_norm_out, h, JD_UNARY_SILU, error));
  STEP (h, jd_conv2d_layer_forward (&self->dec_conv_out, h, error));
  if (video)
    STEP (h, time_conv_out (self, h, frames, error));
  return g_steal_pointer (&h);
}
