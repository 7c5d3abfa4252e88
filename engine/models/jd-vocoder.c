/* jd-vocoder.c — HiFi-GAN on the engine's ops. */
#include "jd-vocoder.h"

#include "jd-config-read.h"
#include "jd-error.h"
#include "jd-layers.h"
#include "jd-ops.h"
#include "jd-weight-norm.h"

/* Borrowed from the weight store. */
typedef struct {
  const JdTensor *weight;
  const JdTensor *bias;
} Conv;

struct _JdVocoder {
  JdBackend       *backend;
  JdVocoderConfig  config;
  Conv             conv_pre;
  Conv             conv_post;
  Conv             upsampler[JD_VOCODER_MAX_STAGES];
  /* resblocks[i * n_kernels + j].convs{1,2}[d] */
  Conv            *convs1;
  Conv            *convs2;
};

#define MAX_CHANNELS (1 << 16)

gboolean
jd_vocoder_config_read (JsonObject      *object,
                        const char      *path,
                        JdVocoderConfig *config,
                        GError         **error)
{
  int64_t v, rates[JD_VOCODER_MAX_STAGES], kernels[JD_VOCODER_MAX_STAGES];
  int64_t rb[JD_VOCODER_MAX_KERNELS];
  int n_rates, n_kernels, n_rb;
  *config = (JdVocoderConfig) { 0 };

  if (!jd_config_int (object, path, "model_in_dim", 1, MAX_CHANNELS, &v, error))
    return FALSE;
  config->model_in_dim = (int) v;
  if (!jd_config_int (object, path, "sampling_rate", 1, 1000000, &v, error))
    return FALSE;
  config->sampling_rate = (int) v;
  if (!jd_config_int (object, path, "upsample_initial_channel", 1, MAX_CHANNELS, &v, error))
    return FALSE;
  config->upsample_initial_channel = (int) v;
  if (!jd_config_int_array (object, path, "upsample_rates", 1, 64, -1, JD_VOCODER_MAX_STAGES,
                            rates, &n_rates, error)
      || !jd_config_int_array (object, path, "upsample_kernel_sizes", 1, 256, n_rates, 0,
                               kernels, &n_kernels, error)
      || !jd_config_int_array (object, path, "resblock_kernel_sizes", 1, 255, -1,
                               JD_VOCODER_MAX_KERNELS, rb, &n_rb, error))
    return FALSE;
  config->n_stages = n_rates;
  for (int i = 0; i < n_rates; i++)
    {
      config->upsample_rates[i] = (int) rates[i];
      config->upsample_kernel_sizes[i] = (int) kernels[i];
      if (kernels[i] < rates[i])
        {
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "The model config's %s.upsample_kernel_sizes[%d] (%d) is smaller than its "
                       "upsample rate (%d)", path, i, (int) kernels[i], (int) rates[i]);
          return FALSE;
        }
    }
  if (config->upsample_initial_channel >> n_rates < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "The model config's %s.upsample_initial_channel (%d) cannot be halved %d times",
                   path, config->upsample_initial_channel, n_rates);
      return FALSE;
    }
  config->n_kernels = n_rb;
  for (int j = 0; j < n_rb; j++)
    {
      config->resblock_kernel_sizes[j] = (int) rb[j];
      if (rb[j] % 2 == 0)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "The model config's %s.resblock_kernel_sizes[%d] (%d) must be odd",
                       path, j, (int) rb[j]);
          return FALSE;
        }
    }

  /* A list of lists: read each inner list under a name that makes its messages read
   * "vocoder.resblock_dilation_sizes[1] must …". */
  JsonNode *node = json_object_get_member (object, "resblock_dilation_sizes");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (json_node_get_array (node)) != (guint) n_rb)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "The model config's %s.resblock_dilation_sizes must be a list of %d lists of "
                   "integers, one per resblock kernel size", path, n_rb);
      return FALSE;
    }
  JsonArray *outer = json_node_get_array (node);
  for (int j = 0; j < n_rb; j++)
    {
      g_autoptr (JsonObject) wrap = json_object_new ();
      g_autofree char *key = g_strdup_printf ("resblock_dilation_sizes[%d]", j);
      json_object_set_member (wrap, key, json_node_copy (json_array_get_element (outer, j)));
      int64_t dil[JD_VOCODER_MAX_KERNELS];
      int n_dil;
      if (!jd_config_int_array (wrap, path, key, 1, 64, -1, JD_VOCODER_MAX_KERNELS, dil, &n_dil,
                                error))
        return FALSE;
      config->n_dilations[j] = n_dil;
      for (int d = 0; d < n_dil; d++)
        config->resblock_dilations[j][d] = (int) dil[d];
    }

  double slope = 0.1;
  if (jd_config_has (object, "leaky_relu_slope")
      && !jd_config_double (object, path, "leaky_relu_slope", &slope, error))
    return FALSE;
  config->leaky_relu_slope = (float) slope;
  gboolean normalize = FALSE;
  if (jd_config_has (object, "normalize_before")
      && !jd_config_bool (object, path, "normalize_before", &normalize, error))
    return FALSE;
  if (normalize)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "The model config's %s.normalize_before is true; this engine only runs "
                   "vocoders that take the log-mel as it is (normalize_before false)", path);
      return FALSE;
    }
  return TRUE;
}

