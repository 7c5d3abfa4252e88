/* jd-image-encoder.c — the CLIP ViT on jd-layers. */
#include "jd-image-encoder.h"

#include <math.h>
#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"

typedef struct {
  JdLayerNormLayer layer_norm1, layer_norm2;
  JdLinearLayer    q_proj, k_proj, v_proj, out_proj, fc1, fc2;
} EncoderLayer;

struct _JdImageEncoder {
  JdImageEncoderConfig config;
  JdBackend        *backend;
  const JdTensor   *class_embedding, *patch_weight, *position_embedding;
  JdLayerNormLayer  pre_layrnorm, post_layernorm;
  EncoderLayer     *layers;
  JdLinearLayer     visual_projection;
};

gboolean
jd_image_encoder_config_read (JsonObject *object, const char *path, JdImageEncoderConfig *config,
                              GError **error)
{
  static const struct { const char *key; gsize offset; int64_t max; } ints[] = {
    { "hidden_size", G_STRUCT_OFFSET (JdImageEncoderConfig, hidden_size), 1 << 16 },
    { "intermediate_size", G_STRUCT_OFFSET (JdImageEncoderConfig, intermediate_size), 1 << 18 },
    { "num_hidden_layers", G_STRUCT_OFFSET (JdImageEncoderConfig, num_hidden_layers), 256 },
    { "num_attention_heads", G_STRUCT_OFFSET (JdImageEncoderConfig, num_attention_heads), 1024 },
    { "image_size", G_STRUCT_OFFSET (JdImageEncoderConfig, image_size), 4096 },
    { "patch_size", G_STRUCT_OFFSET (JdImageEncoderConfig, patch_size), 4096 },
    { "num_channels", G_STRUCT_OFFSET (JdImageEncoderConfig, num_channels), 16 },
    { "projection_dim", G_STRUCT_OFFSET (JdImageEncoderConfig, projection_dim), 1 << 16 },
  };
  *config = (JdImageEncoderConfig) { 0 };
  for (gsize i = 0; i < G_N_ELEMENTS (ints); i++)
    {
      int64_t v;
      JD_TRY_FALSE (jd_config_int (object, path, ints[i].key, 1, ints[i].max, &v, error));
      G_STRUCT_MEMBER (int, config, ints[i].offset) = (int) v;
    }
  JD_TRY_FALSE (jd_config_double (object, path, "layer_norm_eps", &config->layer_norm_eps, error));
  const char *act = jd_config_string (object, path, "hidden_act", error);
  JD_TRY_FALSE (act != NULL);
  if (strcmp (act, "gelu") == 0)
    config->hidden_act = JD_CLIP_ACT_GELU;
  else if (strcmp (act, "quick_gelu") == 0)
    config->hidden_act = JD_CLIP_ACT_QUICK_GELU;
  else
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "The model config's %s.hidden_act must be \"gelu\" or \"quick_gelu\"", path);
      return FALSE;
    }
  if (config->hidden_size % config->num_attention_heads != 0
      || config->image_size % config->patch_size != 0 || !(config->layer_norm_eps > 0))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "The model config's %s does not fit together: hidden_size %d must divide by "
                   "num_attention_heads %d, image_size %d by patch_size %d, and layer_norm_eps "
                   "must be positive", path, config->hidden_size, config->num_attention_heads,
                   config->image_size, config->patch_size);
      return FALSE;
    }
  return TRUE;
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

