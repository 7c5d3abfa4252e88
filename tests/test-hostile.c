/* Hostile model files: each fixture in tests/fixtures/hostile/ is refused for its own defect,
 * by the reader (JD_ERROR_MODEL_FILE, a message naming the file and the problem) and by
 * `jointdit info` (exit 1, one line on stderr, nothing on stdout); valid bundles are described.
 *
 * Arguments after the GTest options: the built `jointdit` and the test bundle made by
 * tests/make-test-bundle (meson passes both). */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "jd-bundle.h"
#include "jd-error.h"
#include "test-util.h"

typedef struct {
  const char *file;
  const char *phrase;  /* specific to the defect: a wrong rejection reason fails */
} Hostile;

static const Hostile hostile_files[] = {
  { "truncated.safetensors", "may be truncated" },
  { "too-short.safetensors", "too short to hold the 8-byte header length" },
  { "header-length-zero.safetensors", "header length is 0" },
  { "header-too-large.safetensors", "exceeds the limit of 100000000 bytes" },
  { "header-past-end.safetensors", "runs past the end of the file" },
  { "not-json.safetensors", "header is not valid JSON" },
  { "header-array.safetensors", "header is an array, not a JSON object" },
  { "bad-utf8.safetensors", "not valid UTF-8" },
  { "deep-nesting.safetensors", "header nests JSON deeper than 64 levels" },
  { "unknown-dtype.safetensors", "unknown dtype “Q7”" },
  { "unsupported-dtype.safetensors", "uses dtype I16, which the engine does not support" },
  { "overlap.safetensors", "“joint.a” and “joint.b” overlap" },
  { "out-of-range.safetensors", "“joint.b” has data offsets [16, 32] past the end of the data" },
  { "gap.safetensors", "gap of 4 unused bytes before tensor “joint.b”" },
  { "trailing-bytes.safetensors", "16 unused bytes after the last tensor" },
  { "shape-mismatch.safetensors", "needs 48 bytes, but its data offsets span 32" },
  { "shape-overflow.safetensors", "overflows 64 bits" },
  { "shape-huge-number.safetensors", "dimension 1 of tensor “joint.blocks.0.attn.to_q.weight” "
                                     "is not a whole number" },
  { "shape-beyond-64-bits.safetensors", "dimension 2 of tensor “joint.blocks.0.attn.to_q.weight” "
                                        "is negative (-1; numbers beyond 64 bits" },
  { "negative-dim.safetensors", "dimension 0 of tensor “joint.blocks.0.attn.to_q.weight” is "
                                "negative" },
  { "too-many-dims.safetensors", "has 6 dimensions; the engine supports at most 5" },
  { "fractional-offset.safetensors", "end data offset of tensor “joint.blocks.0.attn.to_q.weight”"
                                     " is not a whole number" },
  { "begin-after-end.safetensors", "[32, 0] whose begin lies after its end" },
  { "entry-not-object.safetensors", "is described by a string, not an object" },
  { "metadata-not-string.safetensors", "__metadata__ entry “steps” is a number, not a string" },
  { "no-config.safetensors", "has no “jointdit.config” entry" },
  { "config-not-json.safetensors", "bundle config is not valid JSON" },
  { "config-not-object.safetensors", "bundle config is not a JSON object" },
  { "config-deep-nesting.safetensors", "bundle config nests JSON deeper than 64 levels" },
  { "config-wrong-format.safetensors", "\"format\" is “diffusers” where “jointdit-bundle” was "
                                       "expected" },
  { "config-version-2.safetensors", "newer JointDiT Studio (bundle version 2; this one reads 1)" },
};

static const char *jointdit_path;
static const char *test_bundle_path;

static char *
fixture_path (const char *folder,
              const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", folder, name, NULL);
}

