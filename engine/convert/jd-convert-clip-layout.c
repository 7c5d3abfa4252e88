/* CLIP's vision tower with its projection as transformers builds it
 * (CLIPVisionModelWithProjection). */
#include "jd-convert-layout.h"

#include "jd-convert-blocks.h"

JdConvertLayout *
jd_convert_layout_clip_vision (JsonObject *config, const char *name, GError **error)
{
  int64_t hidden, inter, layers, image, patch, channels, proj;
  if (!jd_convert_config_int (config, name, "hidden_size", -1, &hidden, error)
      || !jd_convert_config_int (config, name, "intermediate_size", -1, &inter, error)
      || !jd_convert_config_int (config, name, "num_hidden_layers", -1, &layers, error)
      || !jd_convert_config_int (config, name, "image_size", -1, &image, error)
      || !jd_convert_config_int (config, name, "patch_size", -1, &patch, error)
      || !jd_convert_config_int (config, name, "num_channels", 3, &channels, error)
      || !jd_convert_config_int (config, name, "projection_dim", -1, &proj, error))
    return NULL;
  g_autoptr (JdConvertLayout) l = jd_convert_layout_new ();
  const int64_t positions = (image / MAX (patch, 1)) * (image / MAX (patch, 1)) + 1;
  jd_convert_layout_add (l, NULL, "vision_model.embeddings.class_embedding", 1, hidden);
  jd_convert_layout_add (l, NULL, "vision_model.embeddings.patch_embedding.weight", 4, hidden,
                         channels, patch, patch);
  jd_convert_layout_add (l, NULL, "vision_model.embeddings.position_embedding.weight", 2,
                         positions, hidden);
  jd_convert_add_norm (l, "vision_model.pre_layrnorm", hidden);
  for (int64_t i = 0; i < layers; i++)
    {
      static const char *const projections[] = { "q_proj", "k_proj", "v_proj", "out_proj" };
      for (gsize k = 0; k < G_N_ELEMENTS (projections); k++)
        {
          g_autofree char *p = g_strdup_printf ("vision_model.encoder.layers.%" G_GINT64_FORMAT
                                                ".self_attn.%s", i, projections[k]);
          jd_convert_add_linear (l, p, hidden, hidden, TRUE);
        }
      g_autofree char *base = g_strdup_printf ("vision_model.encoder.layers.%" G_GINT64_FORMAT, i);
      g_autofree char *ln1 = g_strconcat (base, ".layer_norm1", NULL);
      g_autofree char *ln2 = g_strconcat (base, ".layer_norm2", NULL);
      g_autofree char *fc1 = g_strconcat (base, ".mlp.fc1", NULL);
      g_autofree char *fc2 = g_strconcat (base, ".mlp.fc2", NULL);
      jd_convert_add_norm (l, ln1, hidden);
      jd_convert_add_linear (l, fc1, inter, hidden, TRUE);
      jd_convert_add_linear (l, fc2, hidden, inter, TRUE);
      jd_convert_add_norm (l, ln2, hidden);
    }
  jd_convert_add_norm (l, "vision_model.post_layernorm", hidden);
  jd_convert_add_linear (l, "visual_projection", proj, hidden, FALSE);
  return g_steal_pointer (&l);
}
