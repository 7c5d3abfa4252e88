/* The safetensors reader: validates untrusted files before exposing any tensor. */
#include "jd-safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jd-backend.h"
#include "jd-error.h"
#include "jd-json-depth.h"

struct _JdSafetensors {
  char               *name;
  GMappedFile        *mapping;   /* NULL when made from bytes */
  GBytes             *bytes;
  const guint8       *base;
  gsize               size;
  JdSafetensorsEntry *entries;   /* sorted by name; names owned */
  guint               n_entries;
  GHashTable         *by_name;   /* name → entry */
  GHashTable         *metadata;  /* key → value, both owned */
};

/* Valid safetensors dtypes this engine does not compute with: refused with a clearer message
 * than "unknown". */
static const char *const foreign_dtypes[] = {
  "F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "C64",
  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",
};

char *
jd_safetensors_quote (const char *text)
{
  const gsize max_chars = 100;
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_new (NULL);
  gsize chars = 0;
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (chars++ == max_chars)
        {
          g_string_append (out, "…");
          break;
        }
      guchar c = (guchar) *p;
      if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}

/* Sets a JD_ERROR_MODEL_FILE error "“FILE”: MESSAGE". */
G_GNUC_PRINTF (3, 4) static void
set_file_error (GError    **error,
                const char *file_name,
                const char *format,
                ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  /* "“f” is not …" reads as a sentence; anything else follows a colon. */
  gboolean sentence = g_str_has_prefix (message, "is ") || g_str_has_prefix (message, "was ");
  g_autofree char *quoted = jd_safetensors_quote (file_name);
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE, "“%s”%s%s", quoted,
               sentence ? " " : ": ", message);
}

typedef enum {
  COUNT_OK,
  COUNT_NOT_WHOLE,
  COUNT_NEGATIVE,
} CountStatus;

/* Reads a JSON number that must be a non-negative integer. json-glib stores integer literals
 * as int64 (ones beyond 64 bits wrap to negative values) and everything with a fraction or an
 * exponent as double: only the former can be a size. */
static CountStatus
read_count (JsonNode *node,
            int64_t  *value)
{
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return COUNT_NOT_WHOLE;
  *value = json_node_get_int (node);
  return *value < 0 ? COUNT_NEGATIVE : COUNT_OK;
}

static const char *
node_kind (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return "an object";
    case JSON_NODE_ARRAY:
      return "an array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        return "a string";
      if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return "a boolean";
      return "a number";
    }
}

static gboolean
is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

typedef struct {
  int64_t begin, end;
} Span;

static gboolean
parse_dtype (JdSafetensors *file,
             const char    *qname,
             JsonObject    *description,
             JdDType       *dtype,
             GError       **error)
{
  JsonNode *node = json_object_get_member (description, "dtype");
  if (!is_string (node))
    {
      set_file_error (error, file->name, "tensor “%s” has no \"dtype\" string", qname);
      return FALSE;
    }
  const char *text = json_node_get_string (node);
  if (jd_dtype_from_name (text, dtype))
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_dtypes); i++)
    if (strcmp (text, foreign_dtypes[i]) == 0)
      {
        set_file_error (error, file->name,
                        "tensor “%s” uses dtype %s, which the engine does not support "
                        "(only F32, F16 and BF16)", qname, text);
        return FALSE;
      }
  g_autofree char *qdtype = jd_safetensors_quote (text);
  set_file_error (error, file->name, "tensor “%s” has an unknown dtype “%s”", qname, qdtype);
  return FALSE;
}

