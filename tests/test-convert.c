/* `jointdit convert` on tiny checkpoints that diffusers/transformers saved in their own layouts
 * (tests/fixtures/checkpoints, made by tools/convert/make_checkpoint_fixtures.py):
 *   - the converted bundle, run by `jointdit denoise` with its Joint Blocks' gates at zero,
 *     gives diffusers' own UNet outputs (video: UNetSpatioTemporalConditionModel; audio:
 *     AudioLDM2UNet2DConditionModel without its text transformers) within 1e-4, and the folded
 *     HiFi-GAN gives transformers' SpeechT5HifiGan output;
 *   - what the bundle holds: image_proj and every modulation zero, the constants, provenance
 *     with the sources' SHA-256, the dtype asked for;
 *   - sharded sources and the other weight-norm spelling convert to the same tensors;
 *   - --joint loads trained Joint Blocks, and refuses wrong shapes;
 *   - hostile sources (missing, unexpected or misshapen tensors, pickles, unknown dtypes) are
 *     refused with a sentence naming the file and the tensor, and leave no output behind.
 * Argument: the built `jointdit`. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jd-convert-layout.h"

#include "jd-bundle.h"
#include "jd-config-read.h"
#include "jd-safetensors.h"
#include "jd-vocoder.h"
#include "jd-weights.h"
#include "test-util.h"

#define PARITY_LIMIT 1e-4

static const char *jointdit_path;

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static Run
run_jointdit (const char *command, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) jointdit_path);
  g_ptr_array_add (argv, (gpointer) command);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", "C.UTF-8", TRUE);
  Run run = { 0 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                               &run.out, &run.err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run.status = WEXITSTATUS (wait_status);
  return run;
}

static char *
fixture (const char *first, ...)
{
  va_list args;
  va_start (args, first);
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  g_ptr_array_add (parts, (gpointer) g_test_get_dir (G_TEST_DIST));
  g_ptr_array_add (parts, (gpointer) "fixtures");
  g_ptr_array_add (parts, (gpointer) "checkpoints");
  for (const char *p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

/* Converts; returns the run (status 0 expected by callers that want a bundle). */
static Run
convert (const char *svd, const char *audio, const char *out, const char *extra1,
         const char *extra2)
{
  const char *args[] = { "--svd", svd, "--audioldm2", audio, "--out", out, "--dtype", "f32",
                         extra1, extra2, NULL };
  return run_jointdit ("convert", args);
}

static char *tmp_root;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_root, name, NULL);
}

/* Copies a model folder tree (one level of component folders) to dest. */
static void
copy_tree (const char *src, const char *dest)
{
  g_assert_cmpint (g_mkdir_with_parents (dest, 0755), ==, 0);
  g_autoptr (GDir) dir = g_dir_open (src, 0, NULL);
  g_assert_nonnull (dir);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *s = g_build_filename (src, name, NULL);
      g_autofree char *d = g_build_filename (dest, name, NULL);
      if (g_file_test (s, G_FILE_TEST_IS_DIR))
        copy_tree (s, d);
      else
        {
          g_autofree char *data = NULL;
          gsize n = 0;
          g_assert_true (g_file_get_contents (s, &data, &n, NULL));
          g_assert_true (g_file_set_contents (d, data, (gssize) n, NULL));
        }
    }
}

typedef enum { EDIT_DROP, EDIT_RENAME, EDIT_RESHAPE, EDIT_ADD } EditKind;

/* Rewrites a safetensors file with one change. */
static void
edit_file (const char *path, EditKind kind, const char *name, const char *new_name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  {
    g_autoptr (JdSafetensors) file = jd_safetensors_open (path, &error);
    g_assert_no_error (error);
    gboolean seen = FALSE;
    for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
      {
        const JdSafetensorsEntry *e = jd_safetensors_get_entry (file, i);
        const gboolean hit = strcmp (e->name, name) == 0
                             || (kind == EDIT_RENAME && g_str_has_suffix (e->name, name));
        seen = seen || hit;
        if (hit && kind == EDIT_DROP)
          continue;
        g_autofree char *renamed = NULL;
        if (hit && kind == EDIT_RENAME)
          {
            g_autofree char *stem = g_strndup (e->name, strlen (e->name) - strlen (name));
            renamed = g_strconcat (stem, new_name, NULL);
          }
        if (hit && kind == EDIT_RESHAPE)
          {
            /* One more row of zeros. */
            int64_t shape[JD_MAX_DIMS];
            memcpy (shape, e->shape, sizeof shape);
            shape[0] += 1;
            gsize row = e->nbytes / (gsize) e->shape[0];
            g_autofree guint8 *data = g_malloc0 (e->nbytes + row);
            memcpy (data, e->data, e->nbytes);
            g_assert_true (jd_safetensors_writer_add (writer, e->name, e->dtype, e->ndim, shape,
                                                      data, &error));
            continue;
          }
        g_assert_true (jd_safetensors_writer_add (writer, renamed ? renamed : e->name, e->dtype,
                                                  e->ndim, e->shape, e->data, &error));
        g_assert_no_error (error);
      }
    if (kind == EDIT_ADD)
      {
        const float values[2] = { 1, 2 };
        g_assert_true (jd_safetensors_writer_add_f32 (writer, name, JD_DTYPE_F16, 1,
                                                      (int64_t[]) { 2 }, values, &error));
      }
    else
      g_assert_true (seen);
  }
  g_assert_true (jd_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
}

static void
assert_no_output (const char *out)
{
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_autoptr (GDir) dir = g_dir_open (tmp_root, 0, NULL);
  const char *name;
  /* The writer's temporary file is ".<name>.XXXXXX" beside the output. */
  g_autofree char *base = g_path_get_basename (out);
  g_autofree char *temp_prefix = g_strconcat (".", base, ".", NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, temp_prefix));
}

