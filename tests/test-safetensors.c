/* Safetensors reader and writer: round trips on random data in every dtype and edge shape,
 * F16/BF16 → F32 conversion on load, atomic writes, produced (streamed) tensors, the JSON
 * nesting guard. */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jd-bundle.h"
#include "jd-error.h"
#include "jd-json-depth.h"
#include "jd-safetensors.h"
#include "test-util.h"

typedef struct {
  const char *name;
  JdDType     dtype;
  int         ndim;
  int64_t     shape[JD_MAX_DIMS];
} Spec;

static const Spec specs[] = {
  { "scalar", JD_DTYPE_F32, 0, { 0 } },
  { "five.d", JD_DTYPE_F16, 5, { 2, 1, 3, 1, 5 } },
  { "empty", JD_DTYPE_BF16, 3, { 4, 0, 7 } },
  { "bf16.odd", JD_DTYPE_BF16, 2, { 3, 7 } },
  { "f16.odd", JD_DTYPE_F16, 1, { 13 } },
  { "a.first", JD_DTYPE_F32, 2, { 17, 9 } },
  { "x.f32", JD_DTYPE_F32, 3, { 5, 1, 11 } },
  { "ünïcode \"quoted\" \\ name", JD_DTYPE_F32, 1, { 3 } },
};

static int64_t
spec_numel (const Spec *spec)
{
  int64_t n = 1;
  for (int i = 0; i < spec->ndim; i++)
    n *= spec->shape[i];
  return n;
}

