/* Stable Video Diffusion's UNet and temporal-decoder VAE as diffusers builds them from their
 * config.json (UNetSpatioTemporalConditionModel, AutoencoderKLTemporalDecoder). */
#include "jd-convert-layout.h"

#include "jd-convert-blocks.h"
#include "jd-error.h"

#define P(...) g_autofree char *p = g_strdup_printf (__VA_ARGS__)

/* TransformerSpatioTemporalModel: spatial and temporal transformer layers on the same tokens. */
static void
add_st_transformer (JdConvertLayout *l, const char *prefix, int64_t c, int64_t context,
                    int64_t layers)
{
  g_autofree char *norm = g_strconcat (prefix, ".norm", NULL);
  g_autofree char *proj_in = g_strconcat (prefix, ".proj_in", NULL);
  g_autofree char *proj_out = g_strconcat (prefix, ".proj_out", NULL);
  g_autofree char *pos = g_strconcat (prefix, ".time_pos_embed", NULL);
  jd_convert_add_norm (l, norm, c);
  jd_convert_add_linear (l, proj_in, c, c, TRUE);
  for (int64_t i = 0; i < layers; i++)
    {
      g_autofree char *s = g_strdup_printf ("%s.transformer_blocks.%" G_GINT64_FORMAT, prefix, i);
      jd_convert_add_transformer_block (l, s, c, context);
      g_autofree char *t = g_strdup_printf ("%s.temporal_transformer_blocks.%" G_GINT64_FORMAT,
                                            prefix, i);
      g_autofree char *norm_in = g_strconcat (t, ".norm_in", NULL);
      g_autofree char *ff_in = g_strconcat (t, ".ff_in", NULL);
      jd_convert_add_norm (l, norm_in, c);
      jd_convert_add_feed_forward (l, ff_in, c);
      jd_convert_add_transformer_block (l, t, c, context);
    }
  jd_convert_add_timestep_embedding (l, pos, c, 4 * c, c);
  jd_convert_layout_add (l, prefix, "time_mixer.mix_factor", 1, (int64_t) 1);
  jd_convert_add_linear (l, proj_out, c, c, TRUE);
}

JdConvertLayout *
jd_convert_layout_svd_unet (JsonObject *config, const char *name, GError **error)
{
  int64_t ch[JD_CONVERT_MAX_BLOCKS], layers[JD_CONVERT_MAX_BLOCKS],
          heads[JD_CONVERT_MAX_BLOCKS], tlayers[JD_CONVERT_MAX_BLOCKS];
  int n = 0;
  int64_t in, out, context, add_dim, proj_dim;
  gboolean down_attn[JD_CONVERT_MAX_BLOCKS], up_attn[JD_CONVERT_MAX_BLOCKS];
  if (!jd_convert_config_channels (config, name, ch, &n, error)
      || !jd_convert_config_int (config, name, "in_channels", -1, &in, error)
      || !jd_convert_config_int (config, name, "out_channels", -1, &out, error)
      || !jd_convert_config_int (config, name, "cross_attention_dim", -1, &context, error)
      || !jd_convert_config_int (config, name, "addition_time_embed_dim", -1, &add_dim, error)
      || !jd_convert_config_int (config, name, "projection_class_embeddings_input_dim", -1,
                                 &proj_dim, error)
      || !jd_convert_config_per_block (config, name, "layers_per_block", n, -1, layers, error)
      || !jd_convert_config_per_block (config, name, "num_attention_heads", n, -1, heads, error)
      || !jd_convert_config_per_block (config, name, "transformer_layers_per_block", n, 1,
                                       tlayers, error)
      || !jd_convert_config_block_types (config, name, "down_block_types",
                                         "CrossAttnDownBlockSpatioTemporal",
                                         "DownBlockSpatioTemporal", n, down_attn, error)
      || !jd_convert_config_block_types (config, name, "up_block_types",
                                         "CrossAttnUpBlockSpatioTemporal",
                                         "UpBlockSpatioTemporal", n, up_attn, error))
    return NULL;
  (void) heads;  /* heads split the channels; they change no shape */

  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  const int64_t temb = 4 * ch[0];
  jd_convert_add_conv2d (l, "conv_in", ch[0], in, 3);
  jd_convert_add_timestep_embedding (l, "time_embedding", ch[0], temb, temb);
  jd_convert_add_timestep_embedding (l, "add_embedding", proj_dim, temb, temb);

  int64_t prev = ch[0];
  for (int i = 0; i < n; i++)
    {
      for (int64_t j = 0; j < layers[i]; j++)
        {
          P ("down_blocks.%d.resnets.%" G_GINT64_FORMAT, i, j);
          jd_convert_add_st_resnet (l, p, j == 0 ? prev : ch[i], ch[i], temb);
          if (down_attn[i])
            {
              g_autofree char *a = g_strdup_printf ("down_blocks.%d.attentions.%" G_GINT64_FORMAT,
                                                    i, j);
              add_st_transformer (l, a, ch[i], context, tlayers[i]);
            }
        }
      if (i < n - 1)
        {
          P ("down_blocks.%d.downsamplers.0.conv", i);
          jd_convert_add_conv2d (l, p, ch[i], ch[i], 3);
        }
      prev = ch[i];
    }

  const int64_t top = ch[n - 1];
  jd_convert_add_st_resnet (l, "mid_block.resnets.0", top, top, temb);
  add_st_transformer (l, "mid_block.attentions.0", top, context, tlayers[n - 1]);
  jd_convert_add_st_resnet (l, "mid_block.resnets.1", top, top, temb);

  prev = top;
  for (int i = 0; i < n; i++)
    {
      const int r = n - 1 - i;
      const int64_t c = ch[r], skip_in = ch[MAX (r - 1, 0)];
      const int64_t up_layers = layers[r] + 1;
      for (int64_t j = 0; j < up_layers; j++)
        {
          const int64_t skip = j == up_layers - 1 ? skip_in : c;
          P ("up_blocks.%d.resnets.%" G_GINT64_FORMAT, i, j);
          jd_convert_add_st_resnet (l, p, (j == 0 ? prev : c) + skip, c, temb);
          if (up_attn[i])
            {
              g_autofree char *a = g_strdup_printf ("up_blocks.%d.attentions.%" G_GINT64_FORMAT,
                                                    i, j);
              add_st_transformer (l, a, c, context, tlayers[r]);
            }
        }
      if (i < n - 1)
        {
          P ("up_blocks.%d.upsamplers.0.conv", i);
          jd_convert_add_conv2d (l, p, c, c, 3);
        }
      prev = c;
    }
  jd_convert_add_norm (l, "conv_norm_out", ch[0]);
  jd_convert_add_conv2d (l, "conv_out", out, ch[0], 3);
  return g_steal_pointer (&l);
}