static double
max_abs_difference (JdSafetensors *a, JdSafetensors *b, const char *name)
{
  const JdSafetensorsEntry *ea = jd_safetensors_lookup (a, name);
  const JdSafetensorsEntry *eb = jd_safetensors_lookup (b, name);
  g_assert_nonnull (ea);
  g_assert_nonnull (eb);
  g_assert_cmpuint (ea->nbytes, ==, eb->nbytes);
  g_assert_true (ea->dtype == JD_DTYPE_F32 && eb->dtype == JD_DTYPE_F32);
  const float *fa = (const float *) ea->data, *fb = (const float *) eb->data;
  double worst = 0;
  for (gsize i = 0; i < ea->nbytes / 4; i++)
    worst = MAX (worst, fabs ((double) fa[i] - fb[i]));
  return worst;
}

/* The reference conversion, made once. */
static char *
reference_bundle (void)
{
  static char *path;
  if (path == NULL)
    {
      path = tmp_path ("reference.safetensors");
      g_autofree char *svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
      Run run = convert (svd, audio, path, NULL, NULL);
      if (run.status != 0)
        g_error ("convert failed: %s", run.err);
      g_assert_nonnull (strstr (run.out, "fine-tuned"));
      g_assert_nonnull (strstr (run.out, "Dropped 208 tensors"));
      run_clear (&run);
    }
  return path;
}

static void
assert_output_matches (JdSafetensors *out, JdSafetensors *golden, const char *name)
{
  const JdSafetensorsEntry *a = jd_safetensors_lookup (out, name);
  const JdSafetensorsEntry *b = jd_safetensors_lookup (golden, name);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpint (a->ndim, ==, b->ndim);
  for (int d = 0; d < a->ndim; d++)
    g_assert_cmpint (a->shape[d], ==, b->shape[d]);
  const gsize n = a->nbytes / 4;
  g_autofree double *expected = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    expected[i] = ((const float *) b->data)[i];
  const double err = jd_test_rel_error ((const float *) a->data, expected, n);
  g_test_message ("%s vs diffusers: err %.3g", name, err);
  g_assert_cmpfloat (err, <=, PARITY_LIMIT);
}

static void
test_denoise_matches_diffusers (void)
{
  const char *bundle = reference_bundle ();
  g_autofree char *golden_path = fixture ("golden.safetensors", NULL);
  g_autofree char *out = tmp_path ("denoise.safetensors");
  const char *args[] = { "--model", bundle, "--in", golden_path, "--out", out, "--threads", "2",
                         NULL };
  Run run = run_jointdit ("denoise", args);
  if (run.status != 0)
    g_error ("denoise failed: %s", run.err);
  run_clear (&run);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) result = jd_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_autoptr (JdSafetensors) golden = jd_safetensors_open (golden_path, &error);
  g_assert_no_error (error);
  assert_output_matches (result, golden, "video");
  assert_output_matches (result, golden, "audio");
}

static void
test_vocoder_matches_transformers (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBundle) bundle = jd_bundle_open (reference_bundle (), &error);
  g_assert_no_error (error);
  JsonObject *object = jd_config_object (jd_bundle_get_config (bundle), "config", "vocoder",
                                         &error);
  g_assert_no_error (error);
  JdVocoderConfig config;
  g_assert_true (jd_vocoder_config_read (object, "vocoder", &config, &error));
  g_autoptr (JdWeights) store = jd_weights_new_for_bundle (bundle, jd_test_backend ());
  g_autoptr (JdVocoder) vocoder = jd_vocoder_new (store, &config, "audio.vocoder", &error);
  g_assert_no_error (error);
  /* Folded: no weight-norm halves in the bundle. */
  JdSafetensors *file = jd_bundle_get_file (bundle);
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const char *name = jd_safetensors_get_entry (file, i)->name;
      g_assert_null (strstr (name, "weight_g"));
      g_assert_null (strstr (name, "parametrizations"));
    }
  g_autofree char *golden_path = fixture ("golden.safetensors", NULL);
  g_autoptr (JdSafetensors) golden = jd_safetensors_open (golden_path, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) mel = jd_safetensors_load_f32 (golden, "vocoder.mel", jd_test_backend (),
                                                      &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) wave = jd_vocoder_run (vocoder, mel, &error);
  g_assert_no_error (error);
  const JdSafetensorsEntry *want = jd_safetensors_lookup (golden, "vocoder.wav");
  const gsize n = want->nbytes / 4;
  g_assert_cmpuint ((gsize) jd_tensor_numel (wave), ==, n);
  g_autofree float *got = g_new (float, n);
  g_assert_true (jd_tensor_download_f32 (wave, got, &error));
  g_autofree double *expected = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    expected[i] = ((const float *) want->data)[i];
  const double err = jd_test_rel_error (got, expected, n);
  g_test_message ("vocoder vs transformers: err %.3g", err);
  g_assert_cmpfloat (err, <=, PARITY_LIMIT);
}

