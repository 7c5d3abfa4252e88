#include "jd-bundle.h"

#include <stdarg.h>
#include <string.h>

#include "jd-error.h"
#include "jd-json-depth.h"

static const struct {
  const char *name;
  const char *prefix;
} known_parts[] = {
  { "video.unet", "video.unet." },
  { "video.vae", "video.vae." },
  { "audio.unet", "audio.unet." },
  { "audio.vae", "audio.vae." },
  { "audio.vocoder", "audio.vocoder." },
  { "image_encoder", "image_encoder." },
  { "joint", "joint." },
};

#define N_PART_SLOTS (G_N_ELEMENTS (known_parts) + 1) /* the known ones, then "other" */

struct _JdBundle {
  JdSafetensors *file;
  JsonNode      *config;        /* an object */
  int            version;
  JdBundlePart   parts[N_PART_SLOTS];
  guint          n_parts;
};

static guint
part_slot (const char *tensor_name)
{
  for (guint i = 0; i < G_N_ELEMENTS (known_parts); i++)
    if (g_str_has_prefix (tensor_name, known_parts[i].prefix))
      return i;
  return G_N_ELEMENTS (known_parts);
}

const char *
jd_bundle_part_for_name (const char *tensor_name)
{
  guint slot = part_slot (tensor_name);
  return slot < G_N_ELEMENTS (known_parts) ? known_parts[slot].name : "other";
}

G_GNUC_PRINTF (3, 4) static void
set_bundle_error (GError       **error,
                  JdSafetensors *file,
                  const char    *format,
                  ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  /* "“f” is not …" reads as a sentence; anything else follows a colon. */
  gboolean sentence = g_str_has_prefix (message, "is ") || g_str_has_prefix (message, "was ");
  g_autofree char *quoted = jd_safetensors_quote (jd_safetensors_get_name (file));
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "“%s”%s%s", quoted,
               sentence ? " " : ": ", message);
}

static gboolean
parse_config (JdBundle *bundle,
              GError  **error)
{
  JdSafetensors *file = bundle->file;
  const char *text = jd_safetensors_get_metadata (file, JD_BUNDLE_CONFIG_KEY);
  if (text == NULL)
    {
      set_bundle_error (error, file,
                        "is not a JointDiT bundle: its __metadata__ has no “"
                        JD_BUNDLE_CONFIG_KEY "” entry");
      return FALSE;
    }
  gsize length = strlen (text);
  if (!jd_json_depth_within (text, length, JD_JSON_MAX_DEPTH))
    {
      set_bundle_error (error, file, "its bundle config nests JSON deeper than %d levels",
                        JD_JSON_MAX_DEPTH);
      return FALSE;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) length, &json_error))
    {
      g_autofree char *reason = jd_safetensors_quote (json_error->message);
      set_bundle_error (error, file, "its bundle config is not valid JSON (%s)", reason);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_bundle_error (error, file, "its bundle config is not a JSON object");
      return FALSE;
    }
  JsonObject *config = json_node_get_object (root);

  JsonNode *format = json_object_get_member (config, "format");
  if (format == NULL || !JSON_NODE_HOLDS_VALUE (format)
      || json_node_get_value_type (format) != G_TYPE_STRING
      || strcmp (json_node_get_string (format), JD_BUNDLE_FORMAT) != 0)
    {
      g_autofree char *found = NULL;
      if (format != NULL && JSON_NODE_HOLDS_VALUE (format)
          && json_node_get_value_type (format) == G_TYPE_STRING)
        found = jd_safetensors_quote (json_node_get_string (format));
      set_bundle_error (error, file,
                        "is not a JointDiT bundle: its config's \"format\" is %s%s%s where “"
                        JD_BUNDLE_FORMAT "” was expected",
                        found ? "“" : "", found ? found : "missing or not a string",
                        found ? "”" : "");
      return FALSE;
    }

  JsonNode *version = json_object_get_member (config, "version");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version)
      || json_node_get_value_type (version) != G_TYPE_INT64)
    {
      set_bundle_error (error, file, "its bundle config has no whole-number \"version\"");
      return FALSE;
    }
  gint64 number = json_node_get_int (version);
  if (number > JD_BUNDLE_VERSION)
    {
      set_bundle_error (error, file,
                        "was made by a newer JointDiT Studio (bundle version %" G_GINT64_FORMAT
                        "; this one reads %d)", number, JD_BUNDLE_VERSION);
      return FALSE;
    }
  if (number < 1)
    {
      set_bundle_error (error, file, "its bundle config has an invalid version %"
                        G_GINT64_FORMAT " (versions start at 1)", number);
      return FALSE;
    }
  JsonNode *provenance = json_object_get_member (config, "provenance");
  /* An object, or a one-line description (the reference's random-weight bundles write one). */
  if (provenance != NULL && !JSON_NODE_HOLDS_OBJECT (provenance)
      && !(JSON_NODE_HOLDS_VALUE (provenance)
           && json_node_get_value_type (provenance) == G_TYPE_STRING))
    {
      set_bundle_error (error, file,
                        "its bundle config's \"provenance\" is neither an object nor a string");
      return FALSE;
    }
  bundle->version = (int) number;
  bundle->config = json_node_ref (root);
  return TRUE;
}

