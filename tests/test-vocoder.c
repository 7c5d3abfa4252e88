/* The HiFi-GAN vocoder: parity with the reference, weight-norm folding (both spellings), config
 * and argument errors. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "jd-config-read.h"
#include "jd-error.h"
#include "jd-vocoder.h"
#include "jd-weight-norm.h"
#include "parity-fixtures.h"

static void
test_parity (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) weights = jd_parity_weights ();
  g_autoptr (JsonObject) root = jd_parity_config (weights);
  g_autoptr (JdSafetensors) golden = jd_parity_golden ();
  JsonObject *object = jd_config_object (root, "config", "vocoder", &error);
  g_assert_no_error (error);
  JdVocoderConfig config;
  g_assert_true (jd_vocoder_config_read (object, "vocoder", &config, &error));
  g_assert_no_error (error);
  g_assert_cmpint (config.n_stages, ==, 5);
  g_assert_cmpint (config.n_kernels, ==, 3);
  g_assert_cmpint (config.resblock_dilations[2][2], ==, 5);
  g_assert_cmpfloat (config.leaky_relu_slope, ==, 0.1f);

  g_autoptr (JdWeights) store = jd_weights_new (weights, jd_test_backend ());
  g_autoptr (JdVocoder) vocoder = jd_vocoder_new (store, &config, "audio.vocoder", &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) mel = jd_parity_tensor (golden, "vocoder.in");
  g_autoptr (JdTensor) wave = jd_vocoder_run (vocoder, mel, &error);
  g_assert_no_error (error);
  gsize n;
  g_autofree double *expected = jd_parity_expected (golden, "vocoder.out", &n);
  g_assert_cmpint (wave->ndim, ==, 2);
  g_assert_cmpint (wave->shape[1], ==, jd_vocoder_output_length (&config, mel->shape[1]));
  g_assert_cmpuint ((gsize) jd_tensor_numel (wave), ==, n);
  double err = jd_test_rel_error (wave->data, expected, n);
  g_test_message ("vocoder parity: err %.3g over %zu samples", err, n);
  jd_test_assert_close (wave->data, expected, n, 1e-4);

  /* A batch of two (the golden mel and a shifted copy) gives each as alone. */
  const int64_t per = jd_tensor_numel (mel);
  g_autoptr (JdTensor) pair = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, 3,
                                             (int64_t[]) { 2, mel->shape[1], mel->shape[2] },
                                             &error);
  g_autoptr (JdTensor) shifted = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, 3, mel->shape,
                                                &error);
  for (int64_t i = 0; i < per; i++)
    {
      float m = ((float *) mel->data)[i];
      ((float *) pair->data)[i] = m;
      ((float *) pair->data)[per + i] = ((float *) shifted->data)[i] = 0.5f * m - 1.0f;
    }
  g_autoptr (JdTensor) pair_wave = jd_vocoder_run (vocoder, pair, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) shifted_wave = jd_vocoder_run (vocoder, shifted, &error);
  g_assert_no_error (error);
  jd_test_assert_close (pair_wave->data, expected, n, 1e-4);
  g_autofree double *shifted_want = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    shifted_want[i] = ((float *) shifted_wave->data)[i];
  jd_test_assert_close ((float *) pair_wave->data + n, shifted_want, n, 1e-5);
}

static void
test_fold (void)
{
  /* Odd row counts and lengths; against the formula in float64. */
  g_autoptr (GRand) rng = jd_test_rng ();
  const int64_t rows = 5, row_size = 3 * 7;
  float g[5], v[5 * 21], w[5 * 21];
  for (int i = 0; i < rows; i++)
    g[i] = (float) g_rand_double_range (rng, -2, 2);
  for (int i = 0; i < rows * row_size; i++)
    v[i] = (float) g_rand_double_range (rng, -1, 1);
  jd_weight_norm_fold (g, v, rows, row_size, w);
  double expected[5 * 21];
  for (int o = 0; o < rows; o++)
    {
      double norm = 0;
      for (int i = 0; i < row_size; i++)
        norm += (double) v[o * row_size + i] * v[o * row_size + i];
      norm = sqrt (norm);
      for (int i = 0; i < row_size; i++)
        expected[o * row_size + i] = g[o] * (double) v[o * row_size + i] / norm;
    }
  jd_test_assert_close (w, expected, (gsize) (rows * row_size), 1e-6);
  /* Folding in place gives the same. */
  jd_weight_norm_fold (g, v, rows, row_size, v);
  jd_test_assert_close (v, expected, (gsize) (rows * row_size), 1e-6);
}