static double
config_double (JsonObject *root, const char *object_path, const char *key)
{
  JsonObject *o = root;
  g_auto (GStrv) parts = g_strsplit (object_path, ".", -1);
  for (int i = 0; parts[i] != NULL; i++)
    o = json_object_get_object_member (o, parts[i]);
  return json_object_get_double_member (o, key);
}

static void
test_bundle_contents (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBundle) bundle = jd_bundle_open (reference_bundle (), &error);
  g_assert_no_error (error);
  JdSafetensors *file = jd_bundle_get_file (bundle);
  guint n_modulation = 0;
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *e = jd_safetensors_get_entry (file, i);
      g_assert_true (e->dtype == JD_DTYPE_F32);
      const gboolean zero = g_str_has_prefix (e->name, "audio.unet.image_proj.")
                            || strstr (e->name, "_modulation.") != NULL;
      if (strstr (e->name, "_modulation.") != NULL)
        n_modulation++;
      gboolean all_zero = TRUE;
      for (gsize k = 0; k < e->nbytes / 4 && all_zero; k++)
        all_zero = ((const float *) e->data)[k] == 0.0f;
      /* Fresh Joint Blocks keep their biases at zero too; all else came from the sources. */
      const gboolean fresh_bias = g_str_has_prefix (e->name, "joint.")
                                  && g_str_has_suffix (e->name, ".bias");
      if (zero || fresh_bias)
        g_assert_true (all_zero);
      else if (all_zero && strcmp (e->name, "audio.vocoder.mean") != 0)  /* a zero buffer */
        g_error ("%s is all zeros", e->name);
    }
  /* Two Joint Blocks × two modalities × weight and bias. */
  g_assert_cmpuint (n_modulation, ==, 8);
  g_assert_nonnull (jd_safetensors_lookup (file, "audio.unet.image_proj.weight"));
  g_assert_nonnull (jd_safetensors_lookup (file, "audio.unet.down_blocks.1.attentions.0.norm.weight"));
  g_assert_null (jd_safetensors_lookup (file, "audio.unet.down_blocks.1.attentions.1.norm.weight"));
  g_assert_null (jd_safetensors_lookup (file, "audio.unet.down_blocks.1.attentions.2.norm.weight"));

  JsonObject *c = jd_bundle_get_config (bundle);
  g_assert_cmpfloat (config_double (c, "sampling.video", "sigma_min"), ==, 0.002);
  g_assert_cmpfloat (config_double (c, "sampling.video", "sigma_max"), ==, 700);
  g_assert_cmpfloat (config_double (c, "sampling.video", "p_mean"), ==, 0.7);
  g_assert_cmpfloat (config_double (c, "sampling.video", "p_std"), ==, 1.6);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
                     json_object_get_object_member (c, "sampling"), "video"), "prediction"), ==,
                   "v");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
                     json_object_get_object_member (c, "sampling"), "audio"), "prediction"), ==,
                   "epsilon");
  g_assert_cmpfloat (config_double (c, "sampling.audio", "beta_start"), ==, 0.0015);
  g_assert_cmpfloat (config_double (c, "sampling.audio", "beta_end"), ==, 0.0195);
  g_assert_cmpfloat (config_double (c, "sampling.guidance", "omega_audio"), ==, 2.5);
  g_assert_cmpfloat (config_double (c, "sampling.video_conditions", "noise_aug_strength"), ==,
                     0.02);
  g_assert_cmpfloat (config_double (c, "video_vae", "scaling_factor"), ==, 0.18215);
  g_assert_cmpfloat (config_double (c, "audio_vae", "scaling_factor"), ==, 0.4110932946205139);
  g_assert_cmpfloat (config_double (c, "mel", "fmax"), ==, 8000);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (c, "mel"),
                                               "hop_length"), ==, 160);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (c, "mel"),
                                               "n_fft"), ==, 1024);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (c, "mel"),
                                               "mel_bins"), ==, 64);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (c, "mel"),
                                               "sample_rate"), ==, 16000);
  JsonArray *ramp = json_object_get_array_member (
    json_object_get_object_member (json_object_get_object_member (c, "sampling"), "guidance"),
    "omega_video_ramp");
  g_assert_cmpfloat (json_array_get_double_element (ramp, 0), ==, 0);
  g_assert_cmpfloat (json_array_get_double_element (ramp, 1), ==, 2);
  /* The heads as diffusers' AudioLDM2 pipeline reads attention_head_dim: 2 heads per level. */
  JsonArray *heads = json_object_get_array_member (json_object_get_object_member (c, "audio_unet"),
                                                   "num_attention_heads");
  g_assert_cmpint (json_array_get_int_element (heads, 0), ==, 2);
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (c, "audio_unet"),
                                                  "text_transformers"));

  /* Provenance: each source file with its SHA-256. */
  JsonObject *p = jd_bundle_get_provenance (bundle);
  g_assert_nonnull (p);
  g_assert_cmpstr (json_object_get_string_member (p, "converter_version"), ==, "1");
  JsonArray *sources = json_object_get_array_member (p, "sources");
  g_assert_cmpuint (json_array_get_length (sources), ==, 6);
  JsonObject *first = json_array_get_object_element (sources, 0);
  JsonObject *f0 = json_array_get_object_element (json_object_get_array_member (first, "files"), 0);
  g_autofree char *unet_file = fixture ("svd", "unet", "diffusion_pytorch_model.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (unet_file, &data, &n, NULL));
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data, n);
  g_assert_cmpstr (json_object_get_string_member (f0, "sha256"), ==, sum);

  /* `jointdit info` reads it. */
  const char *args[] = { reference_bundle (), NULL };
  Run run = run_jointdit ("info", args);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "634,544"));  /* the tiny SVD UNet's parameters */
  run_clear (&run);
}

