/* The video and audio UNets against the float64 goldens of the PyTorch reference
 * (tests/fixtures/reference, written by tools/reference/make_parity_fixtures.py: the UNets are
 * called on the raw inputs, c_in already folded into in.video_sample), and their failures on
 * bundles that do not fit the config. */
#include <string.h>

#include <glib/gstdio.h>

#include "jd-audio-unet.h"
#include "jd-bundle.h"
#include "jd-error.h"
#include "jd-video-unet.h"
#include "parity-fixtures.h"
#include "test-util.h"

#define PARITY_LIMIT 1e-4

typedef struct {
  JsonObject    *config;
  JdSafetensors *file;
  JdSafetensors *golden;
  JdWeights     *weights;
} Fixtures;

static void
fixtures_open (Fixtures *fx)
{
  fx->file = jd_parity_weights ();
  fx->config = jd_parity_config (fx->file);
  fx->golden = jd_parity_golden ();
  fx->weights = jd_weights_new (fx->file, jd_test_backend ());
}

static void
fixtures_close (Fixtures *fx)
{
  g_clear_pointer (&fx->weights, jd_weights_free);
  g_clear_pointer (&fx->golden, jd_safetensors_free);
  g_clear_pointer (&fx->file, jd_safetensors_free);
  g_clear_pointer (&fx->config, json_object_unref);
}

static JdTensor *
golden_tensor (Fixtures *fx, const char *name)
{
  return jd_parity_tensor (fx->golden, name);
}

static void
assert_matches_golden (Fixtures *fx, const JdTensor *out, const char *name)
{
  gsize n = 0;
  g_autofree double *ref = jd_parity_expected (fx->golden, name, &n);
  g_assert_cmpuint (n, ==, (gsize) jd_tensor_numel (out));
  g_test_message ("%s: err = %.3g", name, jd_test_rel_error (out->data, ref, n));
  jd_test_assert_close (out->data, ref, n, PARITY_LIMIT);
}

static JsonObject *
config_object (Fixtures *fx, const char *key)
{
  return json_object_get_object_member (fx->config, key);
}

static void
test_audio_unet_parity (void)
{
  Fixtures fx = { 0 };
  fixtures_open (&fx);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdAudioUNet) unet = jd_audio_unet_new (fx.weights, config_object (&fx, "audio_unet"),
                                                    "audio_unet", "audio.unet", &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) sample = golden_tensor (&fx, "in.audio_sample");
  g_autoptr (JdTensor) timestep = golden_tensor (&fx, "in.audio_timestep");
  g_autoptr (JdTensor) image = golden_tensor (&fx, "in.image_embeds");
  g_autoptr (JdTensor) out = jd_audio_unet_forward (unet, sample, timestep, image, &error);
  g_assert_no_error (error);
  assert_matches_golden (&fx, out, "audio_unet.out");
  fixtures_close (&fx);
}

/* The whole video UNet against the golden; then stage by stage, as the JointDiT assembly runs
 * it, replacing the last skip of each stage with its own output (what a Joint Block that changes
 * nothing would do): that must equal the whole forward bit for bit. (One test, so the program
 * stays fast under the sanitizers.) */