static void
test_reader_refuses (gconstpointer data)
{
  const Hostile *hostile = data;
  g_autofree char *path = fixture_path ("hostile", hostile->file);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBundle) bundle = jd_bundle_open (path, &error);
  g_assert_null (bundle);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  if (strstr (error->message, hostile->file) == NULL
      || strstr (error->message, hostile->phrase) == NULL)
    g_error ("%s: message “%s” lacks the file name or “%s”", hostile->file, error->message,
             hostile->phrase);
  g_assert_null (strchr (error->message, '\n'));

  /* The in-memory reader (the fuzz entry point) says the same about the same bytes. */
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_autoptr (GBytes) bytes = g_bytes_new (contents, length);
  g_autoptr (GError) memory_error = NULL;
  JdSafetensors *file = jd_safetensors_new_from_bytes (bytes, hostile->file, &memory_error);
  if (file != NULL)
    bundle = jd_bundle_new (file, &memory_error);
  g_assert_null (bundle);
  g_assert_error (memory_error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (memory_error->message, hostile->phrase));
}

static void
test_valid_fixtures (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *f16 = g_test_build_filename (G_TEST_DIST, "fixtures", "valid",
                                                "f16.safetensors", NULL);
  g_autoptr (JdSafetensors) file = jd_safetensors_open (f16, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) h = jd_safetensors_load_f32 (file, "h", NULL, &error);
  g_assert_no_error (error);
  const float expected_f16[] = { 1.0f, -2.0f, 0.5f, 3.0f, 1.0f, -2.0f };
  g_assert_cmpmem (h->data, sizeof expected_f16, expected_f16, sizeof expected_f16);

  g_autofree char *bf16 = g_test_build_filename (G_TEST_DIST, "fixtures", "valid",
                                                 "bf16.safetensors", NULL);
  g_autoptr (JdSafetensors) file2 = jd_safetensors_open (bf16, &error);
  g_assert_no_error (error);
  g_autoptr (JdTensor) b = jd_safetensors_load_f32 (file2, "b", NULL, &error);
  g_assert_cmpint (b->ndim, ==, 5);
  const float expected_bf16[] = { 1.0f, -2.0f, 0.5f, 3.0f };
  g_assert_cmpmem (b->data, sizeof expected_bf16, expected_bf16, sizeof expected_bf16);

  g_autofree char *f32 = g_test_build_filename (G_TEST_DIST, "fixtures", "valid",
                                                "f32.safetensors", NULL);
  g_autoptr (JdSafetensors) file3 = jd_safetensors_open (f32, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_safetensors_get_n_tensors (file3), ==, 3);
  g_assert_cmpint (jd_safetensors_lookup (file3, "scalar")->ndim, ==, 0);
  g_assert_cmpuint (jd_safetensors_lookup (file3, "empty")->nbytes, ==, 0);
  g_assert_cmpstr (jd_safetensors_get_metadata (file3, "note"), ==, "plain safetensors, F32");
  /* A plain safetensors file is not a bundle. */
  g_autoptr (JdBundle) bundle = jd_bundle_new (g_steal_pointer (&file3), &error);
  g_assert_null (bundle);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
}

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

static void
run_jointdit_env (Run        *run,
                  char      **envp,
                  const char *arg1,
                  const char *arg2,
                  const char *arg3)
{
  const char *argv[] = { jointdit_path, arg1, arg2, arg3, NULL };
  g_autoptr (GError) error = NULL;
  int wait_status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                               &run->out, &run->err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
}

static void
run_jointdit (Run        *run,
              const char *arg1,
              const char *arg2,
              const char *arg3)
{
  run_jointdit_env (run, NULL, arg1, arg2, arg3);
}

static void
assert_one_error_line (const Run  *run,
                       int         status,
                       const char *must_contain)
{
  g_assert_cmpint (run->status, ==, status);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_true (g_str_has_prefix (run->err, "jointdit: "));
  gsize length = strlen (run->err);
  g_assert_cmpuint (length, >, 0);
  g_assert_cmpint (run->err[length - 1], ==, '\n');
  g_assert_true (strchr (run->err, '\n') == run->err + length - 1);
  if (must_contain != NULL && strstr (run->err, must_contain) == NULL)
    g_error ("stderr “%s” lacks “%s”", run->err, must_contain);
}