void
jd_convert_add_vae_encoder (JdConvertLayout *l, const int64_t *ch, int n, int64_t layers,
                            int64_t in, int64_t latent)
{
  jd_convert_add_conv2d (l, "encoder.conv_in", ch[0], in, 3);
  int64_t prev = ch[0];
  for (int i = 0; i < n; i++)
    {
      for (int64_t j = 0; j < layers; j++)
        {
          P ("encoder.down_blocks.%d.resnets.%" G_GINT64_FORMAT, i, j);
          jd_convert_add_resnet (l, p, j == 0 ? prev : ch[i], ch[i], 0);
        }
      if (i < n - 1)
        {
          P ("encoder.down_blocks.%d.downsamplers.0.conv", i);
          jd_convert_add_conv2d (l, p, ch[i], ch[i], 3);
        }
      prev = ch[i];
    }
  const int64_t top = ch[n - 1];
  jd_convert_add_resnet (l, "encoder.mid_block.resnets.0", top, top, 0);
  jd_convert_add_attention (l, "encoder.mid_block.attentions.0", top, top, TRUE, TRUE);
  jd_convert_add_resnet (l, "encoder.mid_block.resnets.1", top, top, 0);
  jd_convert_add_norm (l, "encoder.conv_norm_out", top);
  jd_convert_add_conv2d (l, "encoder.conv_out", 2 * latent, top, 3);
  jd_convert_add_conv2d (l, "quant_conv", 2 * latent, 2 * latent, 1);
}

gboolean
jd_convert_vae_config (JsonObject *config, const char *name, int64_t *ch, int *n,
                       int64_t *layers, int64_t *in, int64_t *out, int64_t *latent,
                       GError **error)
{
  return jd_convert_config_channels (config, name, ch, n, error)
         && jd_convert_config_int (config, name, "layers_per_block", -1, layers, error)
         && jd_convert_config_int (config, name, "in_channels", -1, in, error)
         && jd_convert_config_int (config, name, "out_channels", -1, out, error)
         && jd_convert_config_int (config, name, "latent_channels", -1, latent, error);
}

JdConvertLayout *
jd_convert_layout_svd_vae (JsonObject *config, const char *name, GError **error)
{
  int64_t ch[JD_CONVERT_MAX_BLOCKS], layers, in, out, latent;
  int n = 0;
  if (!jd_convert_vae_config (config, name, ch, &n, &layers, &in, &out, &latent, error))
    return NULL;
  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  jd_convert_add_vae_encoder (l, ch, n, layers, in, latent);

  const int64_t top = ch[n - 1];
  jd_convert_add_conv2d (l, "decoder.conv_in", top, latent, 3);
  /* MidBlockTemporalDecoder: layers_per_block resnets and one attention (which its forward
   * uses only between resnets, yet it is always built and saved). */
  for (int64_t j = 0; j < layers; j++)
    {
      P ("decoder.mid_block.resnets.%" G_GINT64_FORMAT, j);
      jd_convert_add_st_resnet (l, p, top, top, 0);
    }
  jd_convert_add_attention (l, "decoder.mid_block.attentions.0", top, top, TRUE, TRUE);
  jd_convert_add_vae_up_blocks (l, ch, n, layers, TRUE);
  jd_convert_add_norm (l, "decoder.conv_norm_out", ch[0]);
  jd_convert_add_conv2d (l, "decoder.conv_out", out, ch[0], 3);
  jd_convert_layout_add (l, "decoder.time_conv_out", "weight", 5, out, out, (int64_t) 3,
                         (int64_t) 1, (int64_t) 1);
  jd_convert_layout_add (l, "decoder.time_conv_out", "bias", 1, out);
  return g_steal_pointer (&l);
}
