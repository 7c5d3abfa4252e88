/* diffusers' building blocks as names and shapes. */
#include "jd-convert-blocks.h"

#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"
#include "jd-safetensors.h"
#include "jd-unet-common.h"

void
jd_convert_add_linear (JdConvertLayout *l, const char *prefix, int64_t out, int64_t in,
                       gboolean bias)
{
  jd_convert_layout_add (l, prefix, "weight", 2, out, in);
  if (bias)
    jd_convert_layout_add (l, prefix, "bias", 1, out);
}

void
jd_convert_add_conv2d (JdConvertLayout *l, const char *prefix, int64_t out, int64_t in, int64_t k)
{
  jd_convert_layout_add (l, prefix, "weight", 4, out, in, k, k);
  jd_convert_layout_add (l, prefix, "bias", 1, out);
}

void
jd_convert_add_norm (JdConvertLayout *l, const char *prefix, int64_t channels)
{
  jd_convert_layout_add (l, prefix, "weight", 1, channels);
  jd_convert_layout_add (l, prefix, "bias", 1, channels);
}

static char *
join (const char *prefix, const char *suffix)
{
  return g_strconcat (prefix, ".", suffix, NULL);
}

void
jd_convert_add_resnet (JdConvertLayout *l, const char *prefix, int64_t in, int64_t out,
                       int64_t temb)
{
  g_autofree char *norm1 = join (prefix, "norm1"), *conv1 = join (prefix, "conv1");
  g_autofree char *norm2 = join (prefix, "norm2"), *conv2 = join (prefix, "conv2");
  g_autofree char *proj = join (prefix, "time_emb_proj");
  g_autofree char *shortcut = join (prefix, "conv_shortcut");
  jd_convert_add_norm (l, norm1, in);
  jd_convert_add_conv2d (l, conv1, out, in, 3);
  if (temb > 0)
    jd_convert_add_linear (l, proj, out, temb, TRUE);
  jd_convert_add_norm (l, norm2, out);
  jd_convert_add_conv2d (l, conv2, out, out, 3);
  if (in != out)
    jd_convert_add_conv2d (l, shortcut, out, in, 1);
}

void
jd_convert_add_st_resnet (JdConvertLayout *l, const char *prefix, int64_t in, int64_t out,
                          int64_t temb)
{
  g_autofree char *spatial = join (prefix, "spatial_res_block");
  g_autofree char *temporal = join (prefix, "temporal_res_block");
  jd_convert_add_resnet (l, spatial, in, out, temb);
  g_autofree char *norm1 = join (temporal, "norm1"), *conv1 = join (temporal, "conv1");
  g_autofree char *norm2 = join (temporal, "norm2"), *conv2 = join (temporal, "conv2");
  g_autofree char *proj = join (temporal, "time_emb_proj");
  jd_convert_add_norm (l, norm1, out);
  jd_convert_layout_add (l, conv1, "weight", 5, out, out, (int64_t) 3, (int64_t) 1, (int64_t) 1);
  jd_convert_layout_add (l, conv1, "bias", 1, out);
  if (temb > 0)
    jd_convert_add_linear (l, proj, out, temb, TRUE);
  jd_convert_add_norm (l, norm2, out);
  jd_convert_layout_add (l, conv2, "weight", 5, out, out, (int64_t) 3, (int64_t) 1, (int64_t) 1);
  jd_convert_layout_add (l, conv2, "bias", 1, out);
  jd_convert_layout_add (l, prefix, "time_mixer.mix_factor", 1, (int64_t) 1);
}

void
jd_convert_add_attention (JdConvertLayout *l, const char *prefix, int64_t query_dim,
                          int64_t kv_dim, gboolean qkv_bias, gboolean norm)
{
  g_autofree char *q = join (prefix, "to_q"), *k = join (prefix, "to_k");
  g_autofree char *v = join (prefix, "to_v"), *o = join (prefix, "to_out.0");
  g_autofree char *gn = join (prefix, "group_norm");
  if (norm)
    jd_convert_add_norm (l, gn, query_dim);
  jd_convert_add_linear (l, q, query_dim, query_dim, qkv_bias);
  jd_convert_add_linear (l, k, query_dim, kv_dim, qkv_bias);
  jd_convert_add_linear (l, v, query_dim, kv_dim, qkv_bias);
  jd_convert_add_linear (l, o, query_dim, query_dim, TRUE);
}

