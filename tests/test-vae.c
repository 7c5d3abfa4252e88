/* The video and audio VAEs against the reference's float64 goldens, and their errors. */
#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"
#include "jd-vae.h"
#include "parity-fixtures.h"

typedef struct {
  JdSafetensors *file;
  JdSafetensors *golden;
  JsonObject    *root;
  JdWeights     *weights;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->file = jd_parity_weights ();
  f->golden = jd_parity_golden ();
  f->root = jd_parity_config (f->file);
  f->weights = jd_weights_new (f->file, jd_test_backend ());
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  jd_weights_free (f->weights);
  json_object_unref (f->root);
  jd_safetensors_free (f->golden);
  jd_safetensors_free (f->file);
}

static JdVae *
open_vae (Fixture *f, JdVaeKind kind, JdVaeConfig *config)
{
  g_autoptr (GError) error = NULL;
  const char *key = kind == JD_VAE_VIDEO ? "video_vae" : "audio_vae";
  JsonObject *object = jd_config_object (f->root, "config", key, &error);
  g_assert_no_error (error);
  g_assert_true (jd_vae_config_read (object, key, config, &error));
  g_assert_no_error (error);
  JdVae *vae = jd_vae_new (f->weights, kind, config,
                           kind == JD_VAE_VIDEO ? "video.vae" : "audio.vae", &error);
  g_assert_no_error (error);
  return vae;
}

static void
check (Fixture *f, const char *what, const JdTensor *have, const char *golden_name)
{
  gsize n;
  g_autofree double *want = jd_parity_expected (f->golden, golden_name, &n);
  g_assert_cmpuint ((gsize) jd_tensor_numel (have), ==, n);
  double err = jd_test_rel_error (have->data, want, n);
  g_test_message ("%s parity: err %.3g over %zu values", what, err, n);
  jd_test_assert_close (have->data, want, n, 1e-4);
}

static void
test_video (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  JdVaeConfig config;
  g_autoptr (JdVae) vae = open_vae (f, JD_VAE_VIDEO, &config);
  g_assert_cmpint (jd_vae_factor (vae), ==, 2);
  g_assert_cmpfloat (config.scaling_factor, ==, 0.18215);

  g_autoptr (JdTensor) image = jd_parity_tensor (f->golden, "video_vae.encode.in");
  g_autoptr (JdTensor) latent = jd_vae_encode (vae, image, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent->shape[1], ==, 4);
  check (f, "video VAE encode", latent, "video_vae.encode.out");

  g_autoptr (JdTensor) z = jd_parity_tensor (f->golden, "video_vae.decode.in");
  g_autoptr (JdTensor) frames = jd_vae_decode (vae, z, (int) z->shape[0], &error);
  g_assert_no_error (error);
  check (f, "video VAE decode", frames, "video_vae.decode.out");

  /* Decoding frames apart gives other values (the temporal norms and convs span frames), and
   * a frame count that does not divide the batch is refused. */
  g_autoptr (JdTensor) apart = jd_vae_decode (vae, z, 1, &error);
  g_assert_no_error (error);
  gsize n;
  g_autofree double *want = jd_parity_expected (f->golden, "video_vae.decode.out", &n);
  g_assert_cmpfloat (jd_test_rel_error (apart->data, want, n), >, 1e-3);
  /* Two samples in one batch decode as each alone: the temporal layers keep samples apart. */
  const int64_t f5 = z->shape[0], per = jd_tensor_numel (z) / f5;
  g_autoptr (JdTensor) pair = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, 4,
                                             (int64_t[]) { 2 * f5, 4, z->shape[2], z->shape[3] },
                                             &error);
  float *zp = pair->data;
  for (int64_t i = 0; i < f5 * per; i++)
    {
      zp[i] = ((float *) z->data)[i];
      zp[f5 * per + i] = -0.5f * ((float *) z->data)[(i + per) % (f5 * per)];
    }
  g_autoptr (JdTensor) second = jd_tensor_new_view (pair->backend, JD_DTYPE_F32, 4, z->shape,
                                                    zp + f5 * per);
  g_autoptr (JdTensor) pair_out = jd_vae_decode (vae, pair, (int) f5, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) second_out = jd_vae_decode (vae, second, (int) f5, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (jd_test_rel_error (pair_out->data, want, n), <=, 1e-4);
  g_autofree double *second_want = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    second_want[i] = ((float *) second_out->data)[i];
  jd_test_assert_close ((float *) pair_out->data + n, second_want, n, 1e-5);

  g_autoptr (JdTensor) refused = jd_vae_decode (vae, z, 3, &error);
  g_assert_null (refused);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "3 frames"));
  g_clear_error (&error);
  g_autoptr (JdTensor) wrong = jd_vae_encode (vae, z, &error);
  g_assert_null (wrong);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "[5, 4, 8, 8]"));
}

static void
test_audio (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  JdVaeConfig config;
  g_autoptr (JdVae) vae = open_vae (f, JD_VAE_AUDIO, &config);
  g_autoptr (JdTensor) mel = jd_parity_tensor (f->golden, "audio_vae.encode.in");
  g_autoptr (JdTensor) latent = jd_vae_encode (vae, mel, &error);
  g_assert_no_error (error);
  check (f, "audio VAE encode", latent, "audio_vae.encode.out");
  g_autoptr (JdTensor) z = jd_parity_tensor (f->golden, "audio_vae.decode.in");
  g_autoptr (JdTensor) out = jd_vae_decode (vae, z, 0, &error);
  g_assert_no_error (error);
  check (f, "audio VAE decode", out, "audio_vae.decode.out");
}

