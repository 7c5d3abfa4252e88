/* The converter's expected layouts, built from the published config.json files (committed
 * copies under fixtures/checkpoints/published/), against the published name/shape lists of the
 * same models (copies of the shared/reference tsv files): equal as sets of (name, shape), and the
 * parameter counts the published models have. */
#include <string.h>

#include "jd-convert-config.h"
#include "jd-convert-layout.h"
#include "test-util.h"

static char *
published_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "checkpoints", "published", name, NULL);
}

static JsonObject *
load_config (JsonParser *parser, const char *name)
{
  g_autofree char *path = published_path (name);
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* name → "[shape]" from a published list. */
static GHashTable *
load_tsv (const char *name)
{
  g_autofree char *path = published_path (name);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_auto (GStrv) cols = g_strsplit (lines[i], "\t", 2);
      g_assert_nonnull (cols[1]);
      g_hash_table_insert (table, g_strdup (cols[0]), g_strdup (cols[1]));
    }
  return table;
}

/* Asserts layout (under no prefix) equals the list, naming the first differences. */
static void
assert_layout_equals (JdConvertLayout *layout, GHashTable *expected)
{
  guint mismatches = 0;
  for (guint i = 0; i < jd_convert_layout_get_n (layout); i++)
    {
      const JdConvertTensor *t = jd_convert_layout_get (layout, i);
      g_autofree char *shape = jd_convert_shape_to_string (t->ndim, t->shape);
      const char *want = g_hash_table_lookup (expected, t->name);
      if (want == NULL || strcmp (want, shape) != 0)
        {
          if (mismatches++ < 10)
            g_printerr ("layout has %s %s, the published list %s\n", t->name, shape,
                        want ? want : "does not");
        }
    }
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (jd_convert_layout_lookup (layout, key) == NULL && mismatches++ < 20)
      g_printerr ("the published list has %s, the layout does not\n", (char *) key);
  g_assert_cmpuint (mismatches, ==, 0);
  g_assert_cmpuint (jd_convert_layout_get_n (layout), ==, g_hash_table_size (expected));
}

static void
test_svd_xt_unet (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *config = load_config (parser, "svd-xt.unet.config.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (JdConvertLayout) layout = jd_convert_layout_svd_unet (config, "unet/config.json",
                                                                   &error);
  g_assert_no_error (error);
  g_autoptr (GHashTable) tsv = load_tsv ("svd-xt.unet.tensors.tsv");
  assert_layout_equals (layout, tsv);
  g_assert_cmpint (jd_convert_layout_count_parameters (layout), ==, 1524623082);
}

static void
test_svd_vae (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *config = load_config (parser, "svd-xt.vae.config.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (JdConvertLayout) layout = jd_convert_layout_svd_vae (config, "vae/config.json",
                                                                  &error);
  g_assert_no_error (error);
  g_autoptr (GHashTable) tsv = load_tsv ("svd-xt.vae.tensors.tsv");
  assert_layout_equals (layout, tsv);
  g_assert_cmpint (jd_convert_layout_count_parameters (layout), ==, 97742847);
}

static void
test_audioldm2_unet (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *config = load_config (parser, "audioldm2.unet.config.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (JdConvertLayout) full = jd_convert_layout_audioldm2_unet (config, "unet/config.json",
                                                                       TRUE, 0, &error);
  g_assert_no_error (error);
  g_autoptr (GHashTable) tsv = load_tsv ("audioldm2.unet.tensors.tsv");
  assert_layout_equals (full, tsv);
  g_assert_cmpint (jd_convert_layout_count_parameters (full), ==, 346943496);

  /* The image-conditioned UNet: the text transformers (attentions.{3g+1}, {3g+2}) gone, the
   * rest under its published name, plus image_proj. */
  g_autoptr (JdConvertLayout) image = jd_convert_layout_audioldm2_unet (config, "unet/config.json",
                                                                        FALSE, 1024, &error);
  g_assert_no_error (error);
  guint kept = 0;
  for (guint i = 0; i < jd_convert_layout_get_n (image); i++)
    {
      const JdConvertTensor *t = jd_convert_layout_get (image, i);
      if (g_str_has_prefix (t->name, "image_proj."))
        continue;
      g_assert_nonnull (g_hash_table_lookup (tsv, t->name));
      kept++;
    }
  guint dropped = 0;
  g_autoptr (GRegex) text = g_regex_new ("attentions\\.([0-9]+)\\.", 0, 0, NULL);
  for (guint i = 0; i < jd_convert_layout_get_n (full); i++)
    {
      const JdConvertTensor *t = jd_convert_layout_get (full, i);
      if (jd_convert_layout_lookup (image, t->name) != NULL)
        continue;
      g_autoptr (GMatchInfo) match = NULL;
      g_assert_true (g_regex_match (text, t->name, 0, &match));
      g_autofree char *index = g_match_info_fetch (match, 1);
      g_assert_cmpint (atoi (index) % 3, !=, 0);
      dropped++;
    }
  g_assert_cmpuint (kept + dropped, ==, jd_convert_layout_get_n (full));
  g_assert_cmpuint (dropped, >, 0);
  const JdConvertTensor *proj = jd_convert_layout_lookup (image, "image_proj.weight");
  g_assert_nonnull (proj);
  g_assert_cmpint (proj->shape[0], ==, 512);
  g_assert_cmpint (proj->shape[1], ==, 1024);
  g_assert_nonnull (jd_convert_layout_lookup (image, "image_proj.bias"));
}