static char *
temp_folder (void)
{
  g_autoptr (GError) error = NULL;
  char *folder = g_dir_make_tmp ("jd-test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  return folder;
}

static guint
count_files (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
remove_folder (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_folder (path);
      else
        g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

static void
test_round_trip (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autofree char *folder = temp_folder ();
  g_autofree char *path = g_build_filename (folder, "model.safetensors", NULL);

  /* Random F32 values; what a narrow dtype must give back is their rounding, computed here
   * independently in double: the nearest representable value. */
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  float *values[G_N_ELEMENTS (specs)];
  g_autoptr (GError) error = NULL;
  for (gsize s = 0; s < G_N_ELEMENTS (specs); s++)
    {
      int64_t n = spec_numel (&specs[s]);
      values[s] = g_new (float, MAX (n, 1));
      for (int64_t i = 0; i < n; i++)
        values[s][i] = (float) g_rand_double_range (rng, -3.0, 3.0);
      g_assert_true (jd_safetensors_writer_add_f32 (writer, specs[s].name, specs[s].dtype,
                                                    specs[s].ndim, specs[s].shape, values[s],
                                                    &error));
      g_assert_no_error (error);
    }
  jd_safetensors_writer_set_metadata (writer, "purpose", "round trip");
  jd_safetensors_writer_set_metadata (writer, "line\nbreak", "tab\there, \"quotes\" and \\");
  g_assert_true (jd_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);

  g_autoptr (JdSafetensors) file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_safetensors_get_n_tensors (file), ==, G_N_ELEMENTS (specs));
  g_assert_cmpstr (jd_safetensors_get_metadata (file, "purpose"), ==, "round trip");
  g_assert_cmpstr (jd_safetensors_get_metadata (file, "line\nbreak"), ==,
                   "tab\there, \"quotes\" and \\");
  g_assert_null (jd_safetensors_get_metadata (file, "absent"));
  g_autofree const char **keys = jd_safetensors_get_metadata_keys (file);
  g_assert_cmpstr (keys[0], ==, "line\nbreak");
  g_assert_cmpstr (keys[1], ==, "purpose");
  g_assert_null (keys[2]);

  /* Entries come sorted by name. */
  for (guint i = 1; i < jd_safetensors_get_n_tensors (file); i++)
    g_assert_cmpint (strcmp (jd_safetensors_get_entry (file, i - 1)->name,
                             jd_safetensors_get_entry (file, i)->name), <, 0);

  for (gsize s = 0; s < G_N_ELEMENTS (specs); s++)
    {
      const Spec *spec = &specs[s];
      const JdSafetensorsEntry *entry = jd_safetensors_lookup (file, spec->name);
      g_assert_nonnull (entry);
      g_assert_cmpint (entry->dtype, ==, spec->dtype);
      g_assert_cmpint (entry->ndim, ==, spec->ndim);
      for (int d = 0; d < spec->ndim; d++)
        g_assert_cmpint (entry->shape[d], ==, spec->shape[d]);
      int64_t n = spec_numel (spec);
      g_assert_cmpuint (entry->nbytes, ==, (gsize) n * jd_dtype_size (spec->dtype));

      g_autoptr (JdTensor) tensor = jd_safetensors_load_f32 (file, spec->name,
                                                             jd_test_backend (), &error);
      g_assert_no_error (error);
      g_assert_cmpint (tensor->dtype, ==, JD_DTYPE_F32);
      g_assert_cmpint (tensor->ndim, ==, spec->ndim);
      const float *loaded = tensor->data;
      /* Relative half-ulp bounds of the narrow formats (F16 stays normal in this range
       * except around zero, covered by the absolute term). */
      double relative = spec->dtype == JD_DTYPE_F32 ? 0.0
                        : spec->dtype == JD_DTYPE_F16 ? ldexp (1.0, -11) : ldexp (1.0, -8);
      for (int64_t i = 0; i < n; i++)
        {
          double expected = values[s][i];
          double bound = relative * fabs (expected) + (spec->dtype == JD_DTYPE_F16
                                                       ? ldexp (1.0, -25) : 0.0);
          g_assert_cmpfloat (fabs ((double) loaded[i] - expected), <=, bound);
        }
      /* Narrow dtypes convert exactly as jd_convert_to_f32 does. */
      if (spec->dtype != JD_DTYPE_F32 && n > 0)
        {
          g_autofree float *converted = g_new (float, n);
          jd_convert_to_f32 (spec->dtype, entry->data, converted, (gsize) n);
          g_assert_cmpmem (converted, n * sizeof (float), loaded, n * sizeof (float));
        }
    }

  /* Same input, same bytes: the writer is deterministic. */
  g_autofree char *again = g_build_filename (folder, "again.safetensors", NULL);
  g_assert_true (jd_safetensors_writer_write (writer, again, &error));
  g_autofree char *first = NULL, *second = NULL;
  gsize first_length, second_length;
  g_assert_true (g_file_get_contents (path, &first, &first_length, NULL));
  g_assert_true (g_file_get_contents (again, &second, &second_length, NULL));
  g_assert_cmpmem (first, first_length, second, second_length);
  /* Header padded with spaces so the data area starts 8-byte aligned. */
  guint64 header_length = 0;
  for (int i = 7; i >= 0; i--)
    header_length = (header_length << 8) | (guint8) first[i];
  g_assert_cmpuint (header_length % 8, ==, 0);

  for (gsize s = 0; s < G_N_ELEMENTS (specs); s++)
    g_free (values[s]);
  g_clear_pointer (&file, jd_safetensors_free);
  remove_folder (folder);
}

static void
test_load_views_and_copies (void)
{
  g_autofree char *folder = temp_folder ();
  g_autofree char *path = g_build_filename (folder, "views.safetensors", NULL);
  g_autoptr (GRand) rng = jd_test_rng ();
  /* Data area: "a" (256 bytes), "b" (12), "c" (20). A metadata entry of the right length puts
   * the data area on a 64-byte boundary of the page-aligned mapping, so F32 "a" and "b" load
   * as views, "c" (at 268) as a copy, and F16 "d" converts. */
  float a[64], b[3], c[5], d[6];
  float *arrays[] = { a, b, c, d };
  const int counts[] = { 64, 3, 5, 6 };
  for (int t = 0; t < 4; t++)
    for (int i = 0; i < counts[t]; i++)
      arrays[t][i] = (float) g_rand_double_range (rng, -1, 1);
  for (int i = 0; i < 6; i++)
    d[i] = jd_f16_to_f32 (jd_f32_to_f16 (d[i])); /* exactly representable */
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_safetensors_writer_add (writer, "a", JD_DTYPE_F32, 2,
                                            (int64_t[]) { 8, 8 }, a, &error));
  g_assert_true (jd_safetensors_writer_add (writer, "b", JD_DTYPE_F32, 1, (int64_t[]) { 3 }, b,
                                            &error));
  g_assert_true (jd_safetensors_writer_add (writer, "c", JD_DTYPE_F32, 1, (int64_t[]) { 5 }, c,
                                            &error));
  g_assert_true (jd_safetensors_writer_add_f32 (writer, "d", JD_DTYPE_F16, 1,
                                                (int64_t[]) { 6 }, d, &error));
  g_autoptr (JdSafetensors) file = NULL;
  for (int pad = 0; pad < 64; pad += 8)
    {
      g_autofree char *spaces = g_strnfill (pad, ' ');
      jd_safetensors_writer_set_metadata (writer, "pad", spaces);
      g_assert_true (jd_safetensors_writer_write (writer, path, &error));
      g_clear_pointer (&file, jd_safetensors_free);
      file = jd_safetensors_open (path, &error);
      g_assert_no_error (error);
      if ((guintptr) jd_safetensors_lookup (file, "a")->data % 64 == 0)
        break;
    }
  g_assert_cmpuint ((guintptr) jd_safetensors_lookup (file, "a")->data % 64, ==, 0);

  JdBackend *backends[] = { NULL, jd_test_backend () };
  for (gsize k = 0; k < G_N_ELEMENTS (backends); k++)
    for (int t = 0; t < 4; t++)
      {
        const char *name = (const char *[]) { "a", "b", "c", "d" }[t];
        g_autoptr (JdTensor) tensor = jd_safetensors_load_f32 (file, name, backends[k], &error);
        g_assert_no_error (error);
        g_assert_cmpint (tensor->dtype, ==, JD_DTYPE_F32);
        g_assert_true (tensor->backend == backends[k]);
        g_assert_cmpmem (tensor->data, counts[t] * sizeof (float), arrays[t],
                         counts[t] * sizeof (float));
        const JdSafetensorsEntry *entry = jd_safetensors_lookup (file, name);
        gboolean view = t < 2;
        g_assert_cmpint (tensor->owns_data, ==, !view);
        g_assert_cmpint (tensor->data == (void *) entry->data, ==, view);
      }

  g_autoptr (JdTensor) missing = jd_safetensors_load_f32 (file, "nope", NULL, &error);
  g_assert_null (missing);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "“nope”"));
  g_assert_nonnull (strstr (error->message, "views.safetensors"));
  g_clear_pointer (&file, jd_safetensors_free);
  remove_folder (folder);
}

