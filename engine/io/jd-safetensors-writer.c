/* The safetensors writer: tests, tools and the converter write model files through it. Tensors
 * are held as bytes, or produced one at a time while the file is written. */
#include "jd-safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jd-error.h"

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

typedef struct {
  char    *name;
  JdDType  dtype;
  int      ndim;
  int64_t  shape[JD_MAX_DIMS];
  guint8  *data;      /* NULL for a produced tensor */
  gsize    nbytes;
  int64_t  numel;
  JdSafetensorsProducer produce;
  gpointer       produce_data;
  GDestroyNotify destroy;
} WriterItem;

struct _JdSafetensorsWriter {
  GPtrArray  *items;
  GHashTable *names;
  GHashTable *metadata;
};

static void
writer_item_free (gpointer data)
{
  WriterItem *item = data;
  if (item->destroy != NULL)
    item->destroy (item->produce_data);
  g_free (item->name);
  g_free (item->data);
  g_free (item);
}

JdSafetensorsWriter *
jd_safetensors_writer_new (void)
{
  JdSafetensorsWriter *writer = g_new0 (JdSafetensorsWriter, 1);
  writer->items = g_ptr_array_new_with_free_func (writer_item_free);
  writer->names = g_hash_table_new (g_str_hash, g_str_equal);
  writer->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return writer;
}

void
jd_safetensors_writer_free (JdSafetensorsWriter *writer)
{
  if (writer == NULL)
    return;
  g_hash_table_unref (writer->names);
  g_hash_table_unref (writer->metadata);
  g_ptr_array_unref (writer->items);
  g_free (writer);
}

static WriterItem *
writer_item_new (JdSafetensorsWriter *writer,
                 const char          *name,
                 JdDType              dtype,
                 int                  ndim,
                 const int64_t       *shape,
                 gboolean             hold_data,
                 GError             **error)
{
  g_autofree char *qname = jd_safetensors_quote (name ? name : "");
  if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL)
      || strcmp (name, "__metadata__") == 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot store a tensor named “%s”: names must be non-empty UTF-8 other "
                   "than __metadata__", qname);
      return NULL;
    }
  if (g_hash_table_contains (writer->names, name))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot store tensor “%s” twice", qname);
      return NULL;
    }
  int64_t nbytes, numel;
  if ((unsigned) dtype >= JD_DTYPE_COUNT
      || !jd_shape_checked_numel (ndim, shape, jd_dtype_size (dtype), &numel, &nbytes)
      || (guint64) nbytes > G_MAXSIZE / 2)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot store tensor “%s”: it needs a known dtype and 0 to %d non-negative "
                   "dimensions whose byte size fits in memory", qname, JD_MAX_DIMS);
      return NULL;
    }
  WriterItem *item = g_new0 (WriterItem, 1);
  item->name = g_strdup (name);
  item->dtype = dtype;
  item->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    item->shape[i] = shape[i];
  item->nbytes = (gsize) nbytes;
  item->numel = numel;
  if (hold_data)
    item->data = g_malloc (MAX (item->nbytes, 1));
  g_ptr_array_add (writer->items, item);
  g_hash_table_add (writer->names, item->name);
  return item;
}

gboolean
jd_safetensors_writer_add (JdSafetensorsWriter *writer,
                           const char          *name,
                           JdDType              dtype,
                           int                  ndim,
                           const int64_t       *shape,
                           gconstpointer        data,
                           GError             **error)
{
  WriterItem *item = writer_item_new (writer, name, dtype, ndim, shape, TRUE, error);
  if (item == NULL)
    return FALSE;
  if (item->nbytes > 0)
    memcpy (item->data, data, item->nbytes);
  return TRUE;
}

gboolean
jd_safetensors_writer_add_f32 (JdSafetensorsWriter *writer,
                               const char          *name,
                               JdDType              dtype,
                               int                  ndim,
                               const int64_t       *shape,
                               const float         *values,
                               GError             **error)
{
  WriterItem *item = writer_item_new (writer, name, dtype, ndim, shape, TRUE, error);
  if (item == NULL)
    return FALSE;
  if (item->nbytes > 0)
    jd_convert_from_f32 (dtype, values, item->data, item->nbytes / jd_dtype_size (dtype));
  return TRUE;
}

gboolean
jd_safetensors_writer_add_producer (JdSafetensorsWriter   *writer,
                                    const char            *name,
                                    JdDType                dtype,
                                    int                    ndim,
                                    const int64_t         *shape,
                                    JdSafetensorsProducer  produce,
                                    gpointer               data,
                                    GDestroyNotify         destroy,
                                    GError               **error)
{
  g_return_val_if_fail (produce != NULL, FALSE);
  WriterItem *item = writer_item_new (writer, name, dtype, ndim, shape, FALSE, error);
  if (item == NULL)
    {
      if (destroy != NULL)
        destroy (data);
      return FALSE;
    }
  item->produce = produce;
  item->produce_data = data;
  item->destroy = destroy;
  return TRUE;
}

guint
jd_safetensors_writer_get_n (JdSafetensorsWriter *writer)
{
  return writer->items->len;
}

guint64
jd_safetensors_writer_get_data_size (JdSafetensorsWriter *writer)
{
  guint64 total = 0;
  for (guint i = 0; i < writer->items->len; i++)
    total += ((WriterItem *) writer->items->pdata[i])->nbytes;
  return total;
}

void
jd_safetensors_writer_set_metadata (JdSafetensorsWriter *writer,
                                    const char          *key,
                                    const char          *value)
{
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));
  g_hash_table_replace (writer->metadata, g_strdup (key), g_strdup (value));
}