static gboolean
parse_shape (JdSafetensors      *file,
             const char         *qname,
             JsonObject         *description,
             JdSafetensorsEntry *entry,
             GError            **error)
{
  JsonNode *node = json_object_get_member (description, "shape");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      set_file_error (error, file->name, "tensor “%s” has no \"shape\" array", qname);
      return FALSE;
    }
  JsonArray *shape = json_node_get_array (node);
  guint ndim = json_array_get_length (shape);
  if (ndim > JD_MAX_DIMS)
    {
      set_file_error (error, file->name,
                      "tensor “%s” has %u dimensions; the engine supports at most %d",
                      qname, ndim, JD_MAX_DIMS);
      return FALSE;
    }
  entry->ndim = (int) ndim;
  for (guint i = 0; i < ndim; i++)
    switch (read_count (json_array_get_element (shape, i), &entry->shape[i]))
      {
      case COUNT_OK:
        break;
      case COUNT_NEGATIVE:
        set_file_error (error, file->name,
                        "dimension %u of tensor “%s” is negative (%" G_GINT64_FORMAT
                        "; numbers beyond 64 bits also read as negative)",
                        i, qname, entry->shape[i]);
        return FALSE;
      case COUNT_NOT_WHOLE:
      default:
        set_file_error (error, file->name,
                        "dimension %u of tensor “%s” is not a whole number", i, qname);
        return FALSE;
      }
  return TRUE;
}

static gboolean
parse_offsets (JdSafetensors *file,
               const char    *qname,
               JsonObject    *description,
               Span          *span,
               GError       **error)
{
  JsonNode *node = json_object_get_member (description, "data_offsets");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (json_node_get_array (node)) != 2)
    {
      set_file_error (error, file->name,
                      "tensor “%s” needs \"data_offsets\" of the form [begin, end]", qname);
      return FALSE;
    }
  JsonArray *offsets = json_node_get_array (node);
  int64_t values[2];
  for (guint i = 0; i < 2; i++)
    switch (read_count (json_array_get_element (offsets, i), &values[i]))
      {
      case COUNT_OK:
        break;
      case COUNT_NEGATIVE:
        set_file_error (error, file->name,
                        "the %s data offset of tensor “%s” is negative (%" G_GINT64_FORMAT
                        "; numbers beyond 64 bits also read as negative)",
                        i == 0 ? "begin" : "end", qname, values[i]);
        return FALSE;
      case COUNT_NOT_WHOLE:
      default:
        set_file_error (error, file->name,
                        "the %s data offset of tensor “%s” is not a whole number",
                        i == 0 ? "begin" : "end", qname);
        return FALSE;
      }
  if (values[0] > values[1])
    {
      set_file_error (error, file->name,
                      "tensor “%s” has data offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                      "] whose begin lies after its end", qname, values[0], values[1]);
      return FALSE;
    }
  span->begin = values[0];
  span->end = values[1];
  return TRUE;
}

static gboolean
parse_entry (JdSafetensors      *file,
             const char         *name,
             JsonNode           *node,
             gsize               data_size,
             JdSafetensorsEntry *entry,
             Span               *span,
             GError            **error)
{
  g_autofree char *qname = jd_safetensors_quote (name);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_file_error (error, file->name, "tensor “%s” is described by %s, not an object",
                      qname, node_kind (node));
      return FALSE;
    }
  JsonObject *description = json_node_get_object (node);
  if (!parse_dtype (file, qname, description, &entry->dtype, error)
      || !parse_shape (file, qname, description, entry, error)
      || !parse_offsets (file, qname, description, span, error))
    return FALSE;

  int64_t nbytes;
  if (!jd_shape_checked_numel (entry->ndim, entry->shape, jd_dtype_size (entry->dtype), NULL,
                               &nbytes))
    {
      g_autofree char *shape = jd_shape_to_string (entry->ndim, entry->shape);
      set_file_error (error, file->name,
                      "tensor “%s” has shape %s, whose size in bytes overflows 64 bits",
                      qname, shape);
      return FALSE;
    }
  if (nbytes != span->end - span->begin)
    {
      g_autofree char *shape = jd_shape_to_string (entry->ndim, entry->shape);
      set_file_error (error, file->name,
                      "tensor “%s” of dtype %s and shape %s needs %" G_GINT64_FORMAT
                      " bytes, but its data offsets span %" G_GINT64_FORMAT,
                      qname, jd_dtype_name (entry->dtype), shape, nbytes,
                      span->end - span->begin);
      return FALSE;
    }
  if ((guint64) span->end > data_size)
    {
      set_file_error (error, file->name,
                      "tensor “%s” has data offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                      "] past the end of the data area (%" G_GSIZE_FORMAT
                      " bytes); the file may be truncated",
                      qname, span->begin, span->end, data_size);
      return FALSE;
    }
  entry->name = g_strdup (name);
  entry->nbytes = (gsize) nbytes;
  return TRUE;
}

