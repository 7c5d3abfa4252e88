/* parity-fixtures.c — opening the parity fixtures for the model tests. */
#include "parity-fixtures.h"

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
