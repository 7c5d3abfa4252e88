/* jd-dtype.h — element types of tensors and the conversions between them. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  JD_DTYPE_F32,
  JD_DTYPE_F16,
  JD_DTYPE_BF16,
} JdDType;

#define JD_DTYPE_COUNT 3

/* Size of one element in bytes. */
gsize        jd_dtype_size (JdDType dtype);
/* Safetensors spelling: "F32", "F16", "BF16". */
const char  *jd_dtype_name (JdDType dtype);
/* Parses the safetensors spelling; FALSE for anything else. */
gboolean     jd_dtype_from_name (const char *name, JdDType *dtype);

/* IEEE binary16 and bfloat16 <-> binary32. Conversions to the narrow types round to nearest
 * even; NaN stays NaN, infinities stay infinite. */
float        jd_f16_to_f32 (uint16_t h);
uint16_t     jd_f32_to_f16 (float f);
float        jd_bf16_to_f32 (uint16_t b);
uint16_t     jd_f32_to_bf16 (float f);

/* Converts n elements of src (of type src_dtype) to F32. */
void         jd_convert_to_f32 (JdDType src_dtype, const void *src, float *dst, gsize n);
/* Converts n F32 elements to dst_dtype. */
void         jd_convert_from_f32 (JdDType dst_dtype, const float *src, void *dst, gsize n);

G_END_DECLS