static gboolean
parse_metadata (JdSafetensors *file,
                JsonNode      *node,
                GError       **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_file_error (error, file->name, "its __metadata__ is %s, not an object",
                      node_kind (node));
      return FALSE;
    }
  JsonObject *object = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (object);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (object, l->data);
      if (!is_string (value))
        {
          g_autofree char *qkey = jd_safetensors_quote (l->data);
          set_file_error (error, file->name, "__metadata__ entry “%s” is %s, not a string",
                          qkey, node_kind (value));
          return FALSE;
        }
      g_hash_table_replace (file->metadata, g_strdup (l->data),
                            g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

typedef struct {
  Span  span;
  guint entry;
} SpanRef;

static int
compare_spans (const void *a,
               const void *b)
{
  const SpanRef *x = a, *y = b;
  if (x->span.begin != y->span.begin)
    return x->span.begin < y->span.begin ? -1 : 1;
  if (x->span.end != y->span.end)
    return x->span.end < y->span.end ? -1 : 1;
  return 0;
}

/* The format requires the tensors to cover the data area exactly: no byte claimed twice, none
 * left unexplained. */
static gboolean
check_tiling (JdSafetensors *file,
              SpanRef       *spans,
              guint          n,
              gsize          data_size,
              GError       **error)
{
  qsort (spans, n, sizeof *spans, compare_spans);
  int64_t position = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *qname = jd_safetensors_quote (file->entries[spans[i].entry].name);
      if (spans[i].span.begin < position)
        {
          g_autofree char *qprevious =
            jd_safetensors_quote (file->entries[spans[i - 1].entry].name);
          set_file_error (error, file->name,
                          "tensors “%s” and “%s” overlap in the data area (bytes %"
                          G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")",
                          qprevious, qname, spans[i].span.begin, position);
          return FALSE;
        }
      if (spans[i].span.begin > position)
        {
          set_file_error (error, file->name,
                          "there is a gap of %" G_GINT64_FORMAT
                          " unused bytes before tensor “%s” in the data area",
                          spans[i].span.begin - position, qname);
          return FALSE;
        }
      position = spans[i].span.end;
    }
  if ((guint64) position != data_size)
    {
      set_file_error (error, file->name,
                      "the data area has %" G_GUINT64_FORMAT
                      " unused bytes after the last tensor", (guint64) (data_size - position));
      return FALSE;
    }
  return TRUE;
}

static int
compare_entries (const void *a,
                 const void *b)
{
  const JdSafetensorsEntry *x = a, *y = b;
  return strcmp (x->name, y->name);
}