/* A bundle holding the full SVD-XT UNet's tensors (BF16, the data a sparse hole: no disk is
 * used), read by `jointdit info`: its video.unet part has the published count. */
static void
test_svd_xt_parameters_in_a_bundle (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *config_path = fixture ("published", "svd-xt.unet.config.json", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, config_path, &error));
  JsonObject *config = json_node_get_object (json_parser_get_root (parser));
  g_autoptr (JdConvertLayout) layout = jd_convert_layout_svd_unet (config, "unet/config.json",
                                                                   &error);
  g_assert_no_error (error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "jointdit.config");
  json_builder_add_string_value (b, "{\"format\": \"jointdit-bundle\", \"version\": 1}");
  json_builder_end_object (b);
  guint64 offset = 0;
  for (guint i = 0; i < jd_convert_layout_get_n (layout); i++)
    {
      const JdConvertTensor *t = jd_convert_layout_get (layout, i);
      guint64 bytes = 2;
      g_autofree char *name = g_strconcat ("video.unet.", t->name, NULL);
      json_builder_set_member_name (b, name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, "BF16");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < t->ndim; d++)
        {
          json_builder_add_int_value (b, t->shape[d]);
          bytes *= (guint64) t->shape[d];
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) offset);
      json_builder_add_int_value (b, (gint64) (offset + bytes));
      json_builder_end_array (b);
      json_builder_end_object (b);
      offset += bytes;
    }
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize n = 0;
  g_autofree char *json = json_generator_to_data (gen, &n);
  const gsize padded = (n + 7) / 8 * 8;
  g_autofree char *header = g_malloc (padded);
  memcpy (header, json, n);
  memset (header + n, ' ', padded - n);

  g_autofree char *path = tmp_path ("svd-xt-unet.safetensors");
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  guint8 size_le[8];
  for (int i = 0; i < 8; i++)
    size_le[i] = (guint8) ((guint64) padded >> (8 * i));
  g_assert_cmpint (write (fd, size_le, 8), ==, 8);
  g_assert_cmpint (write (fd, header, padded), ==, (gssize) padded);
  g_assert_cmpint (ftruncate (fd, (off_t) (8 + padded + offset)), ==, 0);
  close (fd);

  g_autoptr (JdBundle) bundle = jd_bundle_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_bundle_get_n_parts (bundle), ==, 1);
  const JdBundlePart *part = jd_bundle_get_part (bundle, 0);
  g_assert_cmpstr (part->name, ==, "video.unet");
  g_assert_cmpint (part->n_parameters, ==, 1524623082);
  g_assert_cmpuint (part->n_tensors, ==, 1428);
  g_clear_pointer (&bundle, jd_bundle_free);

  const char *args[] = { path, NULL };
  Run run = run_jointdit ("info", args);
  g_assert_cmpint (run.status, ==, 0);
  g_test_message ("%s", run.out);
  g_assert_nonnull (strstr (run.out, "1,524,623,082"));
  run_clear (&run);
  g_unlink (path);
}

