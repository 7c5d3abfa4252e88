#include "jd-audio-unet.h"

#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"

#define MAX_BLOCKS 8
#define MAX_LAYERS 8
#define MAX_POSITIONS 4

/* AudioLDM2's Transformer2D GroupNorm; nn.LayerNorm's default inside the blocks. */
#define EPS_TRANSFORMER 1e-6f
#define EPS_LAYER_NORM  1e-5f

/* GroupNorm → 1×1 proj_in → blocks → 1×1 proj_out → + input. */
typedef struct {
  JdGroupNormLayer   norm;
  JdConv2dLayer      proj_in, proj_out;
  int                n_layers;
  JdTransformerBlock blocks[MAX_LAYERS];
} Transformer2D;

typedef struct {
  int             n_layers;
  JdResnetBlock2D resnets[MAX_LAYERS];
  /* The transformers after resnet j: attentions[j · n_self + s]. */
  int             n_self;
  Transformer2D  *attentions;
  gboolean        has_downsample, has_upsample;
  JdDownsample2D  downsample;
  JdUpsample2D    upsample;
} Block;

struct _JdAudioUNet {
  JdBackend          *backend;
  int                 n_blocks;
  int64_t             in_channels, out_channels, temb_channels, image_embed_dim;
  int64_t             channels[MAX_BLOCKS];
  JdTimestepEmbedding time_embedding;
  JdLinearLayer       image_proj;
  JdConv2dLayer       conv_in, conv_out;
  JdGroupNormLayer    conv_norm_out;
  Block               down[MAX_BLOCKS], up[MAX_BLOCKS], mid;
  char              **stage_names;
};

void
jd_audio_unet_free (JdAudioUNet *unet)
{
  if (unet == NULL)
    return;
  for (int i = 0; i < MAX_BLOCKS; i++)
    {
      g_free (unet->down[i].attentions);
      g_free (unet->up[i].attentions);
    }
  g_free (unet->mid.attentions);
  g_strfreev (unet->stage_names);
  g_free (unet);
}

static gboolean
transformer_init (Transformer2D *t, JdWeights *weights, const char *prefix, int64_t channels,
                  int heads, int groups, int n_layers, GError **error)
{
  t->n_layers = n_layers;
  g_autofree char *p_norm = jd_weights_join (prefix, "norm");
  g_autofree char *p_in = jd_weights_join (prefix, "proj_in");
  g_autofree char *p_out = jd_weights_join (prefix, "proj_out");
  JD_TRY_FALSE (jd_group_norm_layer_init (&t->norm, weights, p_norm, channels, groups,
                                          EPS_TRANSFORMER, error));
  JD_TRY_FALSE (jd_conv2d_layer_init (&t->proj_in, weights, p_in, channels, channels, 1, 1, 0,
                                      error));
  for (int i = 0; i < n_layers; i++)
    {
      g_autofree char *p = jd_weights_join_printf (prefix, "transformer_blocks.%d", i);
      /* No context: attn2 is a second self-attention (double_self_attention). */
      JD_TRY_FALSE (jd_transformer_block_init (&t->blocks[i], weights, p, channels, heads,
                                               channels / heads, 0, TRUE, EPS_LAYER_NORM, error));
    }
  return jd_conv2d_layer_init (&t->proj_out, weights, p_out, channels, channels, 1, 1, 0, error);
}