/* A small vocoder's weights, written plainly and weight-normalised (old spelling for the
 * upsamplers and conv_pre, new spelling for the rest), must give the same waveform. */
static const char small_config[] =
  "{\"model_in_dim\": 6, \"sampling_rate\": 16000, \"upsample_initial_channel\": 8,"
  " \"upsample_rates\": [3, 2], \"upsample_kernel_sizes\": [7, 4],"
  " \"resblock_kernel_sizes\": [3, 5], \"resblock_dilation_sizes\": [[1, 3], [1, 2, 3]],"
  " \"leaky_relu_slope\": 0.2, \"normalize_before\": false}";

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
add_conv (JdSafetensorsWriter *plain, JdSafetensorsWriter *normed, GRand *rng, const char *name,
          int64_t a, int64_t b, int64_t k, int64_t bias_len, gboolean old_spelling)
{
  g_autoptr (GError) error = NULL;
  gsize n = (gsize) (a * b * k);
  g_autofree float *v = g_new (float, n);
  g_autofree float *g = g_new (float, a);
  g_autofree float *w = g_new (float, n);
  g_autofree float *bias = g_new (float, bias_len);
  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int64_t i = 0; i < a; i++)
    g[i] = (float) g_rand_double_range (rng, 0.2, 1.5);
  for (int64_t i = 0; i < bias_len; i++)
    bias[i] = (float) g_rand_double_range (rng, -0.25, 0.25);
  jd_weight_norm_fold (g, v, a, b * k, w);
  const int64_t wshape[3] = { a, b, k }, gshape[3] = { a, 1, 1 };
  g_autofree char *wname = g_strconcat (name, ".weight", NULL);
  g_autofree char *bname = g_strconcat (name, ".bias", NULL);
  g_autofree char *gname = g_strconcat (name, old_spelling ? ".weight_g"
                                        : ".parametrizations.weight.original0", NULL);
  g_autofree char *vname = g_strconcat (name, old_spelling ? ".weight_v"
                                        : ".parametrizations.weight.original1", NULL);
  g_assert_true (jd_safetensors_writer_add_f32 (plain, wname, JD_DTYPE_F32, 3, wshape, w, &error));
  g_assert_true (jd_safetensors_writer_add_f32 (normed, gname, JD_DTYPE_F32, 3, gshape, g,
                                                &error));
  g_assert_true (jd_safetensors_writer_add_f32 (normed, vname, JD_DTYPE_F32, 3, wshape, v,
                                                &error));
  g_assert_true (jd_safetensors_writer_add_f32 (plain, bname, JD_DTYPE_F32, 1, &bias_len, bias,
                                                &error));
  g_assert_true (jd_safetensors_writer_add_f32 (normed, bname, JD_DTYPE_F32, 1, &bias_len, bias,
                                                &error));
}

static JdSafetensors *
write_and_open (JdSafetensorsWriter *writer, const char *dir, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (jd_safetensors_writer_write (writer, path, &error));
  JdSafetensors *file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_unlink (path);
  return file;
}