static void
test_video_unet_parity_and_stages (void)
{
  Fixtures fx = { 0 };
  fixtures_open (&fx);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdVideoUNet) unet = jd_video_unet_new (fx.weights, config_object (&fx, "video_unet"),
                                                    "video_unet", "video.unet", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_video_unet_get_n_stages (unet), ==, 6);
  g_assert_cmpstr (jd_video_unet_get_stage_name (unet, 0), ==, "conv_in");
  g_assert_cmpstr (jd_video_unet_get_stage_name (unet, 2), ==, "down_blocks.1");
  g_assert_cmpint (jd_video_unet_find_stage (unet, "mid_block"), ==, 5);
  g_assert_cmpint (jd_video_unet_find_stage (unet, "up_blocks.0"), ==, -1);
  g_autoptr (JdTensor) sample = golden_tensor (&fx, "in.video_sample");
  g_autoptr (JdTensor) timestep = golden_tensor (&fx, "in.video_timestep");
  g_autoptr (JdTensor) context = golden_tensor (&fx, "in.video_context");
  g_autoptr (JdTensor) ids = golden_tensor (&fx, "in.added_time_ids");
  g_autoptr (JdTensor) whole = jd_video_unet_forward (unet, sample, timestep, context, ids, &error);
  g_assert_no_error (error);
  assert_matches_golden (&fx, whole, "video_unet.out");

  const int frames = (int) sample->shape[1];
  g_autoptr (JdTensor) temb = jd_video_unet_embed (unet, timestep, ids, frames, &error);
  g_assert_no_error (error);
  const int64_t rows = sample->shape[0] * frames;
  g_assert_cmpint (temb->shape[0], ==, rows);
  g_assert_cmpint (temb->shape[1], ==, jd_video_unet_get_temb_channels (unet));
  g_autoptr (GPtrArray) skips = jd_unet_skips_new ();
  JdTensor *h = jd_tensor_view_as (sample, 4, (int64_t[]) { rows, sample->shape[2],
                                                            sample->shape[3], sample->shape[4] });
  for (guint stage = 0; stage < jd_video_unet_get_n_stages (unet); stage++)
    {
      guint before = skips->len;
      JdTensor *next = jd_video_unet_run_stage (unet, stage, h, skips, temb, context, frames,
                                                &error);
      g_assert_no_error (error);
      g_assert_cmpint (next->shape[1], ==, jd_video_unet_get_stage_channels (unet, stage));
      jd_tensor_free (h);
      h = next;
      if (skips->len > before)
        {
          g_assert_true (jd_unet_skips_replace_last (skips, h, &error));
          g_assert_no_error (error);
        }
    }
  /* A stage that does not exist is refused. */
  g_assert_null (jd_video_unet_run_stage (unet, 6, h, skips, temb, context, frames, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A skip of another shape is refused, naming both shapes. */
  g_autoptr (JdTensor) odd = jd_tensor_new_f32 (jd_test_backend (), &error, 4, (int64_t) 1,
                                                (int64_t) 2, (int64_t) 3, (int64_t) 4);
  g_assert_false (jd_unet_skips_replace_last (skips, odd, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "[1, 2, 3, 4]"));
  g_clear_error (&error);

  g_autoptr (JdTensor) out = jd_video_unet_decode (unet, h, skips, temb, context, frames, &error);
  g_assert_no_error (error);
  jd_tensor_free (h);
  g_assert_cmpuint (skips->len, ==, 0);
  g_assert_cmpint (jd_tensor_numel (out), ==, jd_tensor_numel (whole));
  g_assert_cmpmem (out->data, jd_tensor_nbytes (out), whole->data, jd_tensor_nbytes (whole));

  /* Decoding again without skips fails with a sentence, not a crash. */
  g_autoptr (JdTensor) again = jd_video_unet_decode (unet, out, skips, temb, context, frames,
                                                     &error);
  g_assert_null (again);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  fixtures_close (&fx);
}

/* The null condition skips image_proj: temb(image) − temb(null) = image_proj(image). */
static void
test_audio_unet_null_condition (void)
{
  Fixtures fx = { 0 };
  fixtures_open (&fx);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdAudioUNet) unet = jd_audio_unet_new (fx.weights, config_object (&fx, "audio_unet"),
                                                    "audio_unet", "audio.unet", &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) timestep = golden_tensor (&fx, "in.audio_timestep");
  g_autoptr (JdTensor) image = golden_tensor (&fx, "in.image_embeds");
  g_autoptr (JdTensor) with = jd_audio_unet_embed (unet, timestep, 1, image, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) without = jd_audio_unet_embed (unet, timestep, 1, NULL, &error);
  g_assert_no_error (error);
  JdLinearLayer proj;
  const int64_t e = jd_audio_unet_get_image_embed_dim (unet);
  const int64_t t = jd_audio_unet_get_temb_channels (unet);
  g_assert_true (jd_linear_layer_init (&proj, fx.weights, "audio.unet.image_proj", e, t, TRUE,
                                       &error));
  g_autoptr (JdTensor) projected = jd_linear_layer_forward (&proj, image, &error);
  g_assert_no_error (error);
  g_autofree double *want = g_new (double, t);
  const float *p = projected->data, *w0 = without->data;
  for (int64_t i = 0; i < t; i++)
    want[i] = (double) w0[i] + p[i];
  jd_test_assert_close (with->data, want, (gsize) t, 1e-6);

  /* Image embeddings of the wrong width are refused. */
  g_autoptr (JdTensor) wrong = jd_tensor_new_f32 (jd_test_backend (), &error, 2, (int64_t) 1,
                                                  e + 1);
  g_assert_null (jd_audio_unet_embed (unet, timestep, 1, wrong, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  fixtures_close (&fx);
}

/* A copy of the parity bundle without `drop`, and with `reshape` stored under another shape of
 * the same size. */
static char *
write_altered_bundle (Fixtures *fx, const char *dir, const char *drop, const char *reshape,
                      int ndim, const int64_t *shape)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  for (guint i = 0; i < jd_safetensors_get_n_tensors (fx->file); i++)
    {
      const JdSafetensorsEntry *e = jd_safetensors_get_entry (fx->file, i);
      if (drop != NULL && strcmp (e->name, drop) == 0)
        continue;
      gboolean alter = reshape != NULL && strcmp (e->name, reshape) == 0;
      g_assert_true (jd_safetensors_writer_add (writer, e->name, e->dtype,
                                                alter ? ndim : e->ndim,
                                                alter ? shape : e->shape, e->data, &error));
      g_assert_no_error (error);
    }
  char *path = g_build_filename (dir, "altered.safetensors", NULL);
  g_assert_true (jd_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
  return path;
}

static void
assert_unet_refused (Fixtures *fx, const char *path, gboolean video, const char *const *needles)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (JdWeights) weights = jd_weights_new (file, jd_test_backend ());
  if (video)
    {
      g_autoptr (JdVideoUNet) unet = jd_video_unet_new (weights, config_object (fx, "video_unet"),
                                                        "video_unet", "video.unet", &error);
      g_assert_null (unet);
    }
  else
    {
      g_autoptr (JdAudioUNet) unet = jd_audio_unet_new (weights, config_object (fx, "audio_unet"),
                                                        "audio_unet", "audio.unet", &error);
      g_assert_null (unet);
    }
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  for (int i = 0; needles[i] != NULL; i++)
    if (strstr (error->message, needles[i]) == NULL)
      g_error ("the message “%s” does not mention “%s”", error->message, needles[i]);
}

static void
test_unets_refuse_bad_bundles (void)
{
  Fixtures fx = { 0 };
  fixtures_open (&fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jd-unets-XXXXXX", &error);
  g_assert_no_error (error);

  const char *missing = "video.unet.up_blocks.2.resnets.1.temporal_res_block.conv2.bias";
  g_autofree char *path1 = write_altered_bundle (&fx, dir, missing, NULL, 0, NULL);
  assert_unet_refused (&fx, path1, TRUE,
                       (const char *[]) { missing, "altered.safetensors", "[32]", NULL });
  g_unlink (path1);

  const char *reshaped = "video.unet.down_blocks.1.resnets.0.temporal_res_block.conv1.weight";
  g_autofree char *path2 = write_altered_bundle (&fx, dir, NULL, reshaped, 5,
                                                 (int64_t[]) { 32, 32, 1, 3, 1 });
  assert_unet_refused (&fx, path2, TRUE,
                       (const char *[]) { reshaped, "[32, 32, 1, 3, 1]", "[32, 32, 3, 1, 1]",
                                          NULL });
  g_unlink (path2);

  const char *audio_missing =
    "audio.unet.down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_v.weight";
  g_autofree char *path3 = write_altered_bundle (&fx, dir, audio_missing, NULL, 0, NULL);
  assert_unet_refused (&fx, path3, FALSE, (const char *[]) { audio_missing, NULL });
  g_unlink (path3);
  g_rmdir (dir);
  fixtures_close (&fx);
}

static void
test_unet_config_errors (void)
{
  Fixtures fx = { 0 };
  fixtures_open (&fx);
  g_autoptr (GError) error = NULL;

  g_autoptr (JsonNode) audio = json_node_copy (json_object_get_member (
    fx.config, "audio_unet"));
  json_object_set_boolean_member (json_node_get_object (audio), "text_transformers", TRUE);
  g_assert_null (jd_audio_unet_new (fx.weights, json_node_get_object (audio), "audio_unet",
                                    "audio.unet", &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "text_transformers"));
  g_clear_error (&error);

  g_autoptr (JsonNode) video = json_node_copy (json_object_get_member (
    fx.config, "video_unet"));
  JsonArray *types = json_object_get_array_member (json_node_get_object (video),
                                                   "down_block_types");
  json_array_remove_element (types, 0);
  json_array_add_string_element (types, "CrossAttnDownBlock3D");
  g_assert_null (jd_video_unet_new (fx.weights, json_node_get_object (video), "video_unet",
                                    "video.unet", &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "down_block_types"));
  g_assert_nonnull (strstr (error->message, "CrossAttnDownBlock3D"));
  fixtures_close (&fx);
}

/* ---- Full-scale structure: the published checkpoint layouts ------------------------------ */

static JsonObject *
parse_object (const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (json, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (node));
}

/* The text-context transformers of AudioLDM2 (attentions.{3g+1}, attentions.{3g+2}). */
static gboolean
is_text_transformer (const char *name)
{
  const char *at = strstr (name, ".attentions.");
  if (at == NULL)
    return FALSE;
  return g_ascii_strtoll (at + strlen (".attentions."), NULL, 10) % 3 != 0;
}

static void
test_published_layouts (void)
{
  g_autofree char *svd = jd_published_layout_find ("svd-xt.unet.tensors.tsv");
  g_autofree char *aldm = jd_published_layout_find ("audioldm2.unet.tensors.tsv");
  if (svd == NULL || aldm == NULL)
    {
      g_test_skip ("shared/reference/*.tensors.tsv (published layouts) not found above the "
                   "source folder");
      return;
    }
  g_autoptr (GError) error = NULL;
  {
    g_autofree float *buffer = NULL;
    g_autoptr (JdWeights) weights = jd_weights_new (NULL, jd_test_backend ());
    guint n = jd_published_layout_fill (weights, svd, &buffer, NULL);
    g_autoptr (JsonObject) config = parse_object (
      "{\"in_channels\": 8, \"out_channels\": 4,"
      " \"down_block_types\": [\"CrossAttnDownBlockSpatioTemporal\","
      "   \"CrossAttnDownBlockSpatioTemporal\", \"CrossAttnDownBlockSpatioTemporal\","
      "   \"DownBlockSpatioTemporal\"],"
      " \"up_block_types\": [\"UpBlockSpatioTemporal\", \"CrossAttnUpBlockSpatioTemporal\","
      "   \"CrossAttnUpBlockSpatioTemporal\", \"CrossAttnUpBlockSpatioTemporal\"],"
      " \"block_out_channels\": [320, 640, 1280, 1280], \"layers_per_block\": 2,"
      " \"num_attention_heads\": [5, 10, 20, 20], \"cross_attention_dim\": 1024,"
      " \"transformer_layers_per_block\": 1, \"addition_time_embed_dim\": 256,"
      " \"projection_class_embeddings_input_dim\": 768, \"num_frames\": 25}");
    /* The views are dropped before the buffer; the store only borrows it. */
    g_autoptr (JdVideoUNet) unet = jd_video_unet_new (weights, config, "video_unet", "", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (n, ==, 1428);
    g_assert_cmpuint (jd_weights_get_n_loaded (weights), ==, n);
    g_clear_pointer (&unet, jd_video_unet_free);
    g_clear_pointer (&weights, jd_weights_free);
  }
  {
    g_autofree float *buffer = NULL;
    g_autoptr (JdWeights) weights = jd_weights_new (NULL, jd_test_backend ());
    guint n = jd_published_layout_fill (weights, aldm, &buffer, is_text_transformer);
    g_autoptr (JsonObject) config = parse_object (
      "{\"in_channels\": 8, \"out_channels\": 8,"
      " \"down_block_types\": [\"DownBlock2D\", \"CrossAttnDownBlock2D\","
      "   \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\"],"
      " \"up_block_types\": [\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\","
      "   \"CrossAttnUpBlock2D\", \"UpBlock2D\"],"
      " \"block_out_channels\": [128, 256, 384, 640], \"layers_per_block\": 2,"
      " \"num_attention_heads\": [8, 8, 8, 8],"
      " \"cross_attention_dim\": [[null, 768, 1024], [null, 768, 1024], [null, 768, 1024],"
      "   [null, 768, 1024]],"
      " \"transformer_layers_per_block\": 1, \"norm_num_groups\": 32, \"norm_eps\": 1e-5,"
      " \"text_transformers\": false}");
    g_autoptr (JdAudioUNet) unet = jd_audio_unet_new (weights, config, "audio_unet", "", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (jd_weights_get_n_loaded (weights), ==, n);
    /* 16 groups of transformers (6 down, 1 mid, 9 up) lose 2 text transformers of 26 tensors. */
    g_assert_cmpuint (n, ==, 1520 - 16 * 2 * 26);
    g_clear_pointer (&unet, jd_audio_unet_free);
    g_clear_pointer (&weights, jd_weights_free);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unets/video/parity-and-stages", test_video_unet_parity_and_stages);
  g_test_add_func ("/unets/audio/parity", test_audio_unet_parity);
  g_test_add_func ("/unets/audio/null-condition", test_audio_unet_null_condition);
  g_test_add_func ("/unets/bad-bundles", test_unets_refuse_bad_bundles);
  g_test_add_func ("/unets/config-errors", test_unet_config_errors);
  g_test_add_func ("/unets/published-layouts", test_published_layouts);
  return g_test_run ();
}