static gboolean
parse_file (JdSafetensors *file,
            GError       **error)
{
  if (file->size < 8)
    {
      set_file_error (error, file->name,
                      "is not a safetensors file: at %" G_GSIZE_FORMAT
                      " bytes it is too short to hold the 8-byte header length", file->size);
      return FALSE;
    }
  guint64 header_length = 0;
  for (int i = 7; i >= 0; i--)
    header_length = (header_length << 8) | file->base[i];
  if (header_length == 0)
    {
      set_file_error (error, file->name, "is not a safetensors file: its header length is 0");
      return FALSE;
    }
  if (header_length > JD_SAFETENSORS_MAX_HEADER)
    {
      set_file_error (error, file->name,
                      "is not a safetensors file: its header length of %" G_GUINT64_FORMAT
                      " bytes exceeds the limit of %d bytes",
                      header_length, JD_SAFETENSORS_MAX_HEADER);
      return FALSE;
    }
  if (header_length > file->size - 8)
    {
      set_file_error (error, file->name,
                      "is truncated or not a safetensors file: its header of %" G_GUINT64_FORMAT
                      " bytes runs past the end of the file (%" G_GSIZE_FORMAT " bytes)",
                      header_length, file->size);
      return FALSE;
    }

  const char *header = (const char *) file->base + 8;
  if (!g_utf8_validate_len (header, (gsize) header_length, NULL))
    {
      set_file_error (error, file->name, "its header is not valid UTF-8 text");
      return FALSE;
    }
  if (!jd_json_depth_within (header, (gsize) header_length, JD_JSON_MAX_DEPTH))
    {
      set_file_error (error, file->name, "its header nests JSON deeper than %d levels",
                      JD_JSON_MAX_DEPTH);
      return FALSE;
    }

  /* A private NUL-terminated copy: the parser never reads past the header. */
  g_autofree char *text = g_strndup (header, (gsize) header_length);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) header_length, &json_error))
    {
      g_autofree char *reason = jd_safetensors_quote (json_error->message);
      set_file_error (error, file->name, "its header is not valid JSON (%s)", reason);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_file_error (error, file->name, "its header is %s, not a JSON object",
                      root ? node_kind (root) : "empty");
      return FALSE;
    }

  gsize data_size = file->size - 8 - (gsize) header_length;
  JsonObject *object = json_node_get_object (root);
  g_autoptr (GList) names = json_object_get_members (object);
  guint n_members = g_list_length (names);
  file->entries = g_new0 (JdSafetensorsEntry, MAX (n_members, 1));
  g_autofree SpanRef *spans = g_new (SpanRef, MAX (n_members, 1));

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = json_object_get_member (object, name);
      if (strcmp (name, "__metadata__") == 0)
        {
          if (!parse_metadata (file, node, error))
            return FALSE;
          continue;
        }
      guint index = file->n_entries;
      if (!parse_entry (file, name, node, data_size, &file->entries[index], &spans[index].span,
                        error))
        return FALSE;
      spans[index].entry = index;
      file->n_entries++;
    }
  if (!check_tiling (file, spans, file->n_entries, data_size, error))
    return FALSE;

  /* Only now that every span is known to be inside the data area do pointers exist. */
  const guint8 *data_area = file->base + 8 + header_length;
  for (guint i = 0; i < file->n_entries; i++)
    file->entries[spans[i].entry].data = data_area + spans[i].span.begin;
  qsort (file->entries, file->n_entries, sizeof *file->entries, compare_entries);
  for (guint i = 0; i < file->n_entries; i++)
    g_hash_table_insert (file->by_name, (gpointer) file->entries[i].name, &file->entries[i]);
  return TRUE;
}

static JdSafetensors *
file_new (const char *name)
{
  JdSafetensors *file = g_new0 (JdSafetensors, 1);
  file->name = g_strdup (name);
  file->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return file;
}

JdSafetensors *
jd_safetensors_new_from_bytes (GBytes     *bytes,
                               const char *display_name,
                               GError    **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_autoptr (JdSafetensors) file = file_new (display_name ? display_name : "(memory)");
  file->bytes = g_bytes_ref (bytes);
  file->base = g_bytes_get_data (bytes, &file->size);
  if (!parse_file (file, error))
    return NULL;
  return g_steal_pointer (&file);
}

JdSafetensors *
jd_safetensors_open (const char *path,
                     GError    **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autofree char *qpath = jd_safetensors_quote (path);
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "Cannot open “%s”: %s", qpath,
                   g_strerror (saved));
      return NULL;
    }
  struct stat info;
  if (fstat (fd, &info) != 0 || !S_ISREG (info.st_mode))
    {
      close (fd);
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "Cannot open “%s”: it is not a regular file",
                   qpath);
      return NULL;
    }
  g_autoptr (JdSafetensors) file = file_new (path);
  if (info.st_size > 0)
    {
      g_autoptr (GError) map_error = NULL;
      file->mapping = g_mapped_file_new_from_fd (fd, FALSE, &map_error);
      if (file->mapping == NULL)
        {
          close (fd);
          g_set_error (error, JD_ERROR, JD_ERROR_IO, "Cannot map “%s” into memory: %s", qpath,
                       map_error->message);
          return NULL;
        }
      file->bytes = g_mapped_file_get_bytes (file->mapping);
    }
  else
    file->bytes = g_bytes_new (NULL, 0);
  close (fd);
  file->base = g_bytes_get_data (file->bytes, &file->size);
  if (!parse_file (file, error))
    return NULL;
  return g_steal_pointer (&file);
}

