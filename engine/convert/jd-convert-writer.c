/* A streaming, atomic safetensors writer for the converter. */
#include "jd-convert-writer.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jd-error.h"

typedef struct {
  char              *name;
  JdDType            dtype;
  int                ndim;
  int64_t            shape[JD_MAX_DIMS];
  int64_t            numel;
  JdConvertFillFunc  fill;
  gpointer           data;
  GDestroyNotify     destroy;
} Item;

struct _JdConvertWriter {
  GPtrArray  *items;
  GHashTable *names;
  GHashTable *metadata;
};

static void
item_free (gpointer p)
{
  Item *item = p;
  if (item->destroy != NULL)
    item->destroy (item->data);
  g_free (item->name);
  g_free (item);
}

JdConvertWriter *
jd_convert_writer_new (void)
{
  JdConvertWriter *writer = g_new0 (JdConvertWriter, 1);
  writer->items = g_ptr_array_new_with_free_func (item_free);
  writer->names = g_hash_table_new (g_str_hash, g_str_equal);
  writer->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return writer;
}

void
jd_convert_writer_free (JdConvertWriter *writer)
{
  if (writer == NULL)
    return;
  g_hash_table_unref (writer->names);
  g_hash_table_unref (writer->metadata);
  g_ptr_array_unref (writer->items);
  g_free (writer);
}

gboolean
jd_convert_writer_add (JdConvertWriter *writer, const char *name, JdDType dtype, int ndim,
                       const int64_t *shape, JdConvertFillFunc fill, gpointer data,
                       GDestroyNotify destroy, GError **error)
{
  if (name == NULL || *name == '\0' || strcmp (name, "__metadata__") == 0
      || g_hash_table_contains (writer->names, name) || ndim < 0 || ndim > JD_MAX_DIMS)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "convert writer: tensor “%s” is a duplicate, reserved or badly shaped",
                   name ? name : "(null)");
      if (destroy != NULL)
        destroy (data);
      return FALSE;
    }
  Item *item = g_new0 (Item, 1);
  item->name = g_strdup (name);
  item->dtype = dtype;
  item->ndim = ndim;
  item->numel = 1;
  for (int i = 0; i < ndim; i++)
    {
      item->shape[i] = shape[i];
      item->numel *= shape[i];
    }
  item->fill = fill;
  item->data = data;
  item->destroy = destroy;
  g_ptr_array_add (writer->items, item);
  g_hash_table_add (writer->names, item->name);
  return TRUE;
}

void
jd_convert_writer_set_metadata (JdConvertWriter *writer, const char *key, const char *value)
{
  g_hash_table_replace (writer->metadata, g_strdup (key), g_strdup (value));
}

guint
jd_convert_writer_get_n (JdConvertWriter *writer)
{
  return writer->items->len;
}

guint64
jd_convert_writer_get_data_size (JdConvertWriter *writer)
{
  guint64 total = 0;
  for (guint i = 0; i < writer->items->len; i++)
    {
      const Item *item = g_ptr_array_index (writer->items, i);
      total += (guint64) item->numel * jd_dtype_size (item->dtype);
    }
  return total;
}

static int
compare_items (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Item *const *) a)->name, (*(Item *const *) b)->name);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char *
make_header (JdConvertWriter *writer, gsize *length)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  if (g_hash_table_size (writer->metadata) > 0)
    {
      json_builder_set_member_name (b, "__metadata__");
      json_builder_begin_object (b);
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (writer->metadata, NULL);
      guint n = g_hash_table_size (writer->metadata);
      qsort (keys, n, sizeof (gpointer), (int (*)(const void *, const void *)) compare_strings);
      for (guint i = 0; i < n; i++)
        {
          json_builder_set_member_name (b, keys[i]);
          json_builder_add_string_value (b, g_hash_table_lookup (writer->metadata, keys[i]));
        }
      json_builder_end_object (b);
    }
  guint64 offset = 0;
  for (guint i = 0; i < writer->items->len; i++)
    {
      const Item *item = g_ptr_array_index (writer->items, i);
      const guint64 bytes = (guint64) item->numel * jd_dtype_size (item->dtype);
      json_builder_set_member_name (b, item->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, jd_dtype_name (item->dtype));
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < item->ndim; d++)
        json_builder_add_int_value (b, item->shape[d]);
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
  char *header = g_malloc (padded);
  memcpy (header, json, n);
  memset (header + n, ' ', padded - n);
  *length = padded;
  return header;
}

static gboolean
write_all (FILE *out, const void *data, gsize n, const char *path, GError **error)
{
  if (n > 0 && fwrite (data, 1, n, out) != n)
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot write: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_body (JdConvertWriter *writer, FILE *out, const char *path, JdConvertWriteProgress progress,
            gpointer user_data, GError **error)
{
  gsize header_length = 0;
  g_autofree char *header = make_header (writer, &header_length);
  guint8 size_le[8];
  for (int i = 0; i < 8; i++)
    size_le[i] = (guint8) ((guint64) header_length >> (8 * i));
  if (!write_all (out, size_le, 8, path, error)
      || !write_all (out, header, header_length, path, error))
    return FALSE;
  const guint64 total = jd_convert_writer_get_data_size (writer);
  guint64 done = 0;
  for (guint i = 0; i < writer->items->len; i++)
    {
      const Item *item = g_ptr_array_index (writer->items, i);
      const gsize bytes = (gsize) item->numel * jd_dtype_size (item->dtype);
      float *values = g_try_malloc (MAX ((gsize) item->numel, 1) * sizeof (float));
      if (values == NULL)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                       "%s: no memory for tensor %s (%" G_GINT64_FORMAT " values)", path,
                       item->name, item->numel);
          return FALSE;
        }
      gboolean ok = item->fill (item->data, item->name, values, item->numel, error);
      if (ok && item->dtype != JD_DTYPE_F32)
        jd_convert_from_f32 (item->dtype, values, values, (gsize) item->numel);
      ok = ok && write_all (out, values, bytes, path, error);
      g_free (values);
      if (!ok)
        return FALSE;
      done += bytes;
      if (progress != NULL)
        progress (done, total, item->name, user_data);
    }
  return TRUE;
}

gboolean
jd_convert_writer_write (JdConvertWriter *writer, const char *path,
                         JdConvertWriteProgress progress, gpointer user_data, GError **error)
{
  g_ptr_array_sort (writer->items, compare_items);
  g_autofree char *temp = g_strdup_printf ("%s.partial-XXXXXX", path);
  int fd = g_mkstemp_full (temp, O_WRONLY, 0644);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot create a file beside it: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  FILE *out = fdopen (fd, "wb");
  if (out == NULL)
    {
      close (fd);
      g_unlink (temp);
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot open for writing", path);
      return FALSE;
    }
  gboolean ok = write_body (writer, out, path, progress, user_data, error);
  if (ok && (fflush (out) != 0 || fsync (fileno (out)) != 0))
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot write: %s", path,
                   g_strerror (saved));
      ok = FALSE;
    }
  if (fclose (out) != 0 && ok)
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot write: %s", path,
                   g_strerror (saved));
      ok = FALSE;
    }
  if (ok && g_rename (temp, path) != 0)
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s: cannot rename the finished file into "
                   "place: %s", path, g_strerror (saved));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (temp);
  return ok;
}