static void
count_parts (JdBundle *bundle)
{
  JdBundlePart slots[N_PART_SLOTS] = { 0 };
  for (guint i = 0; i < G_N_ELEMENTS (known_parts); i++)
    {
      slots[i].name = known_parts[i].name;
      slots[i].prefix = known_parts[i].prefix;
    }
  slots[N_PART_SLOTS - 1].name = "other";

  JdSafetensors *file = bundle->file;
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *entry = jd_safetensors_get_entry (file, i);
      JdBundlePart *part = &slots[part_slot (entry->name)];
      part->n_tensors++;
      /* Cannot overflow: each count is at most the tensor's bytes, all inside the file. */
      part->n_parameters += (int64_t) (entry->nbytes / jd_dtype_size (entry->dtype));
      part->dtypes |= 1u << entry->dtype;
    }
  for (guint i = 0; i < N_PART_SLOTS; i++)
    if (slots[i].n_tensors > 0)
      bundle->parts[bundle->n_parts++] = slots[i];
}

JdBundle *
jd_bundle_new (JdSafetensors *file,
               GError       **error)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_autoptr (JdBundle) bundle = g_new0 (JdBundle, 1);
  bundle->file = file;
  if (!parse_config (bundle, error))
    return NULL;
  count_parts (bundle);
  return g_steal_pointer (&bundle);
}

JdBundle *
jd_bundle_open (const char *path,
                GError    **error)
{
  JdSafetensors *file = jd_safetensors_open (path, error);
  if (file == NULL)
    return NULL;
  return jd_bundle_new (file, error);
}

void
jd_bundle_free (JdBundle *bundle)
{
  if (bundle == NULL)
    return;
  g_clear_pointer (&bundle->config, json_node_unref);
  g_clear_pointer (&bundle->file, jd_safetensors_free);
  g_free (bundle);
}

JdSafetensors *
jd_bundle_get_file (JdBundle *bundle)
{
  return bundle->file;
}

int
jd_bundle_get_version (JdBundle *bundle)
{
  return bundle->version;
}

JsonObject *
jd_bundle_get_config (JdBundle *bundle)
{
  return json_node_get_object (bundle->config);
}

JsonObject *
jd_bundle_get_provenance (JdBundle *bundle)
{
  JsonNode *node = json_object_get_member (jd_bundle_get_config (bundle), "provenance");
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

guint
jd_bundle_get_n_parts (JdBundle *bundle)
{
  return bundle->n_parts;
}

const JdBundlePart *
jd_bundle_get_part (JdBundle *bundle,
                    guint     index)
{
  g_return_val_if_fail (index < bundle->n_parts, NULL);
  return &bundle->parts[index];
}
