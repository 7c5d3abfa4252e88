/* AudioLDM2's UNet, mel VAE and HiFi-GAN vocoder as diffusers/transformers build them from their
 * config.json (AudioLDM2UNet2DConditionModel, AutoencoderKL, SpeechT5HifiGan). */
#include "jd-convert-layout.h"

#include <string.h>

#include "jd-config-read.h"
#include "jd-convert-audioldm2.h"
#include "jd-convert-blocks.h"
#include "jd-error.h"

#define P(...) g_autofree char *p = g_strdup_printf (__VA_ARGS__)

static gboolean
fail (GError **error, const char *name, const char *key, const char *what)
{
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "%s: %s %s", name, key, what);
  return FALSE;
}

gboolean
jd_convert_audioldm2_contexts (JsonObject *config, const char *name, int n_blocks,
                               int64_t contexts[][JD_CONVERT_MAX_POSITIONS], int *n_positions,
                               GError **error)
{
  JsonNode *node = json_object_get_member (config, "cross_attention_dim");
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return fail (error, name, "cross_attention_dim", "is missing");
  for (int i = 0; i < n_blocks; i++)
    {
      JsonNode *entry = node;
      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          if (json_array_get_length (array) != (guint) n_blocks)
            return fail (error, name, "cross_attention_dim",
                         "must have one entry per block_out_channels entry");
          entry = json_array_get_element (array, (guint) i);
        }
      JsonArray *dims = NULL;
      guint len = 1;
      if (JSON_NODE_HOLDS_ARRAY (entry))
        {
          dims = json_node_get_array (entry);
          len = json_array_get_length (dims);
        }
      if (len < 1 || len > JD_CONVERT_MAX_POSITIONS)
        return fail (error, name, "cross_attention_dim", "must list 1 to 4 dims per block");
      n_positions[i] = (int) len;
      for (guint k = 0; k < len; k++)
        {
          JsonNode *d = dims ? json_array_get_element (dims, k) : entry;
          if (JSON_NODE_HOLDS_NULL (d))
            contexts[i][k] = 0;
          else if (JSON_NODE_HOLDS_VALUE (d) && json_node_get_value_type (d) == G_TYPE_INT64
                   && json_node_get_int (d) > 0 && json_node_get_int (d) <= (1 << 16))
            contexts[i][k] = json_node_get_int (d);
          else
            return fail (error, name, "cross_attention_dim",
                         "holds something that is neither null nor a positive integer");
        }
    }
  return TRUE;
}

gboolean
jd_convert_audioldm2_heads (JsonObject *config, const char *name, int n_blocks, int64_t *heads,
                            GError **error)
{
  /* As diffusers' AudioLDM2 pipeline reads it: num_attention_heads, or else
   * attention_head_dim taken as the number of heads. */
  const char *key = jd_config_has (config, "num_attention_heads") ? "num_attention_heads"
                                                                  : "attention_head_dim";
  return jd_convert_config_per_block (config, name, key, n_blocks, 8, heads, error);
}

/* One attention position group: the transformers after resnet j of a block, those kept. */
static void
add_group (JdConvertLayout *l, const char *block, int64_t j, int64_t c, const int64_t *contexts,
           int n_positions, int64_t tlayers, gboolean with_text)
{
  for (int k = 0; k < n_positions; k++)
    {
      if (contexts[k] != 0 && !with_text)
        continue;
      const int64_t context = contexts[k] != 0 ? contexts[k] : c;
      g_autofree char *a = g_strdup_printf ("%s.attentions.%" G_GINT64_FORMAT, block,
                                            j * n_positions + k);
      g_autofree char *norm = g_strconcat (a, ".norm", NULL);
      g_autofree char *proj_in = g_strconcat (a, ".proj_in", NULL);
      g_autofree char *proj_out = g_strconcat (a, ".proj_out", NULL);
      jd_convert_add_norm (l, norm, c);
      jd_convert_add_conv2d (l, proj_in, c, c, 1);
      for (int64_t t = 0; t < tlayers; t++)
        {
          g_autofree char *b = g_strdup_printf ("%s.transformer_blocks.%" G_GINT64_FORMAT, a, t);
          jd_convert_add_transformer_block (l, b, c, context);
        }
      jd_convert_add_conv2d (l, proj_out, c, c, 1);
    }
}