static void
test_weight_norm_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (JsonObject) object = parse_object (small_config);
  JdVocoderConfig config;
  g_assert_true (jd_vocoder_config_read (object, "vocoder", &config, &error));
  g_assert_no_error (error);

  g_autoptr (JdSafetensorsWriter) plain = jd_safetensors_writer_new ();
  g_autoptr (JdSafetensorsWriter) normed = jd_safetensors_writer_new ();
  add_conv (plain, normed, rng, "v.conv_pre", 8, 6, 7, 8, TRUE);
  for (int i = 0; i < 2; i++)
    {
      int64_t in = 8 >> i, out = 8 >> (i + 1);
      g_autofree char *up = g_strdup_printf ("v.upsampler.%d", i);
      add_conv (plain, normed, rng, up, in, out, config.upsample_kernel_sizes[i], out, TRUE);
      for (int j = 0; j < 2; j++)
        for (int d = 0; d < config.n_dilations[j]; d++)
          for (int which = 1; which <= 2; which++)
            {
              g_autofree char *name = g_strdup_printf ("v.resblocks.%d.convs%d.%d", i * 2 + j,
                                                       which, d);
              add_conv (plain, normed, rng, name, out, out, config.resblock_kernel_sizes[j], out,
                        FALSE);
            }
    }
  add_conv (plain, normed, rng, "v.conv_post", 1, 2, 7, 1, FALSE);

  g_autofree char *dir = g_dir_make_tmp ("jd-vocoder-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (JdSafetensors) plain_file = write_and_open (plain, dir, "plain.safetensors");
  g_autoptr (JdSafetensors) normed_file = write_and_open (normed, dir, "normed.safetensors");
  g_rmdir (dir);

  g_autoptr (JdWeights) plain_store = jd_weights_new (plain_file, jd_test_backend ());
  g_autoptr (JdWeights) normed_store = jd_weights_new (normed_file, jd_test_backend ());
  g_autoptr (JdVocoder) a = jd_vocoder_new (plain_store, &config, "v", &error);
  g_assert_no_error (error);
  g_autoptr (JdVocoder) b = jd_vocoder_new (normed_store, &config, "v", &error);
  g_assert_no_error (error);
  const int64_t mel_shape[3] = { 2, 5, 6 };
  g_autoptr (JdTensor) mel = jd_test_tensor_random (rng, -4, 1, 3, mel_shape);
  g_autoptr (JdTensor) wa = jd_vocoder_run (a, mel, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) wb = jd_vocoder_run (b, mel, &error);
  g_assert_no_error (error);
  /* 5 frames: (5 − 1)·3 − 2·2 + 7 = 15, then (15 − 1)·2 − 2 + 4 = 30. */
  g_assert_cmpint (wa->shape[0], ==, 2);
  g_assert_cmpint (wa->shape[1], ==, 30);
  g_assert_cmpint (jd_vocoder_output_length (&config, 5), ==, 30);
  gsize n = (gsize) jd_tensor_numel (wa);
  g_autofree double *ref = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    {
      ref[i] = ((float *) wa->data)[i];
      g_assert_cmpfloat (fabs (ref[i]), <=, 1.0);
    }
  jd_test_assert_close (wb->data, ref, n, 1e-5);

  /* A missing tensor names all spellings; a wrong mel shape names the shapes. */
  g_autoptr (JdVocoder) none = jd_vocoder_new (plain_store, &config, "w", &error);
  g_assert_null (none);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "w.conv_pre.weight_g"));
  g_assert_nonnull (strstr (error->message, "parametrizations.weight.original0"));
  g_clear_error (&error);
  const int64_t bad_shape[3] = { 1, 5, 7 };
  g_autoptr (JdTensor) bad = jd_test_tensor_random (rng, -1, 1, 3, bad_shape);
  g_autoptr (JdTensor) none_out = jd_vocoder_run (a, bad, &error);
  g_assert_null (none_out);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "[1, 5, 7]"));
}

static JdTensor *
random_tensor (GRand *rng, int ndim, const int64_t *shape)
{
  return jd_test_tensor_random (rng, 0.25f, 1.0f, ndim, shape);
}

