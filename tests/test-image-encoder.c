/* The CLIP image encoder against the reference's float64 golden, and its errors. */
#include <math.h>
#include <string.h>

#include "jd-clip-preprocess.h"
#include "jd-config-read.h"
#include "jd-error.h"
#include "jd-image-encoder.h"
#include "parity-fixtures.h"

static void
test_parity (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_parity_weights ();
  g_autoptr (JdSafetensors) golden = jd_parity_golden ();
  g_autoptr (JsonObject) root = jd_parity_config (file);
  g_autoptr (JdWeights) weights = jd_weights_new (file, jd_test_backend ());
  JsonObject *object = jd_config_object (root, "config", "image_encoder", &error);
  g_assert_no_error (error);
  JdImageEncoderConfig config;
  g_assert_true (jd_image_encoder_config_read (object, "image_encoder", &config, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.hidden_act, ==, JD_CLIP_ACT_GELU);
  g_autoptr (JdImageEncoder) encoder = jd_image_encoder_new (weights, &config, "image_encoder",
                                                             &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) pixels = jd_parity_tensor (golden, "image_encoder.in");
  g_autoptr (JdTensor) embeds = jd_image_encoder_run (encoder, pixels, &error);
  g_assert_no_error (error);
  gsize n;
  g_autofree double *want = jd_parity_expected (golden, "image_encoder.out", &n);
  g_assert_cmpint (embeds->shape[1], ==, config.projection_dim);
  g_assert_cmpuint ((gsize) jd_tensor_numel (embeds), ==, n);
  g_test_message ("image encoder parity: err %.3g over %zu values",
                  jd_test_rel_error (embeds->data, want, n), n);
  jd_test_assert_close (embeds->data, want, n, 1e-4);

  /* A batch of two: the golden image and its negation, each as alone. */
  const int64_t per = jd_tensor_numel (pixels);
  g_autoptr (JdTensor) pair = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, 4,
                                             (int64_t[]) { 2, 3, pixels->shape[2],
                                                           pixels->shape[3] }, &error);
  g_autoptr (JdTensor) negated = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, 4,
                                                pixels->shape, &error);
  for (int64_t i = 0; i < per; i++)
    {
      ((float *) pair->data)[i] = ((float *) pixels->data)[i];
      ((float *) pair->data)[per + i] = ((float *) negated->data)[i] = -((float *) pixels->data)[i];
    }
  g_autoptr (JdTensor) pair_out = jd_image_encoder_run (encoder, pair, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) negated_out = jd_image_encoder_run (encoder, negated, &error);
  g_assert_no_error (error);
  jd_test_assert_close (pair_out->data, want, n, 1e-4);
  g_autofree double *negated_want = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    negated_want[i] = ((float *) negated_out->data)[i];
  jd_test_assert_close ((float *) pair_out->data + n, negated_want, n, 1e-5);

  /* quick_gelu changes the result (the activation is really read from the config). */
  config.hidden_act = JD_CLIP_ACT_QUICK_GELU;
  g_autoptr (JdImageEncoder) quick = jd_image_encoder_new (weights, &config, "image_encoder",
                                                           &error);
  g_autoptr (JdTensor) other = jd_image_encoder_run (quick, pixels, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (jd_test_rel_error (other->data, want, n), >, 1e-3);

  /* Wrong pixel size: refused, naming both shapes. */
  const int64_t bad_shape[4] = { 1, 3, 15, 15 };
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (JdTensor) bad = jd_test_tensor_random (rng, -1, 1, 4, bad_shape);
  g_autoptr (JdTensor) none = jd_image_encoder_run (encoder, bad, &error);
  g_assert_null (none);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "[1, 3, 15, 15]"));
}

static void
test_config_errors (void)
{
  static const char *const cases[][2] = {
    { "{\"hidden_size\": 30, \"intermediate_size\": 64, \"num_hidden_layers\": 1,"
      " \"num_attention_heads\": 4, \"image_size\": 16, \"patch_size\": 8, \"num_channels\": 3,"
      " \"projection_dim\": 8, \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-5}",
      "num_attention_heads 4" },
    { "{\"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1,"
      " \"num_attention_heads\": 4, \"image_size\": 16, \"patch_size\": 8, \"num_channels\": 3,"
      " \"projection_dim\": 8, \"hidden_act\": \"relu\", \"layer_norm_eps\": 1e-5}",
      "image_encoder.hidden_act" },
    { "{\"hidden_size\": 32}", "image_encoder.intermediate_size" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, cases[i][0], -1, NULL));
      JdImageEncoderConfig config;
      g_assert_false (jd_image_encoder_config_read (
        json_node_get_object (json_parser_get_root (parser)), "image_encoder", &config, &error));
      if (strstr (error->message, cases[i][1]) == NULL)
        g_error ("case %zu: \"%s\" does not mention %s", i, error->message, cases[i][1]);
    }
}

static void
test_preprocess (void)
{
  /* Against the reference (diffusers' antialiased resize + CLIP normalisation, float64),
   * shrinking 37×53 and enlarging 5×7 to 16×16. */
  g_autoptr (JdSafetensors) golden = jd_reference_fixture ("decoders-golden.safetensors");
  static const char *const cases[] = { "preprocess.down", "preprocess.up" };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *in_name = g_strconcat (cases[i], ".in", NULL);
      g_autofree char *out_name = g_strconcat (cases[i], ".out", NULL);
      g_autoptr (JdTensor) rgb = jd_parity_tensor (golden, in_name);
      gsize n;
      g_autofree double *want = jd_parity_expected (golden, out_name, &n);
      g_assert_cmpuint (n, ==, 3 * 16 * 16);
      float out[3 * 16 * 16];
      for (gsize j = 0; j < n; j++)
        out[j] = NAN;
      g_assert_true (jd_clip_preprocess (rgb->data, (int) rgb->shape[2], (int) rgb->shape[3], 16,
                                         out, &error));
      g_assert_no_error (error);
      g_test_message ("%s: err %.3g", cases[i], jd_test_rel_error (out, want, n));
      jd_test_assert_close (out, want, n, 1e-5);
    }

  /* A constant image stays constant through the resize; normalisation maps CLIP's mean to 0. */
  float grey[3 * 9 * 40], out[3 * 8 * 8];
  for (int c = 0; c < 3; c++)
    for (int j = 0; j < 9 * 40; j++)
      grey[c * 9 * 40 + j] = jd_clip_mean[c];
  g_assert_true (jd_clip_preprocess (grey, 9, 40, 8, out, NULL));
  for (int j = 0; j < 3 * 8 * 8; j++)
    g_assert_cmpfloat (fabsf (out[j]), <=, 1e-5);

  /* Too small to blur, or no size: refused with the sizes named. */
  g_autoptr (GError) error = NULL;
  g_assert_false (jd_clip_resize (grey, 3, 1, 40, 8, out, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "40×1"));
  g_clear_error (&error);
  g_assert_false (jd_clip_preprocess (grey, 9, 40, 0, out, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image-encoder/parity", test_parity);
  g_test_add_func ("/image-encoder/config-errors", test_config_errors);
  g_test_add_func ("/image-encoder/preprocess", test_preprocess);
  return g_test_run ();
}