JdImageEncoder *
jd_image_encoder_new (JdWeights *weights, const JdImageEncoderConfig *config, const char *prefix,
                      GError **error)
{
  g_autoptr (JdImageEncoder) self = g_new0 (JdImageEncoder, 1);
  self->config = *config;
  self->backend = jd_weights_get_backend (weights);
  const JdImageEncoderConfig *c = &self->config;
  const int64_t hidden = c->hidden_size, grid = c->image_size / c->patch_size;
  const float eps = (float) c->layer_norm_eps;
  g_autofree char *emb = name (prefix, "vision_model.embeddings");
  self->class_embedding = jd_weights_get_in (weights, emb, "class_embedding", 1, &hidden, error);
  JD_TRY_NULL (self->class_embedding != NULL);
  self->patch_weight = jd_weights_get_in (weights, emb, "patch_embedding.weight", 4,
                                          (int64_t[]) { hidden, c->num_channels, c->patch_size,
                                                        c->patch_size }, error);
  JD_TRY_NULL (self->patch_weight != NULL);
  self->position_embedding = jd_weights_get_in (weights, emb, "position_embedding.weight", 2,
                                                (int64_t[]) { grid * grid + 1, hidden }, error);
  JD_TRY_NULL (self->position_embedding != NULL);
  g_autofree char *pre = name (prefix, "vision_model.pre_layrnorm");
  g_autofree char *post = name (prefix, "vision_model.post_layernorm");
  g_autofree char *proj = name (prefix, "visual_projection");
  JD_TRY_NULL (jd_layer_norm_layer_init (&self->pre_layrnorm, weights, pre, hidden, eps, error));
  JD_TRY_NULL (jd_layer_norm_layer_init (&self->post_layernorm, weights, post, hidden, eps, error));
  JD_TRY_NULL (jd_linear_layer_init (&self->visual_projection, weights, proj, hidden,
                                     c->projection_dim,
                                     FALSE, error));
  self->layers = g_new0 (EncoderLayer, c->num_hidden_layers);
  for (int i = 0; i < c->num_hidden_layers; i++)
    {
      EncoderLayer *l = &self->layers[i];
      g_autofree char *p = name (prefix, "vision_model.encoder.layers.%d", i);
      g_autofree char *ln1 = name (p, "layer_norm1");
      g_autofree char *ln2 = name (p, "layer_norm2");
      g_autofree char *q = name (p, "self_attn.q_proj");
      g_autofree char *k = name (p, "self_attn.k_proj");
      g_autofree char *v = name (p, "self_attn.v_proj");
      g_autofree char *o = name (p, "self_attn.out_proj");
      g_autofree char *fc1 = name (p, "mlp.fc1");
      g_autofree char *fc2 = name (p, "mlp.fc2");
      JD_TRY_NULL (jd_layer_norm_layer_init (&l->layer_norm1, weights, ln1, hidden, eps, error)
                   && jd_layer_norm_layer_init (&l->layer_norm2, weights, ln2, hidden, eps, error)
                   && jd_linear_layer_init (&l->q_proj, weights, q, hidden, hidden, TRUE, error)
                   && jd_linear_layer_init (&l->k_proj, weights, k, hidden, hidden, TRUE, error)
                   && jd_linear_layer_init (&l->v_proj, weights, v, hidden, hidden, TRUE, error)
                   && jd_linear_layer_init (&l->out_proj, weights, o, hidden, hidden, TRUE, error)
                   && jd_linear_layer_init (&l->fc1, weights, fc1, hidden, c->intermediate_size, TRUE,
                                            error)
                   && jd_linear_layer_init (&l->fc2, weights, fc2, c->intermediate_size, hidden, TRUE,
                                            error));
    }
  return g_steal_pointer (&self);
}

void
jd_image_encoder_free (JdImageEncoder *self)
{
  if (self == NULL)
    return;
  g_free (self->layers);
  g_free (self);
}

const JdImageEncoderConfig *
jd_image_encoder_get_config (JdImageEncoder *self)
{
  return &self->config;
}

/* x (B, L, hidden) += attention and MLP of one layer. */
static gboolean
layer_forward (JdImageEncoder *self, const EncoderLayer *l, JdTensor *x, GError **error)
{
  const JdImageEncoderConfig *c = &self->config;
  JdBackend *backend = self->backend;
  const int heads = c->num_attention_heads;
  const float scale = (float) (1.0 / sqrt ((double) (c->hidden_size / heads)));
  g_autoptr (JdTensor) n1 = jd_layer_norm_layer_forward (&l->layer_norm1, x, error);
  JD_TRY_FALSE (n1 != NULL);
  g_autoptr (JdTensor) q = jd_linear_layer_forward (&l->q_proj, n1, error);
  g_autoptr (JdTensor) k = q ? jd_linear_layer_forward (&l->k_proj, n1, error) : NULL;
  g_autoptr (JdTensor) v = k ? jd_linear_layer_forward (&l->v_proj, n1, error) : NULL;
  JD_TRY_FALSE (v != NULL);
  g_autoptr (JdTensor) attended = jd_layer_new_tensor (backend, 3, q->shape, error);
  JD_TRY_FALSE (attended != NULL);
  JD_TRY_FALSE (jd_attention (backend, q, k, v, heads, scale, 0, NULL, NULL, attended, error));
  g_autoptr (JdTensor) projected = jd_linear_layer_forward (&l->out_proj, attended, error);
  JD_TRY_FALSE (projected != NULL && jd_add (backend, x, projected, x, error));

  g_autoptr (JdTensor) n2 = jd_layer_norm_layer_forward (&l->layer_norm2, x, error);
  JD_TRY_FALSE (n2 != NULL);
  g_autoptr (JdTensor) h = jd_linear_layer_forward (&l->fc1, n2, error);
  JD_TRY_FALSE (h != NULL);
  if (c->hidden_act == JD_CLIP_ACT_GELU)
    JD_TRY_FALSE (jd_unary (backend, JD_UNARY_GELU, 0, 0, h, h, error));
  else
    {
      g_autoptr (JdTensor) gate = jd_layer_new_tensor (backend, h->ndim, h->shape, error);
      JD_TRY_FALSE (gate != NULL);
      JD_TRY_FALSE (jd_unary (backend, JD_UNARY_AFFINE, 1.702f, 0, h, gate, error)
                    && jd_unary (backend, JD_UNARY_SIGMOID, 0, 0, gate, gate, error)
                    && jd_mul (backend, h, gate, h, error));
    }
  g_autoptr (JdTensor) out = jd_linear_layer_forward (&l->fc2, h, error);
  return out != NULL && jd_add (backend, x, out, x, error);
}

