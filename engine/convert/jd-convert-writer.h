/* jd-convert-writer.h — writes a bundle tensor by tensor, so converting a multi-gigabyte model
 * never holds more than one tensor in memory (jd_safetensors_writer keeps all of them).
 *
 * Tensors are declared first (name, dtype, shape and a function that fills its F32 values);
 * the header is then known, and write() produces each tensor in name order, converts it to its
 * dtype and appends it. Same file layout as jd_safetensors_writer: tensors sorted by name,
 * packed without gaps, the JSON header padded with spaces to a multiple of 8 bytes. The file is
 * written to a temporary name in the destination folder and renamed over the destination only
 * when complete, so a failure leaves neither a partial bundle nor the temporary file. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "jd-dtype.h"
#include "jd-tensor.h"

G_BEGIN_DECLS

typedef struct _JdConvertWriter JdConvertWriter;

/* Fills numel F32 values of the tensor; FALSE with error stops the write. */
typedef gboolean (*JdConvertFillFunc) (gpointer data, const char *name, float *values,
                                       int64_t numel, GError **error);
/* Called after each tensor: bytes written of total, the tensor just written. */
typedef void (*JdConvertWriteProgress) (guint64 done, guint64 total, const char *name,
                                        gpointer user_data);

JdConvertWriter *jd_convert_writer_new          (void);
void             jd_convert_writer_free         (JdConvertWriter *writer);
/* Declares a tensor; data is released with destroy (may be NULL) when the writer is freed.
 * FALSE with JD_ERROR_INVALID_ARGUMENT for a duplicate name or a bad shape. */
gboolean         jd_convert_writer_add          (JdConvertWriter   *writer,
                                                 const char        *name,
                                                 JdDType            dtype,
                                                 int                ndim,
                                                 const int64_t     *shape,
                                                 JdConvertFillFunc  fill,
                                                 gpointer           data,
                                                 GDestroyNotify     destroy,
                                                 GError           **error);
void             jd_convert_writer_set_metadata (JdConvertWriter *writer, const char *key,
                                                 const char *value);
guint            jd_convert_writer_get_n        (JdConvertWriter *writer);
guint64          jd_convert_writer_get_data_size (JdConvertWriter *writer);
gboolean         jd_convert_writer_write        (JdConvertWriter        *writer,
                                                 const char             *path,
                                                 JdConvertWriteProgress  progress,
                                                 gpointer                user_data,
                                                 GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdConvertWriter, jd_convert_writer_free)

G_END_DECLS
