/* jd-safetensors.h — reading and writing safetensors files, treating every file as untrusted.
 *
 * Layout (the safetensors format): an 8-byte little-endian header length N, N bytes of UTF-8
 * JSON, then the data area. The JSON is an object mapping each tensor name to
 * {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data area), plus an
 * optional "__metadata__" object of string → string.
 *
 * Opening validates everything before anything is used: the header length lies within the file
 * and under JD_SAFETENSORS_MAX_HEADER, the JSON nests at most JD_JSON_MAX_DEPTH levels and is an
 * object, every dtype is F32/F16/BF16, every shape has at most JD_MAX_DIMS non-negative whole
 * dimensions whose byte size fits in 64 bits and equals the tensor's span, and the spans tile
 * the data area exactly (inside it, no overlaps, no gaps). Each failure is a JD_ERROR_MODEL_FILE
 * whose message names the file and, where one is involved, the tensor. Failing to open or map
 * the file is JD_ERROR_IO.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "jd-tensor.h"

G_BEGIN_DECLS

#define JD_SAFETENSORS_MAX_HEADER 100000000

typedef struct _JdSafetensors JdSafetensors;

typedef struct {
  const char   *name;
  JdDType       dtype;
  int           ndim;
  int64_t       shape[JD_MAX_DIMS];
  const guint8 *data;     /* inside the file's bytes; valid while the JdSafetensors lives */
  gsize         nbytes;
} JdSafetensorsEntry;

/* Memory-maps path read-only and validates it. */
JdSafetensors            *jd_safetensors_open            (const char       *path,
                                                          GError          **error);
/* Validates bytes already in memory; display_name stands for the file in messages. Keeps a
 * reference to bytes. This is the fuzzing entry point. */
JdSafetensors            *jd_safetensors_new_from_bytes  (GBytes           *bytes,
                                                          const char       *display_name,
                                                          GError          **error);
void                      jd_safetensors_free            (JdSafetensors    *file);

/* The path or display name given when opening. */
const char               *jd_safetensors_get_name        (JdSafetensors    *file);
gsize                     jd_safetensors_get_size        (JdSafetensors    *file);

/* Entries are ordered by name. */
guint                     jd_safetensors_get_n_tensors   (JdSafetensors    *file);
const JdSafetensorsEntry *jd_safetensors_get_entry       (JdSafetensors    *file,
                                                          guint             index);
/* NULL when there is no tensor of that name. */
const JdSafetensorsEntry *jd_safetensors_lookup          (JdSafetensors    *file,
                                                          const char       *name);

/* A value from __metadata__, or NULL. */
const char               *jd_safetensors_get_metadata    (JdSafetensors    *file,
                                                          const char       *key);
/* The __metadata__ keys, sorted; free the array with g_free (the strings belong to file). */
const char              **jd_safetensors_get_metadata_keys (JdSafetensors  *file);

/* A new F32 tensor on backend holding the named tensor, converted from F16/BF16 when stored
 * so. For an F32 tensor on the CPU backend whose bytes are 64-byte aligned in the mapping, the
 * result is a zero-copy view into the file's read-only mapping: then file must outlive the
 * tensor (free the tensor first) and nothing may write into it. Fails with JD_ERROR_MODEL_FILE
 * naming the file when there is no such tensor. */
JdTensor                 *jd_safetensors_load_f32        (JdSafetensors    *file,
                                                          const char       *name,
                                                          JdBackend        *backend,
                                                          GError          **error);

/* Writing: collect tensors and metadata, then write once. Tensors are stored sorted by name,
 * the header padded with spaces to a multiple of 8 bytes, so equal input gives equal files. */
typedef struct _JdSafetensorsWriter JdSafetensorsWriter;

JdSafetensorsWriter      *jd_safetensors_writer_new      (void);
void                      jd_safetensors_writer_free     (JdSafetensorsWriter *writer);
/* Copies data (numel × element size bytes of dtype). Fails with JD_ERROR_INVALID_ARGUMENT for
 * a duplicate, empty, non-UTF-8 or reserved name or a bad shape. */
gboolean                  jd_safetensors_writer_add      (JdSafetensorsWriter *writer,
                                                          const char       *name,
                                                          JdDType           dtype,
                                                          int               ndim,
                                                          const int64_t    *shape,
                                                          gconstpointer     data,
                                                          GError          **error);
/* Like _add, but values are F32 and are stored converted to dtype. */
gboolean                  jd_safetensors_writer_add_f32  (JdSafetensorsWriter *writer,
                                                          const char       *name,
                                                          JdDType           dtype,
                                                          int               ndim,
                                                          const int64_t    *shape,
                                                          const float      *values,
                                                          GError          **error);
/* Produces a tensor's numel values as F32 while the file is written; FALSE with error stops
 * the write (the file is then not created). */
typedef gboolean (*JdSafetensorsProducer) (gpointer     data,
                                           const char  *name,
                                           float       *values,
                                           int64_t      numel,
                                           GError     **error);
/* Like _add_f32, but the values come from produce at write time, one tensor at a time in name
 * order, so a file larger than memory can be written (the converter streams multi-gigabyte
 * checkpoints through it). data is released with destroy (may be NULL) when the writer is
 * freed, also when this fails. */
gboolean                  jd_safetensors_writer_add_producer (JdSafetensorsWriter *writer,
                                                          const char       *name,
                                                          JdDType           dtype,
                                                          int               ndim,
                                                          const int64_t    *shape,
                                                          JdSafetensorsProducer produce,
                                                          gpointer          data,
                                                          GDestroyNotify    destroy,
                                                          GError          **error);
guint                     jd_safetensors_writer_get_n    (JdSafetensorsWriter *writer);
/* Bytes of tensor data the file will hold (without the header). */
guint64                   jd_safetensors_writer_get_data_size (JdSafetensorsWriter *writer);
/* Sets (or replaces) a __metadata__ entry; key and value must be UTF-8. */
void                      jd_safetensors_writer_set_metadata (JdSafetensorsWriter *writer,
                                                          const char       *key,
                                                          const char       *value);
/* Writes atomically: a temporary file in path's folder renamed over path, so a failure leaves
 * neither a partial file nor the temporary behind. Fails with JD_ERROR_IO naming path. */
gboolean                  jd_safetensors_writer_write    (JdSafetensorsWriter *writer,
                                                          const char       *path,
                                                          GError          **error);
/* Called after each tensor is written: bytes of tensor data done of total, its name. */
typedef void (*JdSafetensorsWriteProgress) (guint64     done,
                                            guint64     total,
                                            const char *name,
                                            gpointer    user_data);
/* _write, reporting progress (may be NULL). A producer's error is passed on unchanged. */
gboolean                  jd_safetensors_writer_write_with_progress (JdSafetensorsWriter *writer,
                                                          const char       *path,
                                                          JdSafetensorsWriteProgress progress,
                                                          gpointer          user_data,
                                                          GError          **error);

/* Quotes untrusted text for a one-line message: control characters escaped, long text cut.
 * Free with g_free. */
char                     *jd_safetensors_quote           (const char       *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdSafetensors, jd_safetensors_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdSafetensorsWriter, jd_safetensors_writer_free)

G_END_DECLS