static JdTensor *
transformer_forward (const Transformer2D *t, const JdTensor *x, GError **error)
{
  JdBackend *backend = t->norm.backend;
  const int64_t b = x->shape[0], c = x->shape[1], h = x->shape[2], w = x->shape[3];
  g_autoptr (JdTensor) normed = jd_group_norm_layer_forward (&t->norm, x, JD_UNARY_IDENTITY,
                                                             error);
  JD_TRY_NULL (normed != NULL);
  g_autoptr (JdTensor) projected = jd_conv2d_layer_forward (&t->proj_in, normed, error);
  JD_TRY_NULL (projected != NULL);
  g_autoptr (JdTensor) tokens = jd_layer_new_tensor (backend, 4, (int64_t[]) { b, h, w, c },
                                                     error);
  JD_TRY_NULL (tokens != NULL);
  JD_TRY_NULL (jd_permute (backend, projected, (const int[]) { 0, 2, 3, 1 }, tokens, error));
  jd_tensor_reshape (tokens, 3, (int64_t[]) { b, h * w, c });
  for (int i = 0; i < t->n_layers; i++)
    {
      JdTensor *next = jd_transformer_block_forward (&t->blocks[i], tokens, NULL, error);
      JD_TRY_NULL (next != NULL);
      jd_tensor_free (tokens);
      tokens = next;
    }
  jd_tensor_reshape (tokens, 4, (int64_t[]) { b, h, w, c });
  g_autoptr (JdTensor) maps = jd_layer_new_tensor (backend, 4, x->shape, error);
  JD_TRY_NULL (maps != NULL);
  JD_TRY_NULL (jd_permute (backend, tokens, (const int[]) { 0, 3, 1, 2 }, maps, error));
  g_autoptr (JdTensor) out = jd_conv2d_layer_forward (&t->proj_out, maps, error);
  JD_TRY_NULL (out != NULL);
  JD_TRY_NULL (jd_add (backend, out, x, out, error));
  return g_steal_pointer (&out);
}

static JdTensor *
block_layer_forward (const Block *block, int j, const JdTensor *h, const JdTensor *temb,
                     GError **error)
{
  JdTensor *x = jd_resnet_block2d_forward (&block->resnets[j], h, temb, error);
  JD_TRY_NULL (x != NULL);
  if (block->attentions == NULL)
    return x;
  for (int s = 0; s < block->n_self; s++)
    {
      JdTensor *next = transformer_forward (&block->attentions[j * block->n_self + s], x, error);
      jd_tensor_free (x);
      JD_TRY_NULL (next != NULL);
      x = next;
    }
  return x;
}

static gboolean
fail_config (GError **error, const char *path, const char *what)
{
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "The model config's %s%s", path, what);
  return FALSE;
}

/* The positions k (of P per block) whose cross_attention_dim is null, for each block; a shared
 * list or one list per block (diffusers' form). Fails for text transformers. */
static gboolean
read_attention_positions (JsonObject *config, const char *path, int n_blocks,
                          gboolean text_transformers, int *n_positions,
                          int self_positions[][MAX_POSITIONS], int *n_self, GError **error)
{
  JsonNode *node = json_object_get_member (config, "cross_attention_dim");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return fail_config (error, path, ".cross_attention_dim must be a list (one dim or null "
                        "per transformer position)");
  JsonArray *array = json_node_get_array (node);
  guint len = json_array_get_length (array);
  gboolean per_block = len > 0 && JSON_NODE_HOLDS_ARRAY (json_array_get_element (array, 0));
  if (per_block && len != (guint) n_blocks)
    return fail_config (error, path, ".cross_attention_dim must have one list per block");
  for (int i = 0; i < n_blocks; i++)
    {
      JsonArray *dims = per_block
        ? json_node_get_array (json_array_get_element (array, (guint) i)) : array;
      guint p = json_array_get_length (dims);
      if (p < 1 || p > MAX_POSITIONS)
        return fail_config (error, path, ".cross_attention_dim must list 1 to 4 positions");
      n_positions[i] = (int) p;
      n_self[i] = 0;
      for (guint k = 0; k < p; k++)
        {
          JsonNode *d = json_array_get_element (dims, k);
          if (d == NULL || JSON_NODE_HOLDS_NULL (d))
            self_positions[i][n_self[i]++] = (int) k;
          else if (text_transformers)
            {
              g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                           "The model config's %s.text_transformers is true, but this engine "
                           "builds only the image-conditioned audio UNet (no text encoders): "
                           "use a bundle with \"text_transformers\": false", path);
              return FALSE;
            }
        }
    }
  return TRUE;
}

