/* jointdit info — describe a model bundle: format, parts, parameters, provenance. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "jd-bundle.h"
#include "jd-data-paths.h"
#include "jointdit-cli.h"

#define USAGE "Usage: jointdit info [MODEL] [--json]"

static void
print_help (void)
{
  printf (USAGE "\n"
          "\n"
          "Describe a JointDiT model bundle (a .safetensors file): its format and version,\n"
          "each part's tensors, parameters and dtypes, and where the weights came from.\n"
          "Without MODEL, the default model ($JOINTDIT_MODEL, else the installed one).\n"
          "The file is checked completely; a damaged file is reported, never trusted.\n"
          "\n"
          "Options:\n"
          "  --json       Print a JSON object instead of text\n"
          "  -h, --help   Show this help\n"
          "\n"
          "Exit status: 0 ok, 1 the model cannot be read, 2 wrong arguments.\n");
}

/* 1234567 → "1,234,567" */
static char *
group_thousands (guint64 value)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  GString *out = g_string_new (NULL);
  gsize length = strlen (digits);
  for (gsize i = 0; i < length; i++)
    {
      if (i > 0 && (length - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}

static char *
dtype_list (guint dtypes,
            const char *separator)
{
  GString *out = g_string_new (NULL);
  for (int t = 0; t < JD_DTYPE_COUNT; t++)
    if (dtypes & (1u << t))
      {
        if (out->len > 0)
          g_string_append (out, separator);
        g_string_append (out, jd_dtype_name ((JdDType) t));
      }
  return g_string_free (out, FALSE);
}

/* A config value as one line of text: strings as they are, anything else as compact JSON. */
static char *
value_text (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return jd_safetensors_quote (json_node_get_string (node));
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      /* The shortest of 15 or 17 digits that reads back the same: 1.5e-4, not
       * 0.00014999999999999999; locale-independent. */
      double value = json_node_get_double (node);
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
      if (g_ascii_strtod (buffer, NULL) != value)
        g_ascii_dtostr (buffer, sizeof buffer, value);
      return g_strdup (buffer);
    }
  g_autofree char *json = json_to_string (node, FALSE);
  return jd_safetensors_quote (json);
}

static const char *
config_string (JsonObject *object,
               const char *key)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

static void
print_text (JdBundle   *bundle,
            const char *path)
{
  JdSafetensors *file = jd_bundle_get_file (bundle);
  JsonObject *config = jd_bundle_get_config (bundle);
  g_autofree char *qpath = jd_safetensors_quote (path);
  g_autofree char *size = group_thousands (jd_safetensors_get_size (file));
  g_autofree char *size_human = g_format_size (jd_safetensors_get_size (file));

  printf ("File:     %s\n", qpath);
  if (jd_safetensors_get_size (file) >= 1000)
    printf ("Size:     %s bytes (%s)\n", size, size_human);
  else
    printf ("Size:     %s bytes\n", size);
  printf ("Format:   %s, version %d\n", JD_BUNDLE_FORMAT, jd_bundle_get_version (bundle));
  const char *name = config_string (config, "name");
  if (name != NULL)
    {
      g_autofree char *qname = jd_safetensors_quote (name);
      printf ("Name:     %s\n", qname);
    }
  printf ("\n%-16s %8s %16s  %s\n", "Part", "Tensors", "Parameters", "Dtypes");
  guint total_tensors = 0;
  guint64 total_parameters = 0;
  guint all_dtypes = 0;
  for (guint i = 0; i < jd_bundle_get_n_parts (bundle); i++)
    {
      const JdBundlePart *part = jd_bundle_get_part (bundle, i);
      g_autofree char *parameters = group_thousands ((guint64) part->n_parameters);
      g_autofree char *dtypes = dtype_list (part->dtypes, ", ");
      printf ("%-16s %8u %16s  %s\n", part->name, part->n_tensors, parameters, dtypes);
      total_tensors += part->n_tensors;
      total_parameters += (guint64) part->n_parameters;
      all_dtypes |= part->dtypes;
    }
  g_autofree char *parameters = group_thousands (total_parameters);
  g_autofree char *dtypes = dtype_list (all_dtypes, ", ");
  printf ("%-16s %8u %16s  %s\n", "Total", total_tensors, parameters, dtypes);

  JsonObject *provenance = jd_bundle_get_provenance (bundle);
  if (provenance != NULL && json_object_get_size (provenance) > 0)
    {
      printf ("\nProvenance:\n");
      g_autoptr (GList) keys = json_object_get_members (provenance);
      for (GList *l = keys; l != NULL; l = l->next)
        {
          g_autofree char *key = jd_safetensors_quote (l->data);
          g_autofree char *value = value_text (json_object_get_member (provenance, l->data));
          printf ("  %s: %s\n", key, value);
        }
    }
  else
    printf ("\nProvenance: none recorded\n");
}

static void
print_json (JdBundle   *bundle,
            const char *path)
{
  JdSafetensors *file = jd_bundle_get_file (bundle);
  JsonObject *config = jd_bundle_get_config (bundle);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "file");
  g_autofree char *display_path = g_filename_display_name (path);
  json_builder_add_string_value (builder, display_path);
  json_builder_set_member_name (builder, "size_bytes");
  json_builder_add_int_value (builder, (gint64) jd_safetensors_get_size (file));
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, JD_BUNDLE_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, jd_bundle_get_version (bundle));
  const char *name = config_string (config, "name");
  if (name != NULL)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
    }

  gint64 total_tensors = 0, total_parameters = 0;
  json_builder_set_member_name (builder, "parts");
  json_builder_begin_array (builder);
  for (guint i = 0; i < jd_bundle_get_n_parts (bundle); i++)
    {
      const JdBundlePart *part = jd_bundle_get_part (bundle, i);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, part->name);
      json_builder_set_member_name (builder, "tensors");
      json_builder_add_int_value (builder, part->n_tensors);
      json_builder_set_member_name (builder, "parameters");
      json_builder_add_int_value (builder, part->n_parameters);
      json_builder_set_member_name (builder, "dtypes");
      json_builder_begin_array (builder);
      for (int t = 0; t < JD_DTYPE_COUNT; t++)
        if (part->dtypes & (1u << t))
          json_builder_add_string_value (builder, jd_dtype_name ((JdDType) t));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      total_tensors += part->n_tensors;
      total_parameters += part->n_parameters;
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "total");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "tensors");
  json_builder_add_int_value (builder, total_tensors);
  json_builder_set_member_name (builder, "parameters");
  json_builder_add_int_value (builder, total_parameters);
  json_builder_end_object (builder);

  /* Provenance is copied as the bundle holds it; json-glib writes any non-integer number
   * locale-independently. */
  json_builder_set_member_name (builder, "provenance");
  JsonNode *provenance = json_object_get_member (config, "provenance");
  if (provenance != NULL)
    json_builder_add_value (builder, json_node_copy (provenance));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