/* `<prefix>.<name>.weight` (possibly weight-normalised) of shape (a, b, k) and its bias. */
static gboolean
load_conv (JdWeights *weights, const char *prefix, const char *name, int64_t a, int64_t b,
           int64_t k, int64_t bias_len, Conv *conv, GError **error)
{
  g_autofree char *base = jd_weights_join (prefix, name);
  conv->weight = jd_weight_norm_get (weights, base, 3, (const int64_t[]) { a, b, k }, error);
  if (conv->weight == NULL)
    return FALSE;
  conv->bias = jd_weights_get_in (weights, base, "bias", 1, &bias_len, error);
  return conv->bias != NULL;
}

static int
max_dilations (const JdVocoderConfig *c)
{
  int n = 0;
  for (int j = 0; j < c->n_kernels; j++)
    n = MAX (n, c->n_dilations[j]);
  return n;
}

static Conv *
resblock_conv (Conv *convs, const JdVocoderConfig *c, int stage, int kernel, int d)
{
  return &convs[((gsize) stage * c->n_kernels + kernel) * max_dilations (c) + d];
}

JdVocoder *
jd_vocoder_new (JdWeights             *weights,
                const JdVocoderConfig *config,
                const char            *prefix,
                GError               **error)
{
  g_autoptr (JdVocoder) self = g_new0 (JdVocoder, 1);
  self->backend = jd_weights_get_backend (weights);
  self->config = *config;
  const JdVocoderConfig *c = &self->config;
  gsize n_convs = (gsize) c->n_stages * c->n_kernels * max_dilations (c);
  self->convs1 = g_new0 (Conv, n_convs);
  self->convs2 = g_new0 (Conv, n_convs);

  int64_t ch = c->upsample_initial_channel;
  if (!load_conv (weights, prefix, "conv_pre", ch, c->model_in_dim, 7, ch, &self->conv_pre,
                  error))
    return NULL;
  for (int i = 0; i < c->n_stages; i++)
    {
      int64_t in = ch >> i, out = ch >> (i + 1);
      g_autofree char *up = g_strdup_printf ("upsampler.%d", i);
      if (!load_conv (weights, prefix, up, in, out, c->upsample_kernel_sizes[i], out,
                      &self->upsampler[i], error))
        return NULL;
      for (int j = 0; j < c->n_kernels; j++)
        for (int d = 0; d < c->n_dilations[j]; d++)
          {
            int k = c->resblock_kernel_sizes[j];
            g_autofree char *n1 = g_strdup_printf ("resblocks.%d.convs1.%d",
                                                   i * c->n_kernels + j, d);
            g_autofree char *n2 = g_strdup_printf ("resblocks.%d.convs2.%d",
                                                   i * c->n_kernels + j, d);
            if (!load_conv (weights, prefix, n1, out, out, k, out,
                            resblock_conv (self->convs1, c, i, j, d), error)
                || !load_conv (weights, prefix, n2, out, out, k, out,
                               resblock_conv (self->convs2, c, i, j, d), error))
              return NULL;
          }
    }
  if (!load_conv (weights, prefix, "conv_post", 1, ch >> c->n_stages, 7, 1, &self->conv_post,
                  error))
    return NULL;
  return g_steal_pointer (&self);
}

void
jd_vocoder_free (JdVocoder *self)
{
  if (self == NULL)
    return;
  g_free (self->convs1);
  g_free (self->convs2);
  g_free (self);
}

const JdVocoderConfig *
jd_vocoder_get_config (JdVocoder *self)
{
  return &self->config;
}

int64_t
jd_vocoder_output_length (const JdVocoderConfig *c, int64_t frames)
{
  int64_t length = frames;
  for (int i = 0; i < c->n_stages; i++)
    {
      int r = c->upsample_rates[i], k = c->upsample_kernel_sizes[i];
      length = (length - 1) * r - 2 * ((k - r) / 2) + k;
    }
  return length;
}

static JdTensor *
new_like (JdVocoder *self, int64_t batch, int64_t channels, int64_t length, GError **error)
{
  const int64_t shape[3] = { batch, channels, length };
  return jd_tensor_new (self->backend, JD_DTYPE_F32, 3, shape, error);
}

static JdTensor *
conv1d (JdVocoder *self, const JdTensor *x, const Conv *conv, int dilation, GError **error)
{
  int k = (int) conv->weight->shape[2];
  g_autoptr (JdTensor) y = new_like (self, x->shape[0], conv->weight->shape[0], x->shape[2],
                                     error);
  if (y == NULL
      || !jd_conv1d (self->backend, x, conv->weight, conv->bias, 1, (k * dilation - dilation) / 2,
                     dilation, y, error))
    return NULL;
  return g_steal_pointer (&y);
}