static void
assert_write_fails_cleanly (JdSafetensorsWriter *writer,
                            const char          *folder,
                            const char          *path,
                            guint                files_before)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (jd_safetensors_writer_write (writer, path, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_IO);
  g_autofree char *base = g_path_get_basename (path);
  g_assert_nonnull (strstr (error->message, base));
  g_assert_nonnull (strstr (error->message, "Cannot write"));
  if (folder != NULL)
    g_assert_cmpuint (count_files (folder), ==, files_before);
}

static void
test_atomic_write (void)
{
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  float values[4] = { 1, 2, 3, 4 };
  g_assert_true (jd_safetensors_writer_add (writer, "t", JD_DTYPE_F32, 1, (int64_t[]) { 4 },
                                            values, NULL));
  g_autofree char *folder = temp_folder ();

  /* A folder that does not exist. */
  g_autofree char *missing = g_build_filename (folder, "missing", "m.safetensors", NULL);
  assert_write_fails_cleanly (writer, folder, missing, 0);

  /* The target is a folder: the temporary file is written, the rename fails, and the
   * temporary must be gone again. */
  g_autofree char *occupied = g_build_filename (folder, "occupied.safetensors", NULL);
  g_assert_cmpint (g_mkdir (occupied, 0700), ==, 0);
  g_autofree char *inside = g_build_filename (occupied, "x", NULL);
  g_assert_true (g_file_set_contents (inside, "x", 1, NULL));
  assert_write_fails_cleanly (writer, folder, occupied, 1);
  g_assert_cmpuint (count_files (occupied), ==, 1);

  /* A read-only folder (root ignores permissions, so only as another user). */
  g_autofree char *readonly = g_build_filename (folder, "readonly", NULL);
  g_assert_cmpint (g_mkdir (readonly, 0500), ==, 0);
  g_autofree char *target = g_build_filename (readonly, "r.safetensors", NULL);
  if (geteuid () != 0)
    assert_write_fails_cleanly (writer, readonly, target, 0);
  g_assert_cmpint (g_chmod (readonly, 0700), ==, 0);

  /* Replacing an existing file works and leaves only the new file. */
  g_autofree char *path = g_build_filename (folder, "ok.safetensors", NULL);
  g_assert_true (g_file_set_contents (path, "old", 3, NULL));
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (folder), ==, 3); /* occupied, readonly, ok */
  g_autoptr (JdSafetensors) file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_safetensors_get_n_tensors (file), ==, 1);
  g_clear_pointer (&file, jd_safetensors_free);
  remove_folder (folder);
}

