/* Reading a source checkpoint folder or file, refusing pickles. */
#include "jd-convert-source.h"

#include <string.h>

#include "jd-error.h"
#include "jd-json-depth.h"

struct _JdConvertSource {
  char       *path;
  char       *config_path;
  JsonParser *parser;
  GPtrArray  *files;    /* JdSafetensors* */
  GPtrArray  *paths;    /* char*, parallel to files */
  GHashTable *index;    /* name → file index + 1 (GUINT_TO_POINTER) */
  GPtrArray  *names;    /* sorted, borrowed from the files' entries */
};

gboolean
jd_convert_is_pickle_name (const char *path)
{
  static const char *const suffixes[] = { ".bin", ".ckpt", ".pt", ".pth", ".pkl", ".pickle" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (path, suffixes[i]))
      return TRUE;
  return FALSE;
}

gboolean
jd_convert_refuse_pickle (const char *path, GError **error)
{
  g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
               "%s is a pickled checkpoint; jointdit never loads pickles (loading one can run "
               "any code it holds): convert it to safetensors first, e.g. in Python with "
               "diffusers' or transformers' save_pretrained (safe_serialization=True)", path);
  return FALSE;
}

static JdConvertSource *
source_new (const char *path)
{
  JdConvertSource *source = g_new0 (JdConvertSource, 1);
  source->path = g_strdup (path);
  source->files = g_ptr_array_new_with_free_func ((GDestroyNotify) jd_safetensors_free);
  source->paths = g_ptr_array_new_with_free_func (g_free);
  source->index = g_hash_table_new (g_str_hash, g_str_equal);
  source->names = g_ptr_array_new ();
  return source;
}

void
jd_convert_source_free (JdConvertSource *source)
{
  if (source == NULL)
    return;
  g_ptr_array_unref (source->names);
  g_hash_table_unref (source->index);
  g_ptr_array_unref (source->files);
  g_ptr_array_unref (source->paths);
  g_clear_object (&source->parser);
  g_free (source->config_path);
  g_free (source->path);
  g_free (source);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
add_file (JdConvertSource *source, const char *path, GError **error)
{
  if (jd_convert_is_pickle_name (path))
    return jd_convert_refuse_pickle (path, error);
  JdSafetensors *file = jd_safetensors_open (path, error);
  if (file == NULL)
    return FALSE;
  g_ptr_array_add (source->files, file);
  g_ptr_array_add (source->paths, g_strdup (path));
  const guint file_index = source->files->len;
  for (guint i = 0; i < jd_safetensors_get_n_tensors (file); i++)
    {
      const JdSafetensorsEntry *e = jd_safetensors_get_entry (file, i);
      gpointer previous = g_hash_table_lookup (source->index, e->name);
      if (previous != NULL)
        {
          g_autofree char *q = jd_safetensors_quote (e->name);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: tensor “%s” is also in %s; a checkpoint must hold each tensor once",
                       path, q, (char *) g_ptr_array_index (source->paths,
                                                             GPOINTER_TO_UINT (previous) - 1));
          return FALSE;
        }
      g_hash_table_insert (source->index, (gpointer) e->name, GUINT_TO_POINTER (file_index));
      g_ptr_array_add (source->names, (gpointer) e->name);
    }
  return TRUE;
}

static void
finish (JdConvertSource *source)
{
  g_ptr_array_sort (source->names, compare_names);
}

JdConvertSource *
jd_convert_source_open_file (const char *path, GError **error)
{
  g_autoptr (JdConvertSource) source = source_new (path);
  if (!add_file (source, path, error))
    return NULL;
  finish (source);
  return g_steal_pointer (&source);
}

/* The shards a *.safetensors.index.json lists in its weight_map, each once, in first-seen
 * order; each must be a plain file name in the folder. */
static gboolean
add_index (JdConvertSource *source, const char *folder, const char *index_path, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;
  if (!g_file_get_contents (index_path, &text, &length, error))
    return FALSE;
  if (!jd_json_depth_within (text, length, JD_JSON_MAX_DEPTH))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "%s nests deeper than %d levels",
                   index_path, JD_JSON_MAX_DEPTH);
      return FALSE;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) length, error))
    {
      g_prefix_error (error, "%s: ", index_path);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *map = NULL;
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *node = json_object_get_member (json_node_get_object (root), "weight_map");
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        map = json_node_get_object (node);
    }
  if (map == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s: a shard index must be a JSON object with a \"weight_map\" object",
                   index_path);
      return FALSE;
    }
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GList) members = json_object_get_members (map);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (map, l->data);
      const char *shard = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
      if (shard == NULL || strchr (shard, '/') != NULL || strcmp (shard, "..") == 0
          || strcmp (shard, ".") == 0)
        {
          g_autofree char *q = jd_safetensors_quote (l->data);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: the weight_map entry of “%s” must be a file name in the same folder",
                       index_path, q);
          return FALSE;
        }
      g_hash_table_insert (expected, l->data, (gpointer) shard);
      if (g_hash_table_contains (seen, shard))
        continue;
      g_hash_table_add (seen, (gpointer) shard);
      g_autofree char *shard_path = g_build_filename (folder, shard, NULL);
      if (!add_file (source, shard_path, error))
        return FALSE;
    }
  /* Each tensor must sit in the shard the index names. */
  for (guint i = 0; i < source->names->len; i++)
    {
      const char *name = g_ptr_array_index (source->names, i);
      const char *want = g_hash_table_lookup (expected, name);
      guint at = GPOINTER_TO_UINT (g_hash_table_lookup (source->index, name)) - 1;
      g_autofree char *base = g_path_get_basename (g_ptr_array_index (source->paths, at));
      if (want == NULL || strcmp (want, base) != 0)
        {
          g_autofree char *q = jd_safetensors_quote (name);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: tensor “%s” is in %s, but the index %s", index_path, q, base,
                       want ? "names another shard" : "does not list it");
          return FALSE;
        }
    }
  return TRUE;
}