static gboolean
read_block_types (JsonObject *config, const char *path, const char *key, const char *cross,
                  const char *plain, int n, gboolean *is_cross, GError **error)
{
  g_auto (GStrv) types = jd_config_string_array (config, path, key, error);
  JD_TRY_FALSE (types != NULL);
  if ((int) g_strv_length (types) != n)
    return fail_config (error, path, "'s block type lists must have one entry per "
                        "block_out_channels entry");
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

static gboolean
block_init_attentions (Block *block, JdWeights *weights, const char *prefix, int n_groups,
                       int n_positions, const int *self_positions, int n_self, int64_t channels,
                       int heads, int groups, int tlayers, GError **error)
{
  block->n_self = n_self;
  block->attentions = g_new0 (Transformer2D, MAX (n_groups * n_self, 1));
  for (int g = 0; g < n_groups; g++)
    for (int s = 0; s < n_self; s++)
      {
        g_autofree char *p = jd_weights_join_printf (prefix, "attentions.%d",
                                                     g * n_positions + self_positions[s]);
        JD_TRY_FALSE (transformer_init (&block->attentions[g * n_self + s], weights, p, channels,
                                        heads, groups, tlayers, error));
      }
  return TRUE;
}

JdAudioUNet *
jd_audio_unet_new (JdWeights *weights, JsonObject *config, const char *config_path,
                   const char *prefix, GError **error)
{
  g_autoptr (JdAudioUNet) unet = g_new0 (JdAudioUNet, 1);
  unet->backend = jd_weights_get_backend (weights);
  const char *path = config_path;
  int64_t ch[MAX_BLOCKS];
  int n = 0;
  JD_TRY_NULL (jd_config_int_array (config, path, "block_out_channels", 1, 1 << 16, -1, MAX_BLOCKS,
                                    ch,
                                    &n, error));
  unet->n_blocks = n;
  memcpy (unet->channels, ch, sizeof ch);
  JD_TRY_NULL (jd_config_int (config, path, "in_channels", 1, 1 << 16, &unet->in_channels, error));
  JD_TRY_NULL (jd_config_int (config, path, "out_channels", 1, 1 << 16, &unet->out_channels,
                              error));
  int64_t layers[MAX_BLOCKS], heads[MAX_BLOCKS], tlayers[MAX_BLOCKS], groups = 32;
  double eps = 1e-5;
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "layers_per_block", n, 1, MAX_LAYERS - 1, -1,
                                         layers, error));
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "num_attention_heads", n, 1, 1 << 12, -1,
                                         heads,
                                         error));
  JD_TRY_NULL (jd_unet_config_per_block (config, path, "transformer_layers_per_block", n, 1,
                                         MAX_LAYERS,
                                         1, tlayers, error));
  if (jd_config_has (config, "norm_num_groups"))
    JD_TRY_NULL (jd_config_int (config, path, "norm_num_groups", 1, 1 << 12, &groups, error));
  if (jd_config_has (config, "norm_eps"))
    JD_TRY_NULL (jd_config_double (config, path, "norm_eps", &eps, error));
  gboolean text = TRUE;
  if (jd_config_has (config, "text_transformers"))
    JD_TRY_NULL (jd_config_bool (config, path, "text_transformers", &text, error));
  if (jd_config_has (config, "image_embed_dim"))
    JD_TRY_NULL (jd_config_int (config, path, "image_embed_dim", 1, 1 << 16, &unet->image_embed_dim,
                                error));
  for (int i = 0; i < n; i++)
    if (ch[i] % groups != 0 || ch[i] % heads[i] != 0)
      {
        fail_config (error, path, ".block_out_channels must divide by norm_num_groups and by "
                     "num_attention_heads");
        return NULL;
      }
  int n_positions[MAX_BLOCKS], self_positions[MAX_BLOCKS][MAX_POSITIONS], n_self[MAX_BLOCKS];
  JD_TRY_NULL (read_attention_positions (config, path, n, text, n_positions, self_positions, n_self,
                                         error));
  gboolean down_cross[MAX_BLOCKS], up_cross[MAX_BLOCKS];
  JD_TRY_NULL (read_block_types (config, path, "down_block_types", "CrossAttnDownBlock2D",
                                 "DownBlock2D",
                                 n, down_cross, error));
  JD_TRY_NULL (read_block_types (config, path, "up_block_types", "CrossAttnUpBlock2D", "UpBlock2D",
                                 n,
                                 up_cross, error));

  const int64_t temb = 4 * ch[0];
  unet->temb_channels = temb;
  g_autofree char *p_time = jd_weights_join (prefix, "time_embedding");
  g_autofree char *p_image = jd_weights_join (prefix, "image_proj");
  g_autofree char *p_conv_in = jd_weights_join (prefix, "conv_in");
  g_autofree char *p_norm_out = jd_weights_join (prefix, "conv_norm_out");
  g_autofree char *p_conv_out = jd_weights_join (prefix, "conv_out");
  JD_TRY_NULL (jd_timestep_embedding_init (&unet->time_embedding, weights, p_time, ch[0], temb,
                                           temb,
                                           error));
  if (unet->image_embed_dim > 0)
    JD_TRY_NULL (jd_linear_layer_init (&unet->image_proj, weights, p_image, unet->image_embed_dim,
                                       temb,
                                       TRUE, error));
  JD_TRY_NULL (jd_conv2d_layer_init (&unet->conv_in, weights, p_conv_in, unet->in_channels, ch[0],
                                     3, 1,
                                     1, error));

  for (int i = 0; i < n; i++)
    {
      Block *block = &unet->down[i];
      g_autofree char *p = jd_weights_join_printf (prefix, "down_blocks.%d", i);
      block->n_layers = (int) layers[i];
      for (int j = 0; j < block->n_layers; j++)
        {
          g_autofree char *pr = jd_weights_join_printf (p, "resnets.%d", j);
          JD_TRY_NULL (jd_resnet_block2d_init (&block->resnets[j], weights, pr,
                                               j == 0 ? ch[MAX (i - 1, 0)] : ch[i], ch[i], temb,
                                               (int) groups, (float) eps, error));
        }
      if (down_cross[i])
        JD_TRY_NULL (block_init_attentions (block, weights, p, block->n_layers, n_positions[i],
                                            self_positions[i], n_self[i], ch[i], (int) heads[i],
                                            (int) groups, (int) tlayers[i], error));
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
        JD_TRY_NULL (jd_resnet_block2d_init (&mid->resnets[j], weights, pr, ch[n - 1], ch[n - 1],
                                             temb,
                                             (int) groups, (float) eps, error));
      }
    JD_TRY_NULL (block_init_attentions (mid, weights, p, 1, n_positions[n - 1],
                                        self_positions[n - 1],
                                        n_self[n - 1], ch[n - 1], (int) heads[n - 1], (int) groups,
                                        (int) tlayers[n - 1], error));
  }
  for (int i = 0; i < n; i++)
    {
      Block *block = &unet->up[i];
      const int r = n - 1 - i;
      const int64_t out_ch = ch[r];
      const int64_t prev_ch = i > 0 ? ch[r + 1] : ch[n - 1];
      const int64_t in_ch = ch[MAX (r - 1, 0)];
      g_autofree char *p = jd_weights_join_printf (prefix, "up_blocks.%d", i);
      block->n_layers = (int) layers[r] + 1;
      for (int j = 0; j < block->n_layers; j++)
        {
          const int64_t skip_ch = j == block->n_layers - 1 ? in_ch : out_ch;
          g_autofree char *pr = jd_weights_join_printf (p, "resnets.%d", j);
          JD_TRY_NULL (jd_resnet_block2d_init (&block->resnets[j], weights, pr,
                                               (j == 0 ? prev_ch : out_ch) + skip_ch, out_ch, temb,
                                               (int) groups, (float) eps, error));
        }
      if (up_cross[i])
        JD_TRY_NULL (block_init_attentions (block, weights, p, block->n_layers, n_positions[r],
                                            self_positions[r], n_self[r], out_ch, (int) heads[r],
                                            (int) groups, (int) tlayers[r], error));
      block->has_upsample = i < n - 1;
      if (block->has_upsample)
        {
          g_autofree char *pu = jd_weights_join (p, "upsamplers.0");
          JD_TRY_NULL (jd_upsample2d_init (&block->upsample, weights, pu, out_ch, error));
        }
    }
  JD_TRY_NULL (jd_group_norm_layer_init (&unet->conv_norm_out, weights, p_norm_out, ch[0],
                                         (int) groups,
                                         (float) eps, error));
  JD_TRY_NULL (jd_conv2d_layer_init (&unet->conv_out, weights, p_conv_out, ch[0],
                                     unet->out_channels, 3,
                                     1, 1, error));

  unet->stage_names = jd_unet_stage_names_new (n);
  return g_steal_pointer (&unet);
}