static void
test_writer_refuses (void)
{
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  float v[2] = { 1, 2 };
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_safetensors_writer_add (writer, "w", JD_DTYPE_F32, 1, (int64_t[]) { 2 }, v,
                                            &error));
  g_assert_false (jd_safetensors_writer_add (writer, "w", JD_DTYPE_F32, 1, (int64_t[]) { 2 },
                                             v, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "twice"));
  g_clear_error (&error);
  g_assert_false (jd_safetensors_writer_add (writer, "__metadata__", JD_DTYPE_F32, 1,
                                             (int64_t[]) { 2 }, v, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (jd_safetensors_writer_add (writer, "neg", JD_DTYPE_F32, 1,
                                             (int64_t[]) { -2 }, v, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“neg”"));
}

/* A produced tensor: its values, and whether it fails instead. */
typedef struct {
  const float *values;
  gboolean     fail;
  int         *destroyed;
} Produced;

static gboolean
produce_values (gpointer data, const char *name, float *values, int64_t numel, GError **error)
{
  Produced *p = data;
  if (p->fail)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "test producer refuses %s", name);
      return FALSE;
    }
  if (numel > 0)
    memcpy (values, p->values, sizeof (float) * (gsize) numel);
  return TRUE;
}

static void
produced_free (gpointer data)
{
  Produced *p = data;
  (*p->destroyed)++;
  g_free (p);
}

typedef struct {
  guint   calls;
  guint64 last_done;
  guint64 total;
  char   *last_name;
} ProgressLog;

static void
log_progress (guint64 done, guint64 total, const char *name, gpointer user_data)
{
  ProgressLog *log = user_data;
  g_assert_cmpuint (done, >=, log->last_done);
  g_assert_cmpuint (done, <=, total);
  if (log->last_name != NULL)
    g_assert_cmpint (strcmp (log->last_name, name), <, 0);   /* name order */
  g_free (log->last_name);
  log->last_name = g_strdup (name);
  log->last_done = done;
  log->total = total;
  log->calls++;
}

static JdSafetensorsWriter *
produced_writer (float **values, int fail_at, int *destroyed)
{
  JdSafetensorsWriter *writer = jd_safetensors_writer_new ();
  jd_safetensors_writer_set_metadata (writer, "purpose", "round trip");
  for (gsize s = 0; s < G_N_ELEMENTS (specs); s++)
    {
      Produced *p = g_new0 (Produced, 1);
      p->values = values[s];
      p->fail = (int) s == fail_at;
      p->destroyed = destroyed;
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_safetensors_writer_add_producer (writer, specs[s].name, specs[s].dtype,
                                                         specs[s].ndim, specs[s].shape,
                                                         produce_values, p, produced_free,
                                                         &error));
      g_assert_no_error (error);
    }
  return writer;
}