JdConvertLayout *
jd_convert_layout_audioldm2_unet (JsonObject *config, const char *name, gboolean with_text,
                                  int64_t image_embed_dim, GError **error)
{
  int64_t ch[JD_CONVERT_MAX_BLOCKS], layers[JD_CONVERT_MAX_BLOCKS],
          heads[JD_CONVERT_MAX_BLOCKS], tlayers[JD_CONVERT_MAX_BLOCKS];
  int64_t contexts[JD_CONVERT_MAX_BLOCKS][JD_CONVERT_MAX_POSITIONS];
  int n_positions[JD_CONVERT_MAX_BLOCKS];
  int n = 0;
  int64_t in, out;
  gboolean down_attn[JD_CONVERT_MAX_BLOCKS], up_attn[JD_CONVERT_MAX_BLOCKS];
  if (!jd_convert_config_channels (config, name, ch, &n, error)
      || !jd_convert_config_int (config, name, "in_channels", -1, &in, error)
      || !jd_convert_config_int (config, name, "out_channels", -1, &out, error)
      || !jd_convert_config_per_block (config, name, "layers_per_block", n, -1, layers, error)
      || !jd_convert_audioldm2_heads (config, name, n, heads, error)
      || !jd_convert_config_per_block (config, name, "transformer_layers_per_block", n, 1,
                                       tlayers, error)
      || !jd_convert_audioldm2_contexts (config, name, n, contexts, n_positions, error)
      || !jd_convert_config_block_types (config, name, "down_block_types", "CrossAttnDownBlock2D",
                                         "DownBlock2D", n, down_attn, error)
      || !jd_convert_config_block_types (config, name, "up_block_types", "CrossAttnUpBlock2D",
                                         "UpBlock2D", n, up_attn, error))
    return NULL;
  static const char *const unsupported[] = {
    "class_embed_type", "num_class_embeds", "time_cond_proj_dim", "projection_class_embeddings_input_dim",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (unsupported); i++)
    if (jd_config_has (config, unsupported[i]))
      {
        fail (error, name, unsupported[i], "is set; the converter builds AudioLDM2's UNet, "
              "which has no class embedding");
        return NULL;
      }
  gboolean linear_projection = FALSE;
  if (jd_config_has (config, "use_linear_projection")
      && !jd_config_bool (config, name, "use_linear_projection", &linear_projection, error))
    return NULL;
  if (linear_projection)
    {
      fail (error, name, "use_linear_projection", "is true; AudioLDM2's transformers project "
            "with 1×1 convolutions");
      return NULL;
    }

  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  const int64_t temb = 4 * ch[0];
  jd_convert_add_conv2d (l, "conv_in", ch[0], in, 3);
  jd_convert_add_timestep_embedding (l, "time_embedding", ch[0], temb, temb);
  if (image_embed_dim > 0)
    jd_convert_add_linear (l, "image_proj", temb, image_embed_dim, TRUE);

  int64_t prev = ch[0];
  for (int i = 0; i < n; i++)
    {
      g_autofree char *block = g_strdup_printf ("down_blocks.%d", i);
      for (int64_t j = 0; j < layers[i]; j++)
        {
          P ("%s.resnets.%" G_GINT64_FORMAT, block, j);
          jd_convert_add_resnet (l, p, j == 0 ? prev : ch[i], ch[i], temb);
          if (down_attn[i])
            add_group (l, block, j, ch[i], contexts[i], n_positions[i], tlayers[i], with_text);
        }
      if (i < n - 1)
        {
          P ("%s.downsamplers.0.conv", block);
          jd_convert_add_conv2d (l, p, ch[i], ch[i], 3);
        }
      prev = ch[i];
    }
  const int64_t top = ch[n - 1];
  jd_convert_add_resnet (l, "mid_block.resnets.0", top, top, temb);
  add_group (l, "mid_block", 0, top, contexts[n - 1], n_positions[n - 1], tlayers[n - 1],
             with_text);
  jd_convert_add_resnet (l, "mid_block.resnets.1", top, top, temb);

  prev = top;
  for (int i = 0; i < n; i++)
    {
      const int r = n - 1 - i;
      const int64_t c = ch[r], skip_in = ch[MAX (r - 1, 0)];
      const int64_t up_layers = layers[r] + 1;
      g_autofree char *block = g_strdup_printf ("up_blocks.%d", i);
      for (int64_t j = 0; j < up_layers; j++)
        {
          const int64_t skip = j == up_layers - 1 ? skip_in : c;
          P ("%s.resnets.%" G_GINT64_FORMAT, block, j);
          jd_convert_add_resnet (l, p, (j == 0 ? prev : c) + skip, c, temb);
          if (up_attn[i])
            add_group (l, block, j, c, contexts[r], n_positions[r], tlayers[r], with_text);
        }
      if (i < n - 1)
        {
          P ("%s.upsamplers.0.conv", block);
          jd_convert_add_conv2d (l, p, c, c, 3);
        }
      prev = c;
    }
  jd_convert_add_norm (l, "conv_norm_out", ch[0]);
  jd_convert_add_conv2d (l, "conv_out", out, ch[0], 3);
  return g_steal_pointer (&l);
}