static void
test_default_dtype_bf16 (void)
{
  g_autofree char *svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
  g_autofree char *out = tmp_path ("bf16.safetensors");
  const char *args[] = { "--svd", svd, "--audioldm2", audio, "--out", out, NULL };
  Run run = run_jointdit ("convert", args);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_safetensors_open (out, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    g_assert_true (jd_safetensors_get_entry (file, i)->dtype == JD_DTYPE_BF16);
}

/* A shard index over two files and the parametrizations spelling give the same bundle. */
static void
test_shards_and_parametrizations (void)
{
  g_autofree char *svd = tmp_path ("sharded-svd"), *audio = tmp_path ("param-audio");
  g_autofree char *src_svd = fixture ("svd", NULL), *src_audio = fixture ("audioldm2", NULL);
  copy_tree (src_svd, svd);
  copy_tree (src_audio, audio);

  /* Split the UNet: down_blocks.* into shard 1, the rest into shard 2. */
  g_autofree char *single = g_build_filename (svd, "unet", "diffusion_pytorch_model.safetensors",
                                              NULL);
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (JdSafetensors) file = jd_safetensors_open (single, &error);
    g_assert_no_error (error);
    g_autoptr (JdSafetensorsWriter) w1 = jd_safetensors_writer_new ();
    g_autoptr (JdSafetensorsWriter) w2 = jd_safetensors_writer_new ();
    g_autoptr (GString) index = g_string_new ("{\"metadata\": {}, \"weight_map\": {");
    for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
      {
        const JdSafetensorsEntry *e = jd_safetensors_get_entry (file, i);
        const gboolean first = g_str_has_prefix (e->name, "down_blocks.");
        g_assert_true (jd_safetensors_writer_add (first ? w1 : w2, e->name, e->dtype, e->ndim,
                                                  e->shape, e->data, &error));
        g_string_append_printf (index, "%s\"%s\": \"%s\"", i ? ", " : "", e->name,
                                first ? "diffusion_pytorch_model-00001-of-00002.safetensors"
                                : "diffusion_pytorch_model-00002-of-00002.safetensors");
      }
    g_string_append (index, "}}");
    g_autofree char *s1 = g_build_filename (svd, "unet",
                                            "diffusion_pytorch_model-00001-of-00002.safetensors",
                                            NULL);
    g_autofree char *s2 = g_build_filename (svd, "unet",
                                            "diffusion_pytorch_model-00002-of-00002.safetensors",
                                            NULL);
    g_autofree char *ix = g_build_filename (svd, "unet",
                                            "diffusion_pytorch_model.safetensors.index.json",
                                            NULL);
    g_assert_true (jd_safetensors_writer_write (w1, s1, &error));
    g_assert_true (jd_safetensors_writer_write (w2, s2, &error));
    g_assert_true (g_file_set_contents (ix, index->str, -1, &error));
  }
  g_assert_cmpint (g_unlink (single), ==, 0);

  /* torch.nn.utils.parametrizations' spelling of the weight norm. */
  g_autofree char *vocoder = g_build_filename (audio, "vocoder", "model.safetensors", NULL);
  edit_file (vocoder, EDIT_RENAME, ".weight_g", ".parametrizations.weight.original0");
  edit_file (vocoder, EDIT_RENAME, ".weight_v", ".parametrizations.weight.original1");

  g_autofree char *out = tmp_path ("sharded.safetensors");
  Run run = convert (svd, audio, out, NULL, NULL);
  if (run.status != 0)
    g_error ("convert failed: %s", run.err);
  run_clear (&run);
  g_autoptr (JdSafetensors) a = jd_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_autoptr (JdSafetensors) b = jd_safetensors_open (reference_bundle (), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_safetensors_get_n_tensors (a), ==, jd_safetensors_get_n_tensors (b));
  for (guint i = 0; i < jd_safetensors_get_n_tensors (b); i++)
    {
      const char *name = jd_safetensors_get_entry (b, i)->name;
      g_assert_cmpfloat (max_abs_difference (a, b, name), ==, 0);
    }
}

/* --clip: the image encoder from its own folder (here a full CLIPConfig, its vision part under
 * "vision_config"), SVD's folder without image_encoder/; without --clip that is refused. */
static void
test_separate_clip (void)
{
  g_autofree char *root = tmp_path ("clip");
  g_autofree char *svd = g_build_filename (root, "svd", NULL);
  g_autofree char *clip = g_build_filename (root, "clip-vit-h", NULL);
  g_autofree char *src_svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
  g_autofree char *src_clip = fixture ("svd", "image_encoder", NULL);
  copy_tree (src_svd, svd);
  copy_tree (src_clip, clip);
  g_autofree char *gone = g_build_filename (svd, "image_encoder", NULL);
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", gone);
  g_assert_cmpint (system (command), ==, 0);
  /* Wrap the vision config as CLIPConfig does. */
  g_autofree char *config_path = g_build_filename (clip, "config.json", NULL);
  g_autofree char *vision = NULL;
  g_assert_true (g_file_get_contents (config_path, &vision, NULL, NULL));
  g_autofree char *wrapped = g_strdup_printf ("{\"model_type\": \"clip\", \"vision_config\": %s}",
                                              vision);
  g_assert_true (g_file_set_contents (config_path, wrapped, -1, NULL));

  g_autofree char *out = tmp_path ("clip.safetensors");
  Run run = convert (svd, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "no image_encoder/ folder"));
  g_assert_nonnull (strstr (run.err, "--clip"));
  assert_no_output (out);
  run_clear (&run);

  run = convert (svd, audio, out, "--clip", clip);
  if (run.status != 0)
    g_error ("convert --clip failed: %s", run.err);
  run_clear (&run);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) a = jd_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_autoptr (JdSafetensors) b = jd_safetensors_open (reference_bundle (), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_safetensors_get_n_tensors (a), ==, jd_safetensors_get_n_tensors (b));
  g_assert_cmpfloat (max_abs_difference (a, b, "image_encoder.visual_projection.weight"), ==, 0);
}