/* Produced tensors give the same bytes as held ones, report progress in name order and, when a
 * producer fails, leave no file and pass its error on. */
static void
test_producer (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autofree char *folder = temp_folder ();
  g_autofree char *held_path = g_build_filename (folder, "held.safetensors", NULL);
  g_autofree char *produced_path = g_build_filename (folder, "produced.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  float *values[G_N_ELEMENTS (specs)];
  g_autoptr (JdSafetensorsWriter) held = jd_safetensors_writer_new ();
  jd_safetensors_writer_set_metadata (held, "purpose", "round trip");
  guint64 expected_bytes = 0;
  for (gsize s = 0; s < G_N_ELEMENTS (specs); s++)
    {
      int64_t n = spec_numel (&specs[s]);
      values[s] = g_new (float, MAX (n, 1));
      for (int64_t i = 0; i < n; i++)
        values[s][i] = (float) g_rand_double_range (rng, -3.0, 3.0);
      g_assert_true (jd_safetensors_writer_add_f32 (held, specs[s].name, specs[s].dtype,
                                                    specs[s].ndim, specs[s].shape, values[s],
                                                    &error));
      expected_bytes += (guint64) n * jd_dtype_size (specs[s].dtype);
    }
  g_assert_true (jd_safetensors_writer_write (held, held_path, &error));
  g_assert_no_error (error);

  int destroyed = 0;
  JdSafetensorsWriter *writer = produced_writer (values, -1, &destroyed);
  g_assert_cmpuint (jd_safetensors_writer_get_n (writer), ==, G_N_ELEMENTS (specs));
  g_assert_cmpuint (jd_safetensors_writer_get_data_size (writer), ==, expected_bytes);
  ProgressLog log = { 0 };
  g_assert_true (jd_safetensors_writer_write_with_progress (writer, produced_path, log_progress,
                                                            &log, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (log.calls, ==, G_N_ELEMENTS (specs));
  g_assert_cmpuint (log.last_done, ==, expected_bytes);
  g_assert_cmpuint (log.total, ==, expected_bytes);
  g_free (log.last_name);
  g_assert_cmpint (destroyed, ==, 0);
  jd_safetensors_writer_free (writer);
  g_assert_cmpint (destroyed, ==, (int) G_N_ELEMENTS (specs));

  g_autofree char *held_bytes = NULL, *produced_bytes = NULL;
  gsize held_length = 0, produced_length = 0;
  g_assert_true (g_file_get_contents (held_path, &held_bytes, &held_length, NULL));
  g_assert_true (g_file_get_contents (produced_path, &produced_bytes, &produced_length, NULL));
  g_assert_cmpmem (held_bytes, held_length, produced_bytes, produced_length);

  /* The third tensor in name order fails: its error comes back as it was, nothing is left. */
  g_autofree char *failed_path = g_build_filename (folder, "failed.safetensors", NULL);
  destroyed = 0;
  writer = produced_writer (values, 3, &destroyed);
  g_assert_false (jd_safetensors_writer_write (writer, failed_path, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "test producer refuses"));
  g_assert_nonnull (strstr (error->message, specs[3].name));
  g_clear_error (&error);
  g_assert_cmpuint (count_files (folder), ==, 2);
  jd_safetensors_writer_free (writer);
  g_assert_cmpint (destroyed, ==, (int) G_N_ELEMENTS (specs));

  /* A refused tensor releases its data at once. */
  writer = jd_safetensors_writer_new ();
  destroyed = 0;
  Produced *p = g_new0 (Produced, 1);
  p->destroyed = &destroyed;
  g_assert_false (jd_safetensors_writer_add_producer (writer, "bad", JD_DTYPE_F32, 1,
                                                      (int64_t[]) { -1 }, produce_values, p,
                                                      produced_free, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“bad”"));
  g_assert_cmpint (destroyed, ==, 1);
  jd_safetensors_writer_free (writer);

  for (gsize s = 0; s < G_N_ELEMENTS (specs); s++)
    g_free (values[s]);
  remove_folder (folder);
}

static void
test_open_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_safetensors_open ("/nonexistent/x.safetensors", &error);
  g_assert_null (file);
  g_assert_error (error, JD_ERROR, JD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.safetensors"));
  g_clear_error (&error);
  file = jd_safetensors_open ("/", &error);
  g_assert_null (file);
  g_assert_error (error, JD_ERROR, JD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));

  /* An empty file and a name with a line break still give a one-line message. */
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_clear_error (&error);
  file = jd_safetensors_new_from_bytes (empty, "two\nlines", &error);
  g_assert_null (file);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, "two\\nlines"));
}

static void
test_nesting_guard (void)
{
  GString *text = g_string_new (NULL);
  for (int i = 0; i < 64; i++)
    g_string_append_c (text, i % 2 ? '[' : '{');
  g_assert_true (jd_json_depth_within (text->str, text->len, 64));
  g_string_append_c (text, '[');
  g_assert_false (jd_json_depth_within (text->str, text->len, 64));
  g_string_free (text, TRUE);

  /* Closing brackets bring the depth back down. */
  const char *siblings = "[[[]]] [[[]]] [[[]]]";
  g_assert_true (jd_json_depth_within (siblings, strlen (siblings), 3));
  g_assert_false (jd_json_depth_within (siblings, strlen (siblings), 2));

  /* Brackets in strings do not count, escaped quotes do not end strings. */
  const char *in_string = "{\"a\": \"[[[[[[{{{{\", \"b\\\"[[[[\": [\"\\\\\", \"]]]\"]}";
  g_assert_true (jd_json_depth_within (in_string, strlen (in_string), 2));
  g_assert_false (jd_json_depth_within (in_string, strlen (in_string), 1));
  const char *escaped = "[\"\\\"[[[[\"]";
  g_assert_true (jd_json_depth_within (escaped, strlen (escaped), 1));

  /* 100 000 '[' are refused at once, without a parser. */
  gsize n = 100000;
  g_autofree char *deep = g_malloc (n);
  memset (deep, '[', n);
  gint64 start = g_get_monotonic_time ();
  g_assert_false (jd_json_depth_within (deep, n, 64));
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);

  /* And through the reader: a header of 100 000 '[' is a clear error, not a crash. */
  GByteArray *bytes = g_byte_array_new ();
  guint8 length[8] = { 0 };
  length[0] = (guint8) (n & 0xff);
  length[1] = (guint8) ((n >> 8) & 0xff);
  length[2] = (guint8) ((n >> 16) & 0xff);
  g_byte_array_append (bytes, length, 8);
  g_byte_array_append (bytes, (guint8 *) deep, (guint) n);
  g_autoptr (GBytes) data = g_byte_array_free_to_bytes (bytes);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_safetensors_new_from_bytes (data, "deep", &error);
  g_assert_null (file);
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "deeper than 64"));
}

