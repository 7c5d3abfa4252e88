#include "jd-config-read.h"

#include <math.h>

#include "jd-error.h"

static gboolean
fail (GError **error, const char *path, const char *key, const char *what)
{
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "The model config's %s.%s %s", path, key,
               what);
  return FALSE;
}

gboolean
jd_config_has (JsonObject *object, const char *key)
{
  JsonNode *node = json_object_get_member (object, key);
  return node != NULL && !JSON_NODE_HOLDS_NULL (node);
}

static JsonNode *
member (JsonObject *object, const char *path, const char *key, GError **error)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      fail (error, path, key, "is missing");
      return NULL;
    }
  return node;
}

JsonObject *
jd_config_object (JsonObject *object, const char *path, const char *key, GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      fail (error, path, key, "must be an object");
      return NULL;
    }
  return json_node_get_object (node);
}

static gboolean
node_int (JsonNode *node, int64_t min, int64_t max, int64_t *out)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  int64_t value = json_node_get_int (node);
  if (value < min || value > max)
    return FALSE;
  *out = value;
  return TRUE;
}

static char *
range_text (int64_t min, int64_t max)
{
  return g_strdup_printf ("must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                          min, max);
}

gboolean
jd_config_int (JsonObject *object, const char *path, const char *key, int64_t min, int64_t max,
               int64_t *out, GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return FALSE;
  if (!node_int (node, min, max, out))
    {
      g_autofree char *what = range_text (min, max);
      return fail (error, path, key, what);
    }
  return TRUE;
}

gboolean
jd_config_double (JsonObject *object, const char *path, const char *key, double *out,
                  GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return FALSE;
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return fail (error, path, key, "must be a number");
  double value = type == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                      : json_node_get_double (node);
  if (!isfinite (value))
    return fail (error, path, key, "must be a finite number");
  *out = value;
  return TRUE;
}

gboolean
jd_config_bool (JsonObject *object, const char *path, const char *key, gboolean *out,
                GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fail (error, path, key, "must be true or false");
  *out = json_node_get_boolean (node);
  return TRUE;
}

const char *
jd_config_string (JsonObject *object, const char *path, const char *key, GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      fail (error, path, key, "must be a string");
      return NULL;
    }
  return json_node_get_string (node);
}

gboolean
jd_config_int_array (JsonObject *object, const char *path, const char *key, int64_t min,
                     int64_t max, int length, int max_length, int64_t *out, int *out_length,
                     GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail (error, path, key, "must be a list of integers");
  JsonArray *array = json_node_get_array (node);
  guint n = json_array_get_length (array);
  if (length >= 0 && n != (guint) length)
    {
      g_autofree char *what = g_strdup_printf ("must list %d integers, not %u", length, n);
      return fail (error, path, key, what);
    }
  if (length < 0 && (n < 1 || n > (guint) max_length))
    {
      g_autofree char *what = g_strdup_printf ("must list 1 to %d integers, not %u",
                                               max_length, n);
      return fail (error, path, key, what);
    }
  for (guint i = 0; i < n; i++)
    if (!node_int (json_array_get_element (array, i), min, max, &out[i]))
      {
        g_autofree char *range = range_text (min, max);
        g_autofree char *what = g_strdup_printf ("[%u] %s", i, range);
        return fail (error, path, key, what);
      }
  if (out_length != NULL)
    *out_length = (int) n;
  return TRUE;
}

char **
jd_config_string_array (JsonObject *object, const char *path, const char *key, GError **error)
{
  JsonNode *node = member (object, path, key, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      fail (error, path, key, "must be a list of strings");
      return NULL;
    }
  JsonArray *array = json_node_get_array (node);
  guint n = json_array_get_length (array);
  g_autoptr (GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        {
          g_autofree char *what = g_strdup_printf ("[%u] must be a string", i);
          fail (error, path, key, what);
          return NULL;
        }
      g_ptr_array_add (strings, g_strdup (json_node_get_string (element)));
    }
  g_ptr_array_add (strings, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&strings), FALSE);
}