JdTensor *
jd_image_encoder_run (JdImageEncoder *self, const JdTensor *pixels, GError **error)
{
  const JdImageEncoderConfig *c = &self->config;
  JdBackend *backend = self->backend;
  if (pixels->ndim != 4 || pixels->dtype != JD_DTYPE_F32 || pixels->shape[1] != c->num_channels
      || pixels->shape[2] != c->image_size || pixels->shape[3] != c->image_size)
    {
      g_autofree char *have = jd_tensor_shape_string (pixels);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "image encoder: the pixels must be F32 (B, %d, %d, %d), resized and "
                   "normalised first, not %s", c->num_channels, c->image_size, c->image_size,
                   have);
      return NULL;
    }
  const int64_t b = pixels->shape[0], hidden = c->hidden_size, grid = c->image_size / c->patch_size;
  const int64_t n_tokens = grid * grid + 1;

  /* Patches (B, hidden, g, g) → (B, g², hidden). */
  g_autoptr (JdTensor) patches = jd_layer_new_tensor (backend, 4,
                                                      (int64_t[]) { b, hidden, grid, grid },
                                                      error);
  JD_TRY_NULL (patches != NULL);
  JD_TRY_NULL (jd_conv2d (backend, pixels, self->patch_weight, NULL, c->patch_size, 0, patches,
                          error));
  jd_tensor_reshape (patches, 3, (int64_t[]) { b, hidden, grid * grid });
  g_autoptr (JdTensor) tokens = jd_layer_new_tensor (backend, 3,
                                                     (int64_t[]) { b, grid * grid, hidden },
                                                     error);
  JD_TRY_NULL (tokens != NULL);
  JD_TRY_NULL (jd_permute (backend, patches, (const int[]) { 0, 2, 1 }, tokens, error));

  /* [class; patches] + positions. */
  g_autoptr (JdTensor) cls_view = jd_tensor_view_as (self->class_embedding, 3,
                                                     (int64_t[]) { 1, 1, hidden });
  g_autoptr (JdTensor) cls = jd_layer_new_tensor (backend, 3, (int64_t[]) { b, 1, hidden }, error);
  JD_TRY_NULL (cls != NULL);
  JD_TRY_NULL (jd_broadcast (backend, cls_view, cls, error));
  g_autoptr (JdTensor) x = jd_layer_new_tensor (backend, 3, (int64_t[]) { b, n_tokens, hidden },
                                                error);
  JD_TRY_NULL (x != NULL);
  const JdTensor *parts[2] = { cls, tokens };
  JD_TRY_NULL (jd_concat (backend, 2, parts, 1, x, error));
  g_autoptr (JdTensor) positions = jd_tensor_view_as (self->position_embedding, 3,
                                                      (int64_t[]) { 1, n_tokens, hidden });
  JD_TRY_NULL (jd_add (backend, x, positions, x, error));

  g_autoptr (JdTensor) h = jd_layer_norm_layer_forward (&self->pre_layrnorm, x, error);
  JD_TRY_NULL (h != NULL);
  for (int i = 0; i < c->num_hidden_layers; i++)
    JD_TRY_NULL (layer_forward (self, &self->layers[i], h, error));

  g_autoptr (JdTensor) first = jd_layer_new_tensor (backend, 3, (int64_t[]) { b, 1, hidden },
                                                    error);
  JD_TRY_NULL (first != NULL);
  JD_TRY_NULL (jd_slice (backend, h, 1, 0, first, error));
  jd_tensor_reshape (first, 2, (int64_t[]) { b, hidden });
  g_autoptr (JdTensor) pooled = jd_layer_norm_layer_forward (&self->post_layernorm, first, error);
  JD_TRY_NULL (pooled != NULL);
  return jd_linear_layer_forward (&self->visual_projection, pooled, error);
}