/* Writes a one-tensor file with the given config (NULL: none) and opens it as a bundle. */
static JdBundle *
bundle_with_config (const char *config,
                    const char *tensor_name,
                    GError    **error)
{
  g_autofree char *folder = temp_folder ();
  g_autofree char *path = g_build_filename (folder, "b.safetensors", NULL);
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  float v[3] = { 1, 2, 3 };
  g_assert_true (jd_safetensors_writer_add (writer, tensor_name, JD_DTYPE_F32, 1,
                                            (int64_t[]) { 3 }, v, NULL));
  if (config != NULL)
    jd_safetensors_writer_set_metadata (writer, JD_BUNDLE_CONFIG_KEY, config);
  g_assert_true (jd_safetensors_writer_write (writer, path, NULL));
  JdBundle *bundle = jd_bundle_open (path, error);
  remove_folder (folder); /* the mapping stays valid after the name is gone */
  return bundle;
}

static void
test_bundle_config (void)
{
  static const struct {
    const char *config;
    const char *phrase;   /* NULL: accepted */
  } cases[] = {
    { "{\"format\":\"jointdit-bundle\",\"version\":1}", NULL },
    { "{\"format\":\"jointdit-bundle\",\"version\":1,\"provenance\":{\"a\":\"b\"}}", NULL },
    { "{\"format\":\"jointdit-bundle\"}", "no whole-number \"version\"" },
    { "{\"format\":\"jointdit-bundle\",\"version\":\"1\"}", "no whole-number \"version\"" },
    { "{\"format\":\"jointdit-bundle\",\"version\":1.0}", "no whole-number \"version\"" },
    { "{\"format\":\"jointdit-bundle\",\"version\":0}", "invalid version 0" },
    { "{\"format\":\"jointdit-bundle\",\"version\":7}", "bundle version 7; this one reads 1" },
    { "{\"version\":1}", "\"format\" is missing or not a string" },
    { "{\"format\":\"jointdit-bundle\",\"version\":1,\"provenance\":[]}",
      "\"provenance\" is not an object" },
    { "", "bundle config is not a JSON object" },
    { "{\"format\":", "bundle config is not valid JSON" },
    { "\"[[[[\"", "bundle config is not a JSON object" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JdBundle) bundle = bundle_with_config (cases[i].config, "joint.w", &error);
      if (cases[i].phrase == NULL)
        {
          g_assert_no_error (error);
          g_assert_cmpint (jd_bundle_get_version (bundle), ==, 1);
          g_assert_cmpint (json_object_get_int_member (jd_bundle_get_config (bundle), "version"),
                           ==, 1);
          continue;
        }
      g_assert_null (bundle);
      g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
      if (strstr (error->message, cases[i].phrase) == NULL
          || strstr (error->message, "b.safetensors") == NULL)
        g_error ("config %s: message “%s” lacks “%s”", cases[i].config, error->message,
                 cases[i].phrase);
    }

  /* Parts by prefix: a prefix must match whole, with its dot. */
  g_assert_cmpstr (jd_bundle_part_for_name ("video.unet.conv_in.weight"), ==, "video.unet");
  g_assert_cmpstr (jd_bundle_part_for_name ("video.unetx.w"), ==, "other");
  g_assert_cmpstr (jd_bundle_part_for_name ("audio.vocoder.conv_pre.weight"), ==,
                   "audio.vocoder");
  g_assert_cmpstr (jd_bundle_part_for_name ("image_encoder.proj"), ==, "image_encoder");
  g_assert_cmpstr (jd_bundle_part_for_name ("joint"), ==, "other");
  g_assert_cmpstr (jd_bundle_part_for_name ("joint.blocks.0.attn.to_q_video.weight"), ==,
                   "joint");
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBundle) other = bundle_with_config ("{\"format\":\"jointdit-bundle\","
                                                   "\"version\":1}", "extra", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jd_bundle_get_n_parts (other), ==, 1);
  g_assert_cmpstr (jd_bundle_get_part (other, 0)->name, ==, "other");
  g_assert_null (jd_bundle_get_part (other, 0)->prefix);
  g_assert_cmpint (jd_bundle_get_part (other, 0)->n_parameters, ==, 3);
  g_assert_null (jd_bundle_get_provenance (other));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/load-views-and-copies", test_load_views_and_copies);
  g_test_add_func ("/safetensors/atomic-write", test_atomic_write);
  g_test_add_func ("/safetensors/writer-refuses", test_writer_refuses);
  g_test_add_func ("/safetensors/producer", test_producer);
  g_test_add_func ("/safetensors/open-errors", test_open_errors);
  g_test_add_func ("/safetensors/nesting-guard", test_nesting_guard);
  g_test_add_func ("/safetensors/bundle-config", test_bundle_config);
  return g_test_run ();
}