static void
test_cli_refuses (gconstpointer data)
{
  const Hostile *hostile = data;
  g_autofree char *path = fixture_path ("hostile", hostile->file);
  Run run;
  run_jointdit (&run, "info", path, NULL);
  assert_one_error_line (&run, 1, hostile->file);
  g_assert_nonnull (strstr (run.err, hostile->phrase));
  run_clear (&run);
}

static void
test_cli_usage (void)
{
  Run run;
  /* Without MODEL: the default model, here one that does not exist. */
  char *envp[] = { "JOINTDIT_MODEL=/nonexistent/default.safetensors", NULL };
  run_jointdit_env (&run, envp, "info", NULL, NULL);
  assert_one_error_line (&run, 1, "/nonexistent/default.safetensors");
  run_clear (&run);
  run_jointdit (&run, "info", "a.safetensors", "b.safetensors");
  assert_one_error_line (&run, 2, "Usage: jointdit info [MODEL]");
  run_clear (&run);
  run_jointdit (&run, "info", "--frobnicate", "a.safetensors");
  assert_one_error_line (&run, 2, "--frobnicate");
  run_clear (&run);
  run_jointdit (&run, "info", "/nonexistent/model.safetensors", NULL);
  assert_one_error_line (&run, 1, "/nonexistent/model.safetensors");
  run_clear (&run);

  run_jointdit (&run, "info", "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Usage: jointdit info [MODEL] [--json]"));
  g_assert_cmpstr (run.err, ==, "");
  run_clear (&run);
}

/* Checks `jointdit info` text and --json on a valid bundle against the reader's own count. */
static void
check_cli_describes (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBundle) bundle = jd_bundle_open (path, &error);
  g_assert_no_error (error);
  JdSafetensors *file = jd_bundle_get_file (bundle);
  gint64 parameters = 0;
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *entry = jd_safetensors_get_entry (file, i);
      parameters += (gint64) (entry->nbytes / jd_dtype_size (entry->dtype));
    }

  Run run;
  run_jointdit (&run, "info", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  g_assert_nonnull (strstr (run.out, "Format:   jointdit-bundle, version 1"));
  g_assert_nonnull (strstr (run.out, "Provenance:"));
  for (guint i = 0; i < jd_bundle_get_n_parts (bundle); i++)
    g_assert_nonnull (strstr (run.out, jd_bundle_get_part (bundle, i)->name));
  run_clear (&run);

  run_jointdit (&run, "info", path, "--json");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  g_autoptr (JsonParser) parser = json_parser_new ();
  json_parser_load_from_data (parser, run.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "format"), ==, "jointdit-bundle");
  g_assert_cmpint (json_object_get_int_member (root, "version"), ==, 1);
  JsonObject *total = json_object_get_object_member (root, "total");
  g_assert_cmpint (json_object_get_int_member (total, "tensors"), ==,
                   jd_safetensors_get_n_tensors (file));
  g_assert_cmpint (json_object_get_int_member (total, "parameters"), ==, parameters);
  JsonArray *parts = json_object_get_array_member (root, "parts");
  g_assert_cmpuint (json_array_get_length (parts), ==, jd_bundle_get_n_parts (bundle));
  gint64 sum = 0;
  for (guint i = 0; i < json_array_get_length (parts); i++)
    {
      JsonObject *part = json_array_get_object_element (parts, i);
      const JdBundlePart *expected = jd_bundle_get_part (bundle, i);
      g_assert_cmpstr (json_object_get_string_member (part, "name"), ==, expected->name);
      g_assert_cmpint (json_object_get_int_member (part, "tensors"), ==, expected->n_tensors);
      g_assert_cmpint (json_object_get_int_member (part, "parameters"), ==,
                       expected->n_parameters);
      sum += json_object_get_int_member (part, "parameters");
    }
  g_assert_cmpint (sum, ==, parameters);
  g_assert_nonnull (json_object_get_object_member (root, "provenance"));
  run_clear (&run);
}