static void
test_weight_norm_store (void)
{
  /* Folding into an in-memory store: the result is kept under "<name>.weight" and returned
   * again on the next lookup; a magnitude of the wrong shape names the tensor. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (JdWeights) store = jd_weights_new (NULL, jd_test_backend ());
  const int64_t vshape[3] = { 4, 2, 3 }, gshape[3] = { 4, 1, 1 }, bad_gshape[3] = { 5, 1, 1 };
  JdTensor *g = random_tensor (rng, 3, gshape);
  JdTensor *v = random_tensor (rng, 3, vshape);
  double want[24];
  for (int o = 0; o < 4; o++)
    {
      double norm = 0;
      for (int i = 0; i < 6; i++)
        norm += pow (((float *) v->data)[o * 6 + i], 2);
      for (int i = 0; i < 6; i++)
        want[o * 6 + i] = ((float *) g->data)[o] * ((float *) v->data)[o * 6 + i] / sqrt (norm);
    }
  g_assert_true (jd_weights_add (store, "c.parametrizations.weight.original0", g, &error));
  g_assert_true (jd_weights_add (store, "c.parametrizations.weight.original1", v, &error));
  const JdTensor *w = jd_weight_norm_get (store, "c", 3, vshape, &error);
  g_assert_no_error (error);
  jd_test_assert_close (w->data, want, 24, 1e-6);
  g_assert_true (jd_weights_has (store, "c.weight"));
  g_assert_true (jd_weight_norm_get (store, "c", 3, vshape, &error) == w);

  g_assert_true (jd_weights_add (store, "d.weight_g", random_tensor (rng, 3, bad_gshape),
                                 &error));
  g_assert_true (jd_weights_add (store, "d.weight_v", random_tensor (rng, 3, vshape), &error));
  g_assert_null (jd_weight_norm_get (store, "d", 3, vshape, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "d.weight_g"));
}

static void
test_shape_mismatch (void)
{
  /* The parity bundle's vocoder against a config claiming more channels. */
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) weights = jd_parity_weights ();
  g_autoptr (JsonObject) root = jd_parity_config (weights);
  JsonObject *object = jd_config_object (root, "config", "vocoder", &error);
  JdVocoderConfig config;
  g_assert_true (jd_vocoder_config_read (object, "vocoder", &config, &error));
  config.upsample_initial_channel *= 2;
  g_autoptr (JdWeights) store = jd_weights_new (weights, jd_test_backend ());
  g_autoptr (JdVocoder) vocoder = jd_vocoder_new (store, &config, "audio.vocoder", &error);
  g_assert_null (vocoder);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "audio.vocoder.conv_pre.weight"));
}

static void
test_config_errors (void)
{
  static const struct { const char *json, *needle; } cases[] = {
    { "{\"model_in_dim\": 64, \"sampling_rate\": 16000, \"upsample_initial_channel\": 8,"
      " \"upsample_rates\": [2], \"upsample_kernel_sizes\": [4], \"resblock_kernel_sizes\": [3],"
      " \"resblock_dilation_sizes\": [[1, 0]]}", "vocoder.resblock_dilation_sizes[0]" },
    { "{\"model_in_dim\": 64, \"sampling_rate\": 16000, \"upsample_initial_channel\": 8,"
      " \"upsample_rates\": [2, 2], \"upsample_kernel_sizes\": [4], \"resblock_kernel_sizes\": [3],"
      " \"resblock_dilation_sizes\": [[1]]}", "vocoder.upsample_kernel_sizes" },
    { "{\"model_in_dim\": 64, \"sampling_rate\": 16000, \"upsample_initial_channel\": 8,"
      " \"upsample_rates\": [2], \"upsample_kernel_sizes\": [4], \"resblock_kernel_sizes\": [3],"
      " \"resblock_dilation_sizes\": [[1]], \"normalize_before\": true}",
      "vocoder.normalize_before" },
    { "{\"model_in_dim\": 64, \"sampling_rate\": 16000, \"upsample_initial_channel\": 2,"
      " \"upsample_rates\": [2, 2], \"upsample_kernel_sizes\": [4, 4],"
      " \"resblock_kernel_sizes\": [3], \"resblock_dilation_sizes\": [[1]]}",
      "cannot be halved" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) object = parse_object (cases[i].json);
      JdVocoderConfig config;
      g_assert_false (jd_vocoder_config_read (object, "vocoder", &config, &error));
      g_assert_nonnull (error);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("case %zu: \"%s\" does not mention %s", i, error->message, cases[i].needle);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vocoder/parity", test_parity);
  g_test_add_func ("/vocoder/weight-norm-fold", test_fold);
  g_test_add_func ("/vocoder/weight-norm-load", test_weight_norm_load);
  g_test_add_func ("/vocoder/weight-norm-store", test_weight_norm_store);
  g_test_add_func ("/vocoder/shape-mismatch", test_shape_mismatch);
  g_test_add_func ("/vocoder/config-errors", test_config_errors);
  return g_test_run ();
}