static void
test_joint_checkpoint (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ckpt = tmp_path ("joint.safetensors");
  /* Trained-looking Joint Blocks: the fresh ones with every modulation set to 0.5. */
  {
    g_autoptr (JdSafetensors) ref = jd_safetensors_open (reference_bundle (), &error);
    g_assert_no_error (error);
    g_autoptr (JdSafetensorsWriter) w = jd_safetensors_writer_new ();
    for (guint i = 0; i < jd_safetensors_get_n_tensors (ref); i++)
      {
        const JdSafetensorsEntry *e = jd_safetensors_get_entry (ref, i);
        if (!g_str_has_prefix (e->name, "joint."))
          continue;
        g_autofree float *v = g_memdup2 (e->data, e->nbytes);
        if (strstr (e->name, "_modulation.") != NULL)
          for (gsize k = 0; k < e->nbytes / 4; k++)
            v[k] = 0.5f;
        g_assert_true (jd_safetensors_writer_add (w, e->name, JD_DTYPE_F32, e->ndim, e->shape, v,
                                                  &error));
      }
    /* Written by training as a bundle: its config says the heads and the split. */
    jd_safetensors_writer_set_metadata (w, "jointdit.config",
                                        "{\"format\": \"jointdit-bundle\", \"version\": 1, "
                                        "\"joint\": {\"heads\": 4, \"split\": {\"video\": "
                                        "[\"down_blocks.1\", \"mid_block\"], \"audio\": "
                                        "[\"down_blocks.1\", \"mid_block\"]}}}");
    g_assert_true (jd_safetensors_writer_write (w, ckpt, &error));
  }
  g_autofree char *svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
  g_autofree char *out = tmp_path ("joint-bundle.safetensors");
  Run run = convert (svd, audio, out, "--joint", ckpt);
  if (run.status != 0)
    g_error ("convert --joint failed: %s", run.err);
  run_clear (&run);
  g_autoptr (JdSafetensors) bundle = jd_safetensors_open (out, &error);
  g_assert_no_error (error);
  const JdSafetensorsEntry *m = jd_safetensors_lookup (bundle, "joint.blocks.1.audio_modulation.bias");
  g_assert_nonnull (m);
  g_assert_cmpfloat (((const float *) m->data)[0], ==, 0.5f);
  {
    g_autoptr (JdBundle) opened = jd_bundle_open (out, &error);
    g_assert_no_error (error);
    JsonObject *joint = json_object_get_object_member (jd_bundle_get_config (opened), "joint");
    g_assert_cmpint (json_object_get_int_member (joint, "heads"), ==, 4);
  }

  /* A misshapen joint tensor is refused, naming it. */
  edit_file (ckpt, EDIT_RESHAPE, "joint.blocks.0.video_ff.net.2.bias", NULL);
  g_autofree char *out2 = tmp_path ("joint-bad.safetensors");
  run = convert (svd, audio, out2, "--joint", ckpt);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "joint.blocks.0.video_ff.net.2.bias"));
  g_assert_nonnull (strstr (run.err, "has shape [33]"));
  g_assert_false (g_file_test (out2, G_FILE_TEST_EXISTS));
  run_clear (&run);
}

/* Hostile sources: each refused with its sentence; no output, no temporary left. */
typedef struct {
  const char *label;
  const char *component;      /* "svd/unet", … */
  const char *file;           /* in that folder */
  EditKind    kind;
  const char *tensor;
  const char *expect[3];      /* substrings of the message */
} Hostile;

