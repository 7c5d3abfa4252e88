/* parity-fixtures.c — opening the parity fixtures for the model tests. */
#include "parity-fixtures.h"

#include <string.h>

JdSafetensors *
jd_reference_fixture (const char *file_name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference",
                                                 file_name, NULL);
  JdSafetensors *file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  return file;
}

JdSafetensors *
jd_parity_weights (void)
{
  return jd_reference_fixture ("parity.safetensors");
}

JsonObject *
jd_parity_config (JdSafetensors *weights)
{
  g_autoptr (GError) error = NULL;
  const char *text = jd_safetensors_get_metadata (weights, JD_BUNDLE_CONFIG_KEY);
  g_assert_nonnull (text);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

JdSafetensors *
jd_parity_golden (void)
{
  return jd_reference_fixture ("parity-golden.safetensors");
}

JdTensor *
jd_parity_tensor (JdSafetensors *golden, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) host = jd_safetensors_load_f32 (golden, name, NULL, &error);
  g_assert_no_error (error);
  JdTensor *t = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, host->ndim, host->shape, &error);
  g_assert_no_error (error);
  jd_tensor_upload_f32 (t, host->data, &error);
  g_assert_no_error (error);
  return t;
}

double *
jd_parity_expected (JdSafetensors *golden, const char *name, gsize *n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdTensor) host = jd_safetensors_load_f32 (golden, name, NULL, &error);
  g_assert_no_error (error);
  *n = (gsize) jd_tensor_numel (host);
  double *out = g_new (double, *n);
  for (gsize i = 0; i < *n; i++)
    out[i] = ((const float *) host->data)[i];
  return out;
}

char *
jd_published_layout_find (const char *name)
{
  g_autofree char *dir = g_strdup (g_test_get_dir (G_TEST_DIST));
  for (;;)
    {
      g_autofree char *candidate = g_build_filename (dir, "shared", "reference", name, NULL);
      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&candidate);
      g_autofree char *parent = g_path_get_dirname (dir);
      if (strcmp (parent, dir) == 0)
        return NULL;
      g_free (dir);
      dir = g_steal_pointer (&parent);
    }
}

typedef struct {
  char    *name;
  int      ndim;
  int64_t  shape[JD_MAX_DIMS];
} LayoutEntry;

guint
jd_published_layout_fill (JdWeights *weights, const char *path, float **buffer,
                          gboolean (*leave_out) (const char *name))
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GArray) entries = g_array_new (FALSE, TRUE, sizeof (LayoutEntry));
  int64_t largest = 1;
  for (int i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_auto (GStrv) columns = g_strsplit (lines[i], "\t", 2);
      g_assert_nonnull (columns[1]);
      LayoutEntry entry = { .name = g_strdup (columns[0]) };
      int64_t numel = 1;
      g_auto (GStrv) dims = g_strsplit_set (columns[1], "[], ", -1);
      for (int d = 0; dims[d] != NULL; d++)
        if (dims[d][0] != '\0')
          {
            g_assert_cmpint (entry.ndim, <, JD_MAX_DIMS);
            entry.shape[entry.ndim] = g_ascii_strtoll (dims[d], NULL, 10);
            numel *= entry.shape[entry.ndim++];
          }
      largest = MAX (largest, numel);
      g_array_append_val (entries, entry);
    }
  *buffer = g_malloc0 ((gsize) largest * sizeof (float));
  guint stored = 0;
  for (guint i = 0; i < entries->len; i++)
    {
      LayoutEntry *entry = &g_array_index (entries, LayoutEntry, i);
      if (leave_out == NULL || !leave_out (entry->name))
        {
          JdTensor *view = jd_tensor_new_view (jd_weights_get_backend (weights), JD_DTYPE_F32,
                                               entry->ndim, entry->shape, *buffer);
          g_assert_true (jd_weights_add (weights, entry->name, view, &error));
          stored++;
        }
      g_free (entry->name);
    }
  return stored;
}