static void
test_audioldm2_vae (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *config = load_config (parser, "audioldm2.vae.config.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (JdConvertLayout) layout = jd_convert_layout_autoencoder_kl (config, "vae/config.json",
                                                                         &error);
  g_assert_no_error (error);
  g_autoptr (GHashTable) tsv = load_tsv ("audioldm2.vae.tensors.tsv");
  assert_layout_equals (layout, tsv);
  g_assert_cmpint (jd_convert_layout_count_parameters (layout), ==, 55376873);
}

static void
test_vocoder_and_clip (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *config = load_config (parser, "audioldm2.vocoder.config.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (JdConvertLayout) vocoder = jd_convert_layout_hifigan (config, "vocoder/config.json",
                                                                   &error);
  g_assert_no_error (error);
  /* conv_pre, 5 upsamplers, 15 resblocks × 3 dilations × 2 convs, conv_post: weight + bias
   * each; the mean and scale buffers. */
  g_assert_cmpuint (jd_convert_layout_get_n (vocoder), ==, 2 * (1 + 5 + 15 * 6 + 1) + 2);
  const JdConvertTensor *up = jd_convert_layout_lookup (vocoder, "upsampler.0.weight");
  g_assert_cmpint (up->shape[0], ==, 1024);
  g_assert_cmpint (up->shape[1], ==, 512);
  g_assert_cmpint (up->shape[2], ==, 16);
  g_assert_nonnull (jd_convert_layout_lookup (vocoder, "resblocks.14.convs2.2.weight"));
  const JdConvertTensor *post = jd_convert_layout_lookup (vocoder, "conv_post.weight");
  g_assert_cmpint (post->shape[1], ==, 32);

  g_autoptr (JsonParser) parser2 = json_parser_new ();
  JsonObject *clip_config = load_config (parser2, "clip-vit-h-14.config.json");
  g_autoptr (JdConvertLayout) clip = jd_convert_layout_clip_vision (clip_config,
                                                                    "image_encoder/config.json",
                                                                    &error);
  g_assert_no_error (error);
  g_assert_cmpint (jd_convert_layout_count_parameters (clip), ==, 632076800);
  g_assert_nonnull (jd_convert_layout_lookup (clip, "vision_model.pre_layrnorm.weight"));
  g_assert_nonnull (jd_convert_layout_lookup (clip, "visual_projection.weight"));
  g_assert_null (jd_convert_layout_lookup (clip, "visual_projection.bias"));
}

/* The config a conversion of the published models gets: the target shapes of FACTS.md (25
 * frames of 576×1024 → latent 4×72×128; 4.16 s of audio → latent 8×104×16), AudioLDM2's
 * attention_head_dim read as 8 heads per level, its text positions marked. */