static void
test_hostile_edit (gconstpointer data)
{
  const Hostile *h = data;
  g_autofree char *root = tmp_path (h->label);
  g_autofree char *svd = g_build_filename (root, "svd", NULL);
  g_autofree char *audio = g_build_filename (root, "audioldm2", NULL);
  g_autofree char *src_svd = fixture ("svd", NULL), *src_audio = fixture ("audioldm2", NULL);
  copy_tree (src_svd, svd);
  copy_tree (src_audio, audio);
  g_autofree char *file = g_build_filename (root, h->component, h->file, NULL);
  edit_file (file, h->kind, h->tensor, NULL);
  g_autofree char *out = g_strconcat (root, ".safetensors", NULL);
  Run run = convert (svd, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_test_message ("%s: %s", h->label, run.err);
  g_assert_nonnull (strstr (run.err, h->component));
  for (int i = 0; i < 3 && h->expect[i] != NULL; i++)
    g_assert_nonnull (strstr (run.err, h->expect[i]));
  g_assert_null (strchr (strchr (run.err, '\n') + 1, '\n'));  /* one line */
  assert_no_output (out);
  run_clear (&run);
}

static const Hostile hostile[] = {
  { "missing", "svd/unet", "diffusion_pytorch_model.safetensors", EDIT_DROP, "conv_in.weight",
    { "missing tensor “conv_in.weight”", "svd/unet/config.json", NULL } },
  { "unexpected", "audioldm2/vae", "diffusion_pytorch_model.safetensors", EDIT_ADD,
    "decoder.extra.weight", { "unexpected tensor “decoder.extra.weight”",
                              "diffusion_pytorch_model.safetensors", NULL } },
  { "shape", "svd/image_encoder", "model.safetensors", EDIT_RESHAPE,
    "visual_projection.weight", { "“visual_projection.weight” has shape [33, 32]",
                                  "makes it [32, 32]", NULL } },
  { "weight-norm-half", "audioldm2/vocoder", "model.safetensors", EDIT_DROP,
    "conv_post.weight_v", { "conv_post.weight", "direction (v)", NULL } },
};

static void
test_pickles (void)
{
  g_autofree char *root = tmp_path ("pickle");
  g_autofree char *svd = g_build_filename (root, "svd", NULL);
  g_autofree char *src_svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
  copy_tree (src_svd, svd);
  /* An image encoder saved the old way: pytorch_model.bin only. */
  g_autofree char *st = g_build_filename (svd, "image_encoder", "model.safetensors", NULL);
  g_autofree char *bin = g_build_filename (svd, "image_encoder", "pytorch_model.bin", NULL);
  g_assert_cmpint (g_rename (st, bin), ==, 0);
  g_autofree char *out = tmp_path ("pickle.safetensors");
  Run run = convert (svd, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "pytorch_model.bin is a pickled checkpoint"));
  g_assert_nonnull (strstr (run.err, "convert it to safetensors"));
  assert_no_output (out);
  run_clear (&run);

  /* --joint naming a pickle is refused before anything is read. */
  g_autofree char *pt = tmp_path ("joint.pt");
  g_assert_true (g_file_set_contents (pt, "\x80\x02}q\x00.", -1, NULL));
  run = convert (src_svd, audio, out, "--joint", pt);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "joint.pt is a pickled checkpoint"));
  assert_no_output (out);
  run_clear (&run);
}

/* Shard indexes: a path outside the folder, a tensor in two shards. */
static void
test_shard_index (void)
{
  g_autofree char *root = tmp_path ("shards");
  g_autofree char *svd = g_build_filename (root, "svd", NULL);
  g_autofree char *src_svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
  copy_tree (src_svd, svd);
  g_autofree char *single = g_build_filename (svd, "unet", "diffusion_pytorch_model.safetensors",
                                              NULL);
  g_autofree char *shard = g_build_filename (svd, "unet", "part-2.safetensors", NULL);
  g_autofree char *index = g_build_filename (svd, "unet",
                                             "diffusion_pytorch_model.safetensors.index.json",
                                             NULL);
  g_autofree char *moved = g_build_filename (svd, "unet", "part-1.safetensors", NULL);
  g_assert_cmpint (g_rename (single, moved), ==, 0);
  g_autofree char *out = tmp_path ("shards.safetensors");

  g_assert_true (g_file_set_contents (index, "{\"weight_map\": {\"conv_in.weight\": "
                                      "\"../../vae/diffusion_pytorch_model.safetensors\"}}", -1,
                                      NULL));
  Run run = convert (svd, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "conv_in.weight"));
  g_assert_nonnull (strstr (run.err, "must be a file name in the same folder"));
  assert_no_output (out);
  run_clear (&run);

  /* part-2 repeats conv_in.weight. */
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (JdSafetensors) file = jd_safetensors_open (moved, &error);
    g_assert_no_error (error);
    const JdSafetensorsEntry *e = jd_safetensors_lookup (file, "conv_in.weight");
    g_autoptr (JdSafetensorsWriter) w = jd_safetensors_writer_new ();
    g_assert_true (jd_safetensors_writer_add (w, e->name, e->dtype, e->ndim, e->shape, e->data,
                                              &error));
    g_assert_true (jd_safetensors_writer_write (w, shard, &error));
  }
  g_assert_true (g_file_set_contents (index, "{\"weight_map\": {\"conv_in.weight\": "
                                      "\"part-1.safetensors\", \"conv_out.bias\": "
                                      "\"part-2.safetensors\"}}", -1, NULL));
  run = convert (svd, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "part-2.safetensors: tensor “conv_in.weight” is also in"));
  assert_no_output (out);
  run_clear (&run);
}