static void
append_json_string (GString    *out,
                    const char *text)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) *p);
        }
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  g_string_append_c (out, '"');
}

static int
compare_items (const void *a,
               const void *b)
{
  const WriterItem *x = *(WriterItem *const *) a, *y = *(WriterItem *const *) b;
  return strcmp (x->name, y->name);
}

static char *
writer_header (JdSafetensorsWriter *writer)
{
  GString *out = g_string_new ("{");
  gboolean first = TRUE;
  if (g_hash_table_size (writer->metadata) > 0)
    {
      guint n;
      g_autofree const char **keys =
        (const char **) g_hash_table_get_keys_as_array (writer->metadata, &n);
      qsort (keys, n, sizeof *keys, compare_strings);
      g_string_append (out, "\"__metadata__\":{");
      for (guint i = 0; i < n; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          append_json_string (out, keys[i]);
          g_string_append_c (out, ':');
          append_json_string (out, g_hash_table_lookup (writer->metadata, keys[i]));
        }
      g_string_append_c (out, '}');
      first = FALSE;
    }
  gsize offset = 0;
  for (guint i = 0; i < writer->items->len; i++)
    {
      WriterItem *item = writer->items->pdata[i];
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_json_string (out, item->name);
      g_string_append_printf (out, ":{\"dtype\":\"%s\",\"shape\":[", jd_dtype_name (item->dtype));
      for (int d = 0; d < item->ndim; d++)
        g_string_append_printf (out, "%s%" G_GINT64_FORMAT, d ? "," : "", item->shape[d]);
      g_string_append_printf (out, "],\"data_offsets\":[%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT
                              "]}", offset, offset + item->nbytes);
      offset += item->nbytes;
    }
  g_string_append_c (out, '}');
  /* Spaces up to a multiple of 8 keep the data area 8-byte aligned. */
  while (out->len % 8 != 0)
    g_string_append_c (out, ' ');
  return g_string_free (out, FALSE);
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         length)
{
  while (length > 0)
    {
      ssize_t written = write (fd, data, MIN (length, (gsize) 1 << 30));
      if (written < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += written;
      length -= (gsize) written;
    }
  return TRUE;
}

/* Produces item's values and writes them; on failure error is set (a producer's own error, or
 * one naming path). */
static gboolean
write_produced (int           fd,
                WriterItem   *item,
                const char   *qpath,
                GError      **error)
{
  float *values = g_try_malloc (MAX ((gsize) item->numel, 1) * sizeof (float));
  if (values == NULL)
    {
      g_autofree char *qname = jd_safetensors_quote (item->name);
      g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                   "Cannot write “%s”: no memory for tensor “%s” (%" G_GINT64_FORMAT " values)",
                   qpath, qname, item->numel);
      return FALSE;
    }
  gboolean ok = item->produce (item->produce_data, item->name, values, item->numel, error);
  /* Narrowing in place is safe: each output element is no wider than its input. */
  if (ok && item->dtype != JD_DTYPE_F32)
    jd_convert_from_f32 (item->dtype, values, values, (gsize) item->numel);
  if (ok && !write_all (fd, (const guint8 *) values, item->nbytes))
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "Cannot write “%s”: %s", qpath,
                   g_strerror (saved));
      ok = FALSE;
    }
  g_free (values);
  return ok;
}

gboolean
jd_safetensors_writer_write (JdSafetensorsWriter *writer,
                             const char          *path,
                             GError             **error)
{
  return jd_safetensors_writer_write_with_progress (writer, path, NULL, NULL, error);
}

gboolean
jd_safetensors_writer_write_with_progress (JdSafetensorsWriter        *writer,
                                           const char                 *path,
                                           JdSafetensorsWriteProgress  progress,
                                           gpointer                    user_data,
                                           GError                    **error)
{
  g_ptr_array_sort (writer->items, compare_items);
  g_autofree char *header = writer_header (writer);
  gsize header_length = strlen (header);
  guint8 length_bytes[8];
  for (int i = 0; i < 8; i++)
    length_bytes[i] = (guint8) ((guint64) header_length >> (8 * i));

  g_autofree char *qpath = jd_safetensors_quote (path);
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *temp_name = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *temp_path = g_build_filename (folder, temp_name, NULL);
  int fd = g_mkstemp_full (temp_path, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "Cannot write “%s”: %s", qpath,
                   g_strerror (saved));
      return FALSE;
    }
  gboolean ok = write_all (fd, length_bytes, 8)
                && write_all (fd, (const guint8 *) header, header_length);
  /* A producer that fails has set error itself; then nothing below sets another. */
  gboolean produced_ok = TRUE;
  const guint64 total = jd_safetensors_writer_get_data_size (writer);
  guint64 done = 0;
  for (guint i = 0; ok && i < writer->items->len; i++)
    {
      WriterItem *item = writer->items->pdata[i];
      if (item->produce != NULL)
        ok = produced_ok = write_produced (fd, item, qpath, error);
      else
        ok = write_all (fd, item->data, item->nbytes);
      done += item->nbytes;
      if (ok && progress != NULL)
        progress (done, total, item->name, user_data);
    }
  ok = ok && fsync (fd) == 0;
  int saved = errno;
  if (close (fd) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (ok && rename (temp_path, path) != 0)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok)
    {
      unlink (temp_path);
      if (produced_ok)
        g_set_error (error, JD_ERROR, JD_ERROR_IO, "Cannot write “%s”: %s", qpath,
                     g_strerror (saved));
    }
  return ok;
}