int64_t jd_audio_unet_get_in_channels (JdAudioUNet *unet) { return unet->in_channels; }
int64_t jd_audio_unet_get_out_channels (JdAudioUNet *unet) { return unet->out_channels; }
int64_t jd_audio_unet_get_temb_channels (JdAudioUNet *unet) { return unet->temb_channels; }
int64_t jd_audio_unet_get_image_embed_dim (JdAudioUNet *unet) { return unet->image_embed_dim; }

guint
jd_audio_unet_get_n_stages (JdAudioUNet *unet)
{
  return (guint) unet->n_blocks + 2;
}

const char *
jd_audio_unet_get_stage_name (JdAudioUNet *unet, guint stage)
{
  g_return_val_if_fail (stage < jd_audio_unet_get_n_stages (unet), NULL);
  return unet->stage_names[stage];
}

int
jd_audio_unet_find_stage (JdAudioUNet *unet, const char *name)
{
  return jd_unet_stage_find (unet->stage_names, name);
}

int64_t
jd_audio_unet_get_stage_channels (JdAudioUNet *unet, guint stage)
{
  return jd_unet_stage_channels (unet->channels, unet->n_blocks, stage);
}

JdTensor *
jd_audio_unet_embed (JdAudioUNet *unet, const JdTensor *timestep, int64_t batch,
                     const JdTensor *image_embeds, GError **error)
{
  JdBackend *backend = unet->backend;
  if (timestep->ndim != 1 || (timestep->shape[0] != 1 && timestep->shape[0] != batch))
    {
      g_autofree char *ts = jd_tensor_shape_string (timestep);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "audio UNet: the timestep %s must be (1) or (%" G_GINT64_FORMAT ")", ts,
                   batch);
      return NULL;
    }
  if (image_embeds != NULL && (unet->image_embed_dim == 0 || image_embeds->ndim != 2
                               || image_embeds->shape[0] != batch
                               || image_embeds->shape[1] != unet->image_embed_dim))
    {
      g_autofree char *is = jd_tensor_shape_string (image_embeds);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "audio UNet: image embeddings %s given, but the model takes (%" G_GINT64_FORMAT
                   ", %" G_GINT64_FORMAT ") (0: its config has no image_embed_dim)", is, batch,
                   unet->image_embed_dim);
      return NULL;
    }
  g_autoptr (JdTensor) features = jd_sinusoids (backend, timestep, (int) unet->channels[0],
                                                error);
  JD_TRY_NULL (features != NULL);
  g_autoptr (JdTensor) t_emb = jd_timestep_embedding_forward (&unet->time_embedding, features,
                                                              error);
  JD_TRY_NULL (t_emb != NULL);
  g_autoptr (JdTensor) emb = jd_layer_new_tensor (backend, 2,
                                                  (int64_t[]) { batch, unet->temb_channels },
                                                  error);
  JD_TRY_NULL (emb != NULL);
  JD_TRY_NULL (jd_broadcast (backend, t_emb, emb, error));
  if (image_embeds != NULL)
    {
      g_autoptr (JdTensor) image = jd_linear_layer_forward (&unet->image_proj, image_embeds,
                                                            error);
      JD_TRY_NULL (image != NULL);
      JD_TRY_NULL (jd_add (backend, emb, image, emb, error));
    }
  return g_steal_pointer (&emb);
}