/* acc (+)= resblock (stage, kernel j) of h. */
static gboolean
resblock (JdVocoder *self, int stage, int j, const JdTensor *h, JdTensor *acc, gboolean first,
          GError **error)
{
  const JdVocoderConfig *c = &self->config;
  const float slope = c->leaky_relu_slope;
  g_autoptr (JdTensor) x = new_like (self, h->shape[0], h->shape[1], h->shape[2], error);
  g_autoptr (JdTensor) t = new_like (self, h->shape[0], h->shape[1], h->shape[2], error);
  if (x == NULL || t == NULL || !jd_unary (self->backend, JD_UNARY_IDENTITY, 0, 0, h, x, error))
    return FALSE;
  for (int d = 0; d < c->n_dilations[j]; d++)
    {
      if (!jd_unary (self->backend, JD_UNARY_LEAKY_RELU, slope, 0, x, t, error))
        return FALSE;
      g_autoptr (JdTensor) u = conv1d (self, t, resblock_conv (self->convs1, c, stage, j, d),
                                       c->resblock_dilations[j][d], error);
      if (u == NULL || !jd_unary (self->backend, JD_UNARY_LEAKY_RELU, slope, 0, u, u, error))
        return FALSE;
      g_autoptr (JdTensor) v = conv1d (self, u, resblock_conv (self->convs2, c, stage, j, d), 1,
                                       error);
      if (v == NULL || !jd_add (self->backend, x, v, x, error))
        return FALSE;
    }
  if (first)
    return jd_unary (self->backend, JD_UNARY_IDENTITY, 0, 0, x, acc, error);
  return jd_add (self->backend, acc, x, acc, error);
}

JdTensor *
jd_vocoder_run (JdVocoder *self, const JdTensor *mel, GError **error)
{
  const JdVocoderConfig *c = &self->config;
  if (mel->ndim != 3 || mel->shape[2] != c->model_in_dim || mel->shape[1] < 1
      || mel->dtype != JD_DTYPE_F32)
    {
      g_autofree char *have = jd_tensor_shape_string (mel);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "vocoder: the log-mel must be F32 (batch, frames, %d), not %s",
                   c->model_in_dim, have);
      return NULL;
    }
  int64_t batch = mel->shape[0], frames = mel->shape[1];
  static const int to_channels_first[3] = { 0, 2, 1 };
  g_autoptr (JdTensor) x = new_like (self, batch, c->model_in_dim, frames, error);
  if (x == NULL || !jd_permute (self->backend, mel, to_channels_first, x, error))
    return NULL;
  g_autoptr (JdTensor) h = conv1d (self, x, &self->conv_pre, 1, error);
  if (h == NULL)
    return NULL;

  for (int i = 0; i < c->n_stages; i++)
    {
      const Conv *up = &self->upsampler[i];
      int r = c->upsample_rates[i], k = c->upsample_kernel_sizes[i];
      int64_t length = (h->shape[2] - 1) * r - 2 * ((k - r) / 2) + k;
      if (!jd_unary (self->backend, JD_UNARY_LEAKY_RELU, c->leaky_relu_slope, 0, h, h, error))
        return NULL;
      g_autoptr (JdTensor) u = new_like (self, batch, up->weight->shape[1], length, error);
      g_autoptr (JdTensor) acc = new_like (self, batch, up->weight->shape[1], length, error);
      if (u == NULL || acc == NULL
          || !jd_conv_transpose1d (self->backend, h, up->weight, up->bias, r, (k - r) / 2, 0, u,
                                   error))
        return NULL;
      for (int j = 0; j < c->n_kernels; j++)
        if (!resblock (self, i, j, u, acc, j == 0, error))
          return NULL;
      if (!jd_unary (self->backend, JD_UNARY_AFFINE, 1.0f / c->n_kernels, 0, acc, acc, error))
        return NULL;
      g_clear_pointer (&h, jd_tensor_free);
      h = g_steal_pointer (&acc);
    }

  /* The last LeakyReLU is nn.functional's default slope, not the configured one. */
  if (!jd_unary (self->backend, JD_UNARY_LEAKY_RELU, 0.01f, 0, h, h, error))
    return NULL;
  g_autoptr (JdTensor) wave = conv1d (self, h, &self->conv_post, 1, error);
  if (wave == NULL || !jd_unary (self->backend, JD_UNARY_TANH, 0, 0, wave, wave, error))
    return NULL;
  /* (B, 1, L) → (B, L): the same contiguous bytes. */
  jd_tensor_reshape (wave, 2, (const int64_t[]) { batch, wave->shape[2] });
  return g_steal_pointer (&wave);
}