static void
test_published_bundle_config (void)
{
  g_autoptr (JsonParser) pu = json_parser_new (), pv = json_parser_new (),
                         pa = json_parser_new (), pav = json_parser_new (),
                         pc = json_parser_new (), pvoc = json_parser_new ();
  JdConvertConfigInput in = { 0 };
  in.video_unet = load_config (pu, "svd-xt.unet.config.json");
  in.video_vae = load_config (pv, "svd-xt.vae.config.json");
  in.audio_unet = load_config (pa, "audioldm2.unet.config.json");
  in.audio_vae = load_config (pav, "audioldm2.vae.config.json");
  in.image_encoder = load_config (pc, "clip-vit-h-14.config.json");
  in.vocoder = load_config (pvoc, "audioldm2.vocoder.config.json");
  g_autoptr (GError) error = NULL;
  in.n_audio_blocks = 4;
  g_assert_true (jd_convert_audioldm2_heads (in.audio_unet, "unet", 4, in.audio_heads, &error));
  g_assert_true (jd_convert_audioldm2_contexts (in.audio_unet, "unet", 4, in.audio_contexts,
                                                in.audio_positions, &error));
  in.image_embed_dim = 1024;
  in.d_qk = 512;
  in.d_v = 512;
  in.heads = 8;
  in.n_joint_blocks = 4;
  const char *split[] = { "down_blocks.1", "down_blocks.2", "down_blocks.3", "mid_block" };
  for (int k = 0; k < 4; k++)
    in.split_video[k] = in.split_audio[k] = split[k];
  g_autofree char *text = jd_convert_config_build (&in, &error);
  g_assert_no_error (error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  JsonObject *c = json_node_get_object (json_parser_get_root (parser));
  JsonObject *shapes = json_object_get_object_member (c, "shapes");
  g_assert_cmpint (json_object_get_int_member (shapes, "frames"), ==, 25);
  const int64_t video[3] = { 4, 72, 128 }, audio[3] = { 8, 104, 16 };
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpint (json_array_get_int_element (
                         json_object_get_array_member (shapes, "video_latent"), (guint) i), ==,
                       video[i]);
      g_assert_cmpint (json_array_get_int_element (
                         json_object_get_array_member (shapes, "audio_latent"), (guint) i), ==,
                       audio[i]);
    }
  JsonObject *joint = json_object_get_object_member (c, "joint");
  g_assert_cmpfloat (json_object_get_double_member (joint, "audio_latent_seconds"), ==, 0.04);
  JsonObject *unet = json_object_get_object_member (c, "audio_unet");
  JsonArray *heads = json_object_get_array_member (unet, "num_attention_heads");
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (json_array_get_int_element (heads, i), ==, 8);
  g_assert_false (json_object_has_member (unet, "attention_head_dim"));
  JsonArray *dims = json_array_get_array_element (
    json_object_get_array_member (unet, "cross_attention_dim"), 3);
  g_assert_true (json_array_get_null_element (dims, 0));
  g_assert_cmpint (json_array_get_int_element (dims, 2), ==, 1024);
  g_assert_cmpint (json_object_get_int_member (unet, "image_embed_dim"), ==, 1024);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (c, "video_vae"),
                                                 "force_upcast"));
}

static void
test_bad_config (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser,
                                             "{\"block_out_channels\": [32, 64],"
                                             " \"in_channels\": 8, \"out_channels\": 4,"
                                             " \"cross_attention_dim\": 32,"
                                             " \"addition_time_embed_dim\": 8,"
                                             " \"projection_class_embeddings_input_dim\": 24,"
                                             " \"layers_per_block\": 1,"
                                             " \"num_attention_heads\": 2,"
                                             " \"down_block_types\": [\"CrossAttnDownBlockSpatioTemporal\","
                                             "  \"DownBlock3D\"],"
                                             " \"up_block_types\": [\"UpBlockSpatioTemporal\","
                                             "  \"CrossAttnUpBlockSpatioTemporal\"]}", -1, &error));
  JsonObject *config = json_node_get_object (json_parser_get_root (parser));
  g_autoptr (JdConvertLayout) layout = jd_convert_layout_svd_unet (config, "unet/config.json",
                                                                   &error);
  g_assert_null (layout);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "unet/config.json"));
  g_assert_nonnull (strstr (error->message, "down_block_types[1]"));
  g_assert_nonnull (strstr (error->message, "DownBlock3D"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/convert-names/svd-xt-unet", test_svd_xt_unet);
  g_test_add_func ("/convert-names/svd-vae", test_svd_vae);
  g_test_add_func ("/convert-names/audioldm2-unet", test_audioldm2_unet);
  g_test_add_func ("/convert-names/audioldm2-vae", test_audioldm2_vae);
  g_test_add_func ("/convert-names/vocoder-and-clip", test_vocoder_and_clip);
  g_test_add_func ("/convert-names/published-bundle-config", test_published_bundle_config);
  g_test_add_func ("/convert-names/bad-config", test_bad_config);
  return g_test_run ();
}