JdConvertSource *
jd_convert_source_open_folder (const char *folder, GError **error)
{
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      if (g_file_test (folder, G_FILE_TEST_EXISTS) && jd_convert_is_pickle_name (folder))
        {
          jd_convert_refuse_pickle (folder, error);
          return NULL;
        }
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s is not a folder (expected a model folder "
                   "with config.json and safetensors weights)", folder);
      return NULL;
    }
  g_autoptr (JdConvertSource) source = source_new (folder);
  source->config_path = g_build_filename (folder, "config.json", NULL);
  g_autofree char *text = NULL;
  gsize length = 0;
  if (!g_file_get_contents (source->config_path, &text, &length, NULL))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot read it; a model folder needs its "
                   "config.json", source->config_path);
      return NULL;
    }
  if (!jd_json_depth_within (text, length, JD_JSON_MAX_DEPTH))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "%s nests deeper than %d levels",
                   source->config_path, JD_JSON_MAX_DEPTH);
      return NULL;
    }
  source->parser = json_parser_new ();
  if (!json_parser_load_from_data (source->parser, text, (gssize) length, error))
    {
      g_prefix_error (error, "%s: ", source->config_path);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (source->parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "%s must hold a JSON object",
                   source->config_path);
      return NULL;
    }

  g_autoptr (GDir) dir = g_dir_open (folder, 0, error);
  if (dir == NULL)
    return NULL;
  g_autoptr (GPtrArray) weights = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) indexes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) pickles = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      if (g_str_has_suffix (entry, ".safetensors.index.json"))
        g_ptr_array_add (indexes, g_strdup (entry));
      else if (g_str_has_suffix (entry, ".safetensors"))
        g_ptr_array_add (weights, g_strdup (entry));
      else if (jd_convert_is_pickle_name (entry))
        g_ptr_array_add (pickles, g_strdup (entry));
    }
  g_ptr_array_sort (weights, compare_names);
  g_ptr_array_sort (indexes, compare_names);
  g_ptr_array_sort (pickles, compare_names);

  /* diffusers may store variants beside the main weights (model.fp16.safetensors): prefer the
   * file without a variant, then the only one there is. */
  static const char *const preferred[] = {
    "diffusion_pytorch_model.safetensors", "model.safetensors",
  };
  static const char *const preferred_index[] = {
    "diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (preferred); i++)
    {
      g_autofree char *path = g_build_filename (folder, preferred[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          if (!add_file (source, path, error))
            return NULL;
          finish (source);
          return g_steal_pointer (&source);
        }
      g_autofree char *index = g_build_filename (folder, preferred_index[i], NULL);
      if (g_file_test (index, G_FILE_TEST_IS_REGULAR))
        {
          if (!add_index (source, folder, index, error))
            return NULL;
          finish (source);
          return g_steal_pointer (&source);
        }
    }
  if (indexes->len == 1)
    {
      g_autofree char *index = g_build_filename (folder, indexes->pdata[0], NULL);
      if (!add_index (source, folder, index, error))
        return NULL;
    }
  else if (weights->len == 1 && indexes->len == 0)
    {
      g_autofree char *path = g_build_filename (folder, weights->pdata[0], NULL);
      if (!add_file (source, path, error))
        return NULL;
    }
  else if (weights->len == 0 && indexes->len == 0)
    {
      if (pickles->len > 0)
        {
          g_autofree char *path = g_build_filename (folder, pickles->pdata[0], NULL);
          jd_convert_refuse_pickle (path, error);
          return NULL;
        }
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s holds no *.safetensors weights", folder);
      return NULL;
    }
  else
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s holds %u safetensors files and %u shard indexes but none named "
                   "diffusion_pytorch_model.safetensors or model.safetensors: keep one set of "
                   "weights in the folder", folder, weights->len, indexes->len);
      return NULL;
    }
  finish (source);
  return g_steal_pointer (&source);
}

const char *
jd_convert_source_get_path (JdConvertSource *source)
{
  return source->path;
}

JsonObject *
jd_convert_source_get_config (JdConvertSource *source)
{
  return source->parser ? json_node_get_object (json_parser_get_root (source->parser)) : NULL;
}

const char *
jd_convert_source_get_config_path (JdConvertSource *source)
{
  return source->config_path;
}

guint
jd_convert_source_get_n_files (JdConvertSource *source)
{
  return source->paths->len;
}

const char *
jd_convert_source_get_file (JdConvertSource *source, guint index)
{
  g_return_val_if_fail (index < source->paths->len, NULL);
  return g_ptr_array_index (source->paths, index);
}

guint
jd_convert_source_get_n_tensors (JdConvertSource *source)
{
  return source->names->len;
}

const char *
jd_convert_source_get_name (JdConvertSource *source, guint index)
{
  g_return_val_if_fail (index < source->names->len, NULL);
  return g_ptr_array_index (source->names, index);
}

const JdSafetensorsEntry *
jd_convert_source_lookup (JdConvertSource *source, const char *name, const char **file_path)
{
  guint at = GPOINTER_TO_UINT (g_hash_table_lookup (source->index, name));
  if (at == 0)
    return NULL;
  if (file_path != NULL)
    *file_path = g_ptr_array_index (source->paths, at - 1);
  return jd_safetensors_lookup (g_ptr_array_index (source->files, at - 1), name);
}

const char *
jd_convert_source_get_metadata (JdConvertSource *source, const char *key)
{
  if (source->files->len == 0)
    return NULL;
  return jd_safetensors_get_metadata (g_ptr_array_index (source->files, 0), key);
}