int
jd_cli_info (int argc, char **argv)
{
  gboolean json = FALSE;
  gboolean options_done = FALSE;
  const char *path = NULL;

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      if (!options_done && (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0))
        {
          print_help ();
          return JD_EXIT_OK;
        }
      if (!options_done && strcmp (arg, "--json") == 0)
        json = TRUE;
      else if (!options_done && strcmp (arg, "--") == 0)
        options_done = TRUE;
      else if (!options_done && arg[0] == '-' && arg[1] != '\0')
        {
          g_autofree char *quoted = jd_safetensors_quote (arg);
          return jd_cli_fail (JD_EXIT_USAGE, "info: unknown option “%s”. " USAGE, quoted);
        }
      else if (path == NULL)
        path = arg;
      else
        return jd_cli_fail (JD_EXIT_USAGE, "info: takes one model file. " USAGE);
    }
  if (path == NULL)
    path = jd_data_default_model_path ();

  g_autoptr (GError) error = NULL;
  g_autoptr (JdBundle) bundle = jd_bundle_open (path, &error);
  if (bundle == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);

  if (json)
    print_json (bundle, path);
  else
    print_text (bundle, path);
  if (fflush (stdout) != 0 || ferror (stdout))
    return jd_cli_fail (JD_EXIT_FAILURE, "cannot write the description to standard output");
  return JD_EXIT_OK;
}
