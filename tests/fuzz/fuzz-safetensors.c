/* libFuzzer target for the model-file reader: bytes → jd_safetensors_new_from_bytes → bundle.
 *
 * Whatever the input, the reader must either refuse it with a one-line JD_ERROR_MODEL_FILE or
 * give entries whose spans lie inside the input: every byte of every tensor is read (a checksum
 * the compiler cannot drop), so a span past the end shows up under AddressSanitizer. */
#include <stdint.h>
#include <string.h>

#include "jd-bundle.h"
#include "jd-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static volatile guint64 checksum_sink;

static void
refused (GError *error)
{
  if (error == NULL || error->domain != JD_ERROR || error->code != JD_ERROR_MODEL_FILE
      || strchr (error->message, '\n') != NULL
      || strstr (error->message, "fuzz-input") == NULL)
    __builtin_trap ();
}

static void
check_file (JdSafetensors *file)
{
  guint64 checksum = 0;
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *entry = jd_safetensors_get_entry (file, i);
      for (gsize k = 0; k < entry->nbytes; k++)
        checksum = checksum * 31 + entry->data[k];
      if (jd_safetensors_lookup (file, entry->name) != entry)
        __builtin_trap ();
      /* Conversion reads the same span again, through the F16/BF16 paths. */
      if (entry->nbytes <= ((gsize) 1 << 20))
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (JdTensor) tensor = jd_safetensors_load_f32 (file, entry->name, NULL, &error);
          if (tensor == NULL)
            __builtin_trap ();
          gsize n = entry->nbytes / jd_dtype_size (entry->dtype);
          const float *values = tensor->data;
          for (gsize k = 0; k < n; k++)
            checksum += (guint64) (values[k] == values[k]);
        }
    }
  g_autofree const char **keys = jd_safetensors_get_metadata_keys (file);
  for (guint i = 0; keys[i] != NULL; i++)
    checksum += strlen (jd_safetensors_get_metadata (file, keys[i]));
  checksum_sink = checksum;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr (GError) error = NULL;
  JdSafetensors *file = jd_safetensors_new_from_bytes (bytes, "fuzz-input", &error);
  if (file == NULL)
    {
      refused (error);
      return 0;
    }
  check_file (file);

  g_autoptr (JdBundle) bundle = jd_bundle_new (file, &error);
  if (bundle == NULL)
    {
      refused (error);
      return 0;
    }
  int64_t parameters = 0;
  for (guint i = 0; i < jd_bundle_get_n_parts (bundle); i++)
    parameters += jd_bundle_get_part (bundle, i)->n_parameters;
  if (jd_bundle_get_version (bundle) != JD_BUNDLE_VERSION || parameters < 0)
    __builtin_trap ();
  JsonObject *provenance = jd_bundle_get_provenance (bundle);
  if (provenance != NULL)
    checksum_sink += json_object_get_size (provenance);
  return 0;
}