static void
test_video_two_layers (void)
{
  /* Two layers per block: the temporal decoder's mid attention runs between its resnets. */
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_reference_fixture ("decoders.safetensors");
  g_autoptr (JdSafetensors) golden = jd_reference_fixture ("decoders-golden.safetensors");
  g_autoptr (JsonObject) root = jd_fixture_config (file);
  g_autoptr (JdWeights) weights = jd_weights_new (file, jd_test_backend ());
  JsonObject *object = jd_config_object (root, "config", "video_vae", &error);
  g_assert_no_error (error);
  JdVaeConfig config;
  g_assert_true (jd_vae_config_read (object, "video_vae", &config, &error));
  g_assert_cmpint (config.layers_per_block, ==, 2);
  g_autoptr (JdVae) vae = jd_vae_new (weights, JD_VAE_VIDEO, &config, "video.vae", &error);
  g_assert_no_error (error);
  Fixture f = { .golden = golden };
  g_autoptr (JdTensor) image = jd_parity_tensor (golden, "video_vae.encode.in");
  g_autoptr (JdTensor) latent = jd_vae_encode (vae, image, &error);
  g_assert_no_error (error);
  check (&f, "video VAE (2 layers) encode", latent, "video_vae.encode.out");
  g_autoptr (JdTensor) z = jd_parity_tensor (golden, "video_vae.decode.in");
  g_autoptr (JdTensor) frames = jd_vae_decode (vae, z, 3, &error);
  g_assert_no_error (error);
  check (&f, "video VAE (2 layers) decode", frames, "video_vae.decode.out");
}

static void
test_mismatch (Fixture *f, gconstpointer data)
{
  /* A config wider than the file names the first tensor that does not fit. */
  g_autoptr (GError) error = NULL;
  JsonObject *object = jd_config_object (f->root, "config", "audio_vae", &error);
  JdVaeConfig config;
  g_assert_true (jd_vae_config_read (object, "audio_vae", &config, &error));
  config.block_out_channels[0] = 64;
  g_autoptr (JdVae) vae = jd_vae_new (f->weights, JD_VAE_AUDIO, &config, "audio.vae", &error);
  g_assert_null (vae);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "audio.vae.encoder.conv_in.weight"));
  g_clear_error (&error);
  /* A config missing a key names its path. */
  g_autoptr (JsonObject) empty = json_object_new ();
  g_assert_false (jd_vae_config_read (empty, "video_vae", &config, &error));
  g_assert_nonnull (strstr (error->message, "video_vae.in_channels"));
}

static void
check_published (const char *layout, JdVaeKind kind, const char *config_json, guint expected)
{
  g_autofree char *path = jd_published_layout_find (layout);
  if (path == NULL)
    {
      g_test_skip ("shared/reference/*.tensors.tsv (published layouts) not found above the "
                   "source folder");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree float *buffer = NULL;
  g_autoptr (JdWeights) weights = jd_weights_new (NULL, jd_test_backend ());
  guint n = jd_published_layout_fill (weights, path, &buffer, NULL);
  g_assert_cmpuint (n, ==, expected);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, config_json, -1, &error));
  JdVaeConfig config;
  g_assert_true (jd_vae_config_read (json_node_get_object (json_parser_get_root (parser)), "vae",
                                     &config, &error));
  g_autoptr (JdVae) vae = jd_vae_new (weights, kind, &config, "", &error);
  g_assert_no_error (error);
  /* Every published tensor is used, each with its published shape. */
  g_assert_cmpuint (jd_weights_get_n_loaded (weights), ==, n);
  g_clear_pointer (&vae, jd_vae_free);
  g_clear_pointer (&weights, jd_weights_free);
}

static void
test_published_layouts (void)
{
  /* The published configs of SVD's and AudioLDM2's VAEs (FACTS.md). */
  check_published ("svd-xt.vae.tensors.tsv", JD_VAE_VIDEO,
                   "{\"in_channels\": 3, \"out_channels\": 3,"
                   " \"block_out_channels\": [128, 256, 512, 512], \"layers_per_block\": 2,"
                   " \"latent_channels\": 4, \"norm_num_groups\": 32,"
                   " \"scaling_factor\": 0.18215}", 374);
  check_published ("audioldm2.vae.tensors.tsv", JD_VAE_AUDIO,
                   "{\"in_channels\": 1, \"out_channels\": 1,"
                   " \"block_out_channels\": [128, 256, 512], \"layers_per_block\": 2,"
                   " \"latent_channels\": 8, \"norm_num_groups\": 32,"
                   " \"scaling_factor\": 0.4110932946205139}", 204);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/vae/video", Fixture, NULL, fixture_set_up, test_video, fixture_tear_down);
  g_test_add ("/vae/audio", Fixture, NULL, fixture_set_up, test_audio, fixture_tear_down);
  g_test_add_func ("/vae/video-two-layers", test_video_two_layers);
  g_test_add_func ("/vae/published-layouts", test_published_layouts);
  g_test_add ("/vae/mismatch", Fixture, NULL, fixture_set_up, test_mismatch, fixture_tear_down);
  return g_test_run ();
}