JdTensor *
jd_audio_unet_run_stage (JdAudioUNet *unet, guint stage, const JdTensor *h, GPtrArray *skips,
                         const JdTensor *temb, GError **error)
{
  if (stage >= jd_audio_unet_get_n_stages (unet))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "audio UNet: there is no encoder stage %u (it has %u)", stage,
                   jd_audio_unet_get_n_stages (unet));
      return NULL;
    }
  if (h->ndim != 4)
    {
      g_autofree char *hs = jd_tensor_shape_string (h);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "audio UNet: the input %s must be (B, C, T, F)", hs);
      return NULL;
    }
  if (stage == 0)
    {
      g_autoptr (JdTensor) out = jd_conv2d_layer_forward (&unet->conv_in, h, error);
      JD_TRY_NULL (out != NULL);
      JD_TRY_NULL (jd_unet_skips_push_copy (skips, out, error));
      return g_steal_pointer (&out);
    }
  if (stage == (guint) unet->n_blocks + 1)
    {
      g_autoptr (JdTensor) x = block_layer_forward (&unet->mid, 0, h, temb, error);
      JD_TRY_NULL (x != NULL);
      return jd_resnet_block2d_forward (&unet->mid.resnets[1], x, temb, error);
    }
  const Block *block = &unet->down[stage - 1];
  g_autoptr (JdTensor) x = NULL;
  const JdTensor *current = h;
  for (int j = 0; j < block->n_layers; j++)
    {
      JdTensor *next = block_layer_forward (block, j, current, temb, error);
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
jd_audio_unet_decode (JdAudioUNet *unet, const JdTensor *h, GPtrArray *skips,
                      const JdTensor *temb, GError **error)
{
  JdBackend *backend = unet->backend;
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
                           "audio UNet up block %d: the skip %s does not fit the input %s", i,
                           ss, cs);
              return NULL;
            }
          g_autoptr (JdTensor) cat = jd_layer_new_tensor (
            backend, 4, (int64_t[]) { current->shape[0], current->shape[1] + skip->shape[1],
                                      current->shape[2], current->shape[3] }, error);
          JD_TRY_NULL (cat != NULL);
          JD_TRY_NULL (jd_concat (backend, 2, (const JdTensor *[]) { current, skip }, 1, cat,
                                  error));
          JdTensor *next = block_layer_forward (block, j, cat, temb, error);
          JD_TRY_NULL (next != NULL);
          g_clear_pointer (&x, jd_tensor_free);
          x = next;
          current = x;
        }
      if (block->has_upsample)
        {
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
jd_audio_unet_forward (JdAudioUNet *unet, const JdTensor *sample, const JdTensor *timestep,
                       const JdTensor *image_embeds, GError **error)
{
  if (sample->ndim != 4 || sample->shape[1] != unet->in_channels)
    {
      g_autofree char *ss = jd_tensor_shape_string (sample);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "audio UNet: the sample %s must be (B, %" G_GINT64_FORMAT ", T, F)", ss,
                   unet->in_channels);
      return NULL;
    }
  g_autoptr (JdTensor) temb = jd_audio_unet_embed (unet, timestep, sample->shape[0],
                                                   image_embeds, error);
  JD_TRY_NULL (temb != NULL);
  g_autoptr (GPtrArray) skips = jd_unet_skips_new ();
  g_autoptr (JdTensor) h = NULL;
  const JdTensor *current = sample;
  for (guint s = 0; s < jd_audio_unet_get_n_stages (unet); s++)
    {
      JdTensor *next = jd_audio_unet_run_stage (unet, s, current, skips, temb, error);
      JD_TRY_NULL (next != NULL);
      g_clear_pointer (&h, jd_tensor_free);
      h = next;
      current = h;
    }
  return jd_audio_unet_decode (unet, h, skips, temb, error);
}