void
jd_safetensors_free (JdSafetensors *file)
{
  if (file == NULL)
    return;
  for (guint i = 0; i < file->n_entries; i++)
    g_free ((char *) file->entries[i].name);
  g_free (file->entries);
  g_hash_table_unref (file->by_name);
  g_hash_table_unref (file->metadata);
  g_clear_pointer (&file->bytes, g_bytes_unref);
  g_clear_pointer (&file->mapping, g_mapped_file_unref);
  g_free (file->name);
  g_free (file);
}

const char *
jd_safetensors_get_name (JdSafetensors *file)
{
  return file->name;
}

gsize
jd_safetensors_get_size (JdSafetensors *file)
{
  return file->size;
}

guint
jd_safetensors_get_n_tensors (JdSafetensors *file)
{
  return file->n_entries;
}

const JdSafetensorsEntry *
jd_safetensors_get_entry (JdSafetensors *file,
                          guint          index)
{
  g_return_val_if_fail (index < file->n_entries, NULL);
  return &file->entries[index];
}

const JdSafetensorsEntry *
jd_safetensors_lookup (JdSafetensors *file,
                       const char    *name)
{
  return g_hash_table_lookup (file->by_name, name);
}

const char *
jd_safetensors_get_metadata (JdSafetensors *file,
                             const char    *key)
{
  return g_hash_table_lookup (file->metadata, key);
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

const char **
jd_safetensors_get_metadata_keys (JdSafetensors *file)
{
  guint n;
  const char **keys = (const char **) g_hash_table_get_keys_as_array (file->metadata, &n);
  qsort (keys, n, sizeof *keys, compare_strings);
  return keys;
}

JdTensor *
jd_safetensors_load_f32 (JdSafetensors *file,
                         const char    *name,
                         JdBackend     *backend,
                         GError       **error)
{
  const JdSafetensorsEntry *entry = jd_safetensors_lookup (file, name);
  if (entry == NULL)
    {
      g_autofree char *qname = jd_safetensors_quote (name);
      set_file_error (error, file->name, "there is no tensor “%s” in the file", qname);
      return NULL;
    }
  /* Host memory: no backend, or the CPU backend whose allocations are plain memory. */
  gboolean host = backend == NULL || strcmp (jd_backend_name (backend), "cpu") == 0;
  if (host && entry->dtype == JD_DTYPE_F32 && ((guintptr) entry->data % 64) == 0)
    return jd_tensor_new_view (backend, JD_DTYPE_F32, entry->ndim, entry->shape,
                               (void *) entry->data);

  g_autoptr (JdTensor) tensor = jd_tensor_new (backend, JD_DTYPE_F32, entry->ndim,
                                               entry->shape, error);
  if (tensor == NULL)
    return NULL;
  gsize numel = entry->nbytes / jd_dtype_size (entry->dtype);
  if (host)
    {
      if (numel > 0)
        jd_convert_to_f32 (entry->dtype, entry->data, tensor->data, numel);
      return g_steal_pointer (&tensor);
    }
  float *staging = g_try_malloc (MAX (numel, 1) * sizeof (float));
  if (staging == NULL)
    {
      g_autofree char *qname = jd_safetensors_quote (name);
      g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                   "Out of memory while loading tensor “%s” from “%s”", qname, file->name);
      return NULL;
    }
  if (numel > 0)
    jd_convert_to_f32 (entry->dtype, entry->data, staging, numel);
  gboolean ok = jd_backend_upload (backend, tensor->data, staging, numel * sizeof (float),
                                   error);
  g_free (staging);
  return ok ? g_steal_pointer (&tensor) : NULL;
}