static void
test_cli_valid_fixture (void)
{
  g_autofree char *path = fixture_path ("valid", "bundle.safetensors");
  check_cli_describes (path);

  /* Exact numbers for the hand-made fixture (see make-hostile.py). */
  g_autoptr (JdBundle) bundle = jd_bundle_open (path, NULL);
  g_assert_nonnull (bundle);
  g_assert_cmpuint (jd_bundle_get_n_parts (bundle), ==, 4);
  const char *names[] = { "video.unet", "audio.vocoder", "joint", "other" };
  const gint64 counts[] = { 4, 6, 6, 1 };
  const guint dtypes[] = { 1u << JD_DTYPE_F32, 1u << JD_DTYPE_BF16, 1u << JD_DTYPE_F16,
                           1u << JD_DTYPE_F32 };
  for (guint i = 0; i < 4; i++)
    {
      const JdBundlePart *part = jd_bundle_get_part (bundle, i);
      g_assert_cmpstr (part->name, ==, names[i]);
      g_assert_cmpint (part->n_parameters, ==, counts[i]);
      g_assert_cmpuint (part->n_tensors, ==, 1);
      g_assert_cmpuint (part->dtypes, ==, dtypes[i]);
    }
  JsonObject *provenance = jd_bundle_get_provenance (bundle);
  g_assert_cmpstr (json_object_get_string_member (provenance, "made_by"), ==,
                   "tests/fixtures/make-hostile.py");

  Run run;
  run_jointdit (&run, "info", path, NULL);
  g_assert_nonnull (strstr (run.out, "Total                   4               17"));
  g_assert_nonnull (strstr (run.out, "made_by: tests/fixtures/make-hostile.py"));
  g_assert_nonnull (strstr (run.out, "learning_rate: 0.00015\n"));
  run_clear (&run);

  /* Numbers are written the same in every locale (where a German locale is installed, a
   * printf-style writer would give "0,00015"). */
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", "de_DE.UTF-8", TRUE);
  run_jointdit_env (&run, envp, "info", path, "--json");
  g_assert_cmpint (run.status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, run.out, -1, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpfloat (json_object_get_double_member (
                       json_object_get_object_member (root, "provenance"), "learning_rate"),
                     ==, 1.5e-4);
  run_clear (&run);
}

static void
test_cli_test_bundle (void)
{
  check_cli_describes (test_bundle_path);
  g_autoptr (JdBundle) bundle = jd_bundle_open (test_bundle_path, NULL);
  /* make-test-bundle puts tensors under every known part. */
  g_assert_cmpuint (jd_bundle_get_n_parts (bundle), ==, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* What g_test_init leaves: the program name, then our two paths. */
  if (argc >= 3)
    {
      jointdit_path = argv[1];
      test_bundle_path = argv[2];
    }
  for (gsize i = 0; i < G_N_ELEMENTS (hostile_files); i++)
    {
      g_autofree char *name = g_strdup_printf ("/hostile/reader/%s", hostile_files[i].file);
      g_test_add_data_func (name, &hostile_files[i], test_reader_refuses);
    }
  g_test_add_func ("/hostile/valid-fixtures", test_valid_fixtures);
  if (jointdit_path != NULL)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (hostile_files); i++)
        {
          g_autofree char *name = g_strdup_printf ("/hostile/cli/%s", hostile_files[i].file);
          g_test_add_data_func (name, &hostile_files[i], test_cli_refuses);
        }
      g_test_add_func ("/hostile/cli/usage", test_cli_usage);
      g_test_add_func ("/hostile/cli/valid-fixture", test_cli_valid_fixture);
      g_test_add_func ("/hostile/cli/test-bundle", test_cli_test_bundle);
    }
  return g_test_run ();
}