JdConvertLayout *
jd_convert_layout_autoencoder_kl (JsonObject *config, const char *name, GError **error)
{
  int64_t ch[JD_CONVERT_MAX_BLOCKS], layers, in, out, latent;
  int n = 0;
  if (!jd_convert_vae_config (config, name, ch, &n, &layers, &in, &out, &latent, error))
    return NULL;
  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  jd_convert_add_vae_encoder (l, ch, n, layers, in, latent);
  jd_convert_add_conv2d (l, "post_quant_conv", latent, latent, 1);
  const int64_t top = ch[n - 1];
  jd_convert_add_conv2d (l, "decoder.conv_in", top, latent, 3);
  jd_convert_add_resnet (l, "decoder.mid_block.resnets.0", top, top, 0);
  jd_convert_add_attention (l, "decoder.mid_block.attentions.0", top, top, TRUE, TRUE);
  jd_convert_add_resnet (l, "decoder.mid_block.resnets.1", top, top, 0);
  jd_convert_add_vae_up_blocks (l, ch, n, layers, FALSE);
  jd_convert_add_norm (l, "decoder.conv_norm_out", ch[0]);
  jd_convert_add_conv2d (l, "decoder.conv_out", out, ch[0], 3);
  return g_steal_pointer (&l);
}

static void
add_conv1d (JdConvertLayout *l, const char *prefix, int64_t out, int64_t in, int64_t k)
{
  jd_convert_layout_add (l, prefix, "weight", 3, out, in, k);
  jd_convert_layout_add (l, prefix, "bias", 1, out);
}

JdConvertLayout *
jd_convert_layout_hifigan (JsonObject *config, const char *name, GError **error)
{
  int64_t in, initial, rates[16], kernels[16], res_kernels[16];
  int n_rates = 0, n_kernels = 0, n_res = 0;
  if (!jd_convert_config_int (config, name, "model_in_dim", -1, &in, error)
      || !jd_convert_config_int (config, name, "upsample_initial_channel", -1, &initial, error)
      || !jd_config_int_array (config, name, "upsample_rates", 1, 64, -1, 16, rates, &n_rates,
                               error)
      || !jd_config_int_array (config, name, "upsample_kernel_sizes", 1, 256, -1, 16, kernels,
                               &n_kernels, error)
      || !jd_config_int_array (config, name, "resblock_kernel_sizes", 1, 255, -1, 16,
                               res_kernels, &n_res, error))
    return NULL;
  if (n_kernels != n_rates)
    {
      fail (error, name, "upsample_kernel_sizes", "must have one entry per upsample_rates entry");
      return NULL;
    }
  JsonNode *dil = json_object_get_member (config, "resblock_dilation_sizes");
  if (dil == NULL || !JSON_NODE_HOLDS_ARRAY (dil)
      || json_array_get_length (json_node_get_array (dil)) != (guint) n_res)
    {
      fail (error, name, "resblock_dilation_sizes",
            "must hold one list per resblock_kernel_sizes entry");
      return NULL;
    }
  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  add_conv1d (l, "conv_pre", initial, in, 7);
  int64_t c = initial;
  for (int i = 0; i < n_rates; i++)
    {
      const int64_t next = c / 2;
      {
        P ("upsampler.%d", i);
        /* ConvTranspose1d keeps (in, out, k). */
        jd_convert_layout_add (l, p, "weight", 3, c, next, kernels[i]);
        jd_convert_layout_add (l, p, "bias", 1, next);
      }
      for (int k = 0; k < n_res; k++)
        {
          JsonNode *d = json_array_get_element (json_node_get_array (dil), (guint) k);
          if (!JSON_NODE_HOLDS_ARRAY (d))
            {
              fail (error, name, "resblock_dilation_sizes", "must hold lists of integers");
              return NULL;
            }
          guint n_d = json_array_get_length (json_node_get_array (d));
          for (guint j = 0; j < n_d; j++)
            {
              g_autofree char *c1 = g_strdup_printf ("resblocks.%d.convs1.%u", i * n_res + k, j);
              g_autofree char *c2 = g_strdup_printf ("resblocks.%d.convs2.%u", i * n_res + k, j);
              add_conv1d (l, c1, next, next, res_kernels[k]);
              add_conv1d (l, c2, next, next, res_kernels[k]);
            }
        }
      c = next;
    }
  add_conv1d (l, "conv_post", 1, c, 7);
  jd_convert_layout_add (l, NULL, "mean", 1, in);
  jd_convert_layout_add (l, NULL, "scale", 1, in);
  return g_steal_pointer (&l);
}