static void
test_unknown_dtype (void)
{
  g_autofree char *root = tmp_path ("dtype");
  g_autofree char *audio = g_build_filename (root, "audioldm2", NULL);
  g_autofree char *src_audio = fixture ("audioldm2", NULL), *svd = fixture ("svd", NULL);
  copy_tree (src_audio, audio);
  /* A vocoder file holding one I64 tensor. */
  const char header[] = "{\"mean\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
  gsize hl = (sizeof header - 1 + 7) / 8 * 8;
  g_autofree guint8 *bytes = g_malloc0 (8 + hl + 8);
  for (int i = 0; i < 8; i++)
    bytes[i] = (guint8) (hl >> (8 * i));
  memset (bytes + 8, ' ', hl);
  memcpy (bytes + 8, header, sizeof header - 1);
  g_autofree char *path = g_build_filename (audio, "vocoder", "model.safetensors", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) bytes, (gssize) (8 + hl + 8), NULL));
  g_autofree char *out = tmp_path ("dtype.safetensors");
  Run run = convert (svd, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_test_message ("unknown dtype: %s", run.err);
  g_assert_nonnull (strstr (run.err, "model.safetensors"));
  g_assert_nonnull (strstr (run.err, "mean"));
  g_assert_nonnull (strstr (run.err, "I64"));
  assert_no_output (out);
  run_clear (&run);
}

static void
test_usage (void)
{
  const char *none[] = { NULL };
  Run run = run_jointdit ("convert", none);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--svd, --audioldm2 and --out"));
  run_clear (&run);
  g_autofree char *svd = fixture ("svd", NULL), *audio = fixture ("audioldm2", NULL);
  const char *bad[] = { "--svd", svd, "--audioldm2", audio, "--out", "x", "--dtype", "f64",
                        NULL };
  run = run_jointdit ("convert", bad);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--dtype must be bf16, f16 or f32"));
  run_clear (&run);
  /* A single-file checkpoint: said plainly. */
  g_autofree char *file = fixture ("golden.safetensors", NULL);
  g_autofree char *out = tmp_path ("single.safetensors");
  run = convert (file, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "diffusers folder layout"));
  g_assert_null (strstr (run.err, "original single-file SVD"));
  run_clear (&run);
  assert_no_output (out);
}

/* Stability's original single-file SVD layout is recognised and refused with what to give
 * instead (no released diffusers ships its mapping to check a conversion against). */
static void
test_original_svd_layout (void)
{
  g_autofree char *audio = fixture ("audioldm2", NULL);
  g_autofree char *file = tmp_path ("svd_xt.safetensors");
  g_autofree char *out = tmp_path ("from-original.safetensors");
  g_autoptr (JdSafetensorsWriter) w = jd_safetensors_writer_new ();
  static const char *const names[] = {
    "model.diffusion_model.input_blocks.0.0.weight",
    "model.diffusion_model.time_embed.0.weight",
    "first_stage_model.decoder.conv_in.weight",
    "conditioner.embedders.0.open_clip.model.visual.proj",
  };
  const float v[4] = { 0.5f, -1.25f, 2.0f, 0.75f };
  g_autoptr (GError) error = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_true (jd_safetensors_writer_add_f32 (w, names[i], JD_DTYPE_F16, 2,
                                                  (int64_t[]) { 2, 2 }, v, &error));
  g_assert_true (jd_safetensors_writer_write (w, file, &error));
  g_assert_no_error (error);
  Run run = convert (file, audio, out, NULL, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "original single-file SVD checkpoint"));
  g_assert_nonnull (strstr (run.err, "svd_xt.safetensors"));
  g_assert_nonnull (strstr (run.err, "unet/, vae/ and image_encoder/"));
  run_clear (&run);
  assert_no_output (out);
  g_assert_cmpint (g_unlink (file), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    g_error ("usage: test-convert JOINTDIT");
  jointdit_path = argv[1];
  g_autoptr (GError) error = NULL;
  tmp_root = g_dir_make_tmp ("jd-convert-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/convert/denoise-matches-diffusers", test_denoise_matches_diffusers);
  g_test_add_func ("/convert/vocoder-matches-transformers", test_vocoder_matches_transformers);
  g_test_add_func ("/convert/bundle-contents", test_bundle_contents);
  g_test_add_func ("/convert/svd-xt-parameters-in-jointdit-info",
                   test_svd_xt_parameters_in_a_bundle);
  g_test_add_func ("/convert/default-dtype-bf16", test_default_dtype_bf16);
  g_test_add_func ("/convert/shards-and-parametrizations", test_shards_and_parametrizations);
  g_test_add_func ("/convert/joint-checkpoint", test_joint_checkpoint);
  g_test_add_func ("/convert/separate-clip", test_separate_clip);
  for (gsize i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autofree char *path = g_strdup_printf ("/convert/hostile/%s", hostile[i].label);
      g_test_add_data_func (path, &hostile[i], test_hostile_edit);
    }
  g_test_add_func ("/convert/hostile/pickles", test_pickles);
  g_test_add_func ("/convert/hostile/unknown-dtype", test_unknown_dtype);
  g_test_add_func ("/convert/hostile/shard-index", test_shard_index);
  g_test_add_func ("/convert/usage", test_usage);
  g_test_add_func ("/convert/original-svd-layout", test_original_svd_layout);
  int status = g_test_run ();
  /* Remove the temporary tree. */
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", tmp_root);
  (void) !system (command);
  g_free (tmp_root);
  return status;
}