void
jd_convert_add_feed_forward (JdConvertLayout *l, const char *prefix, int64_t dim)
{
  g_autofree char *proj = join (prefix, "net.0.proj"), *out = join (prefix, "net.2");
  jd_convert_add_linear (l, proj, 8 * dim, dim, TRUE);
  jd_convert_add_linear (l, out, dim, 4 * dim, TRUE);
}

void
jd_convert_add_transformer_block (JdConvertLayout *l, const char *prefix, int64_t dim,
                                  int64_t context_dim)
{
  g_autofree char *norm1 = join (prefix, "norm1"), *attn1 = join (prefix, "attn1");
  g_autofree char *norm2 = join (prefix, "norm2"), *attn2 = join (prefix, "attn2");
  g_autofree char *norm3 = join (prefix, "norm3"), *ff = join (prefix, "ff");
  jd_convert_add_norm (l, norm1, dim);
  jd_convert_add_attention (l, attn1, dim, dim, FALSE, FALSE);
  jd_convert_add_norm (l, norm2, dim);
  jd_convert_add_attention (l, attn2, dim, context_dim, FALSE, FALSE);
  jd_convert_add_norm (l, norm3, dim);
  jd_convert_add_feed_forward (l, ff, dim);
}

void
jd_convert_add_timestep_embedding (JdConvertLayout *l, const char *prefix, int64_t in,
                                   int64_t hidden, int64_t out)
{
  g_autofree char *l1 = join (prefix, "linear_1"), *l2 = join (prefix, "linear_2");
  jd_convert_add_linear (l, l1, hidden, in, TRUE);
  jd_convert_add_linear (l, l2, out, hidden, TRUE);
}

void
jd_convert_add_vae_up_blocks (JdConvertLayout *l, const int64_t *ch, int n, int64_t layers,
                              gboolean temporal)
{
  int64_t prev = ch[n - 1];
  for (int i = 0; i < n; i++)
    {
      const int64_t c = ch[n - 1 - i];
      for (int64_t j = 0; j < layers + 1; j++)
        {
          g_autofree char *p = g_strdup_printf ("decoder.up_blocks.%d.resnets.%" G_GINT64_FORMAT,
                                                i, j);
          if (temporal)
            jd_convert_add_st_resnet (l, p, j == 0 ? prev : c, c, 0);
          else
            jd_convert_add_resnet (l, p, j == 0 ? prev : c, c, 0);
        }
      if (i < n - 1)
        {
          g_autofree char *p = g_strdup_printf ("decoder.up_blocks.%d.upsamplers.0.conv", i);
          jd_convert_add_conv2d (l, p, c, c, 3);
        }
      prev = c;
    }
}

gboolean
jd_convert_config_per_block (JsonObject *config, const char *config_name, const char *key,
                             int n_blocks, int64_t default_value, int64_t *out, GError **error)
{
  return jd_unet_config_per_block (config, config_name, key, n_blocks, 1, 1 << 16, default_value,
                                   out, error);
}

gboolean
jd_convert_config_channels (JsonObject *config, const char *config_name, int64_t *channels,
                            int *n, GError **error)
{
  return jd_config_int_array (config, config_name, "block_out_channels", 1, 1 << 16, -1,
                              JD_CONVERT_MAX_BLOCKS, channels, n, error);
}

gboolean
jd_convert_config_int (JsonObject *config, const char *config_name, const char *key,
                       int64_t default_value, int64_t *out, GError **error)
{
  if (default_value >= 0 && !jd_config_has (config, key))
    {
      *out = default_value;
      return TRUE;
    }
  return jd_config_int (config, config_name, key, 0, 1 << 24, out, error);
}

gboolean
jd_convert_config_block_types (JsonObject *config, const char *config_name, const char *key,
                               const char *with_attention, const char *plain, int n,
                               gboolean *has_attention, GError **error)
{
  g_auto (GStrv) types = jd_config_string_array (config, config_name, key, error);
  if (types == NULL)
    return FALSE;
  if ((int) g_strv_length (types) != n)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s: %s lists %u block types, but block_out_channels has %d entries",
                   config_name, key, g_strv_length (types), n);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      if (with_attention != NULL && strcmp (types[i], with_attention) == 0)
        has_attention[i] = TRUE;
      else if (strcmp (types[i], plain) == 0)
        has_attention[i] = FALSE;
      else
        {
          g_autofree char *q = jd_safetensors_quote (types[i]);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: %s[%d] is “%s”; the converter knows %s%s%s", config_name, key, i, q,
                       plain, with_attention ? " and " : "", with_attention ? with_attention : "");
          return FALSE;
        }
    }
  return TRUE;
}
