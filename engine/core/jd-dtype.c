#include "jd-dtype.h"

#include <math.h>
#include <string.h>

static const struct {
  const char *name;
  gsize size;
} dtype_info[JD_DTYPE_COUNT] = {
  [JD_DTYPE_F32] = { "F32", 4 },
  [JD_DTYPE_F16] = { "F16", 2 },
  [JD_DTYPE_BF16] = { "BF16", 2 },
};

gsize
jd_dtype_size (JdDType dtype)
{
  g_return_val_if_fail ((unsigned) dtype < JD_DTYPE_COUNT, 0);
  return dtype_info[dtype].size;
}

const char *
jd_dtype_name (JdDType dtype)
{
  g_return_val_if_fail ((unsigned) dtype < JD_DTYPE_COUNT, "?");
  return dtype_info[dtype].name;
}

gboolean
jd_dtype_from_name (const char *name, JdDType *dtype)
{
  for (unsigned i = 0; i < JD_DTYPE_COUNT; i++)
    if (strcmp (name, dtype_info[i].name) == 0)
      {
        *dtype = (JdDType) i;
        return TRUE;
      }
  return FALSE;
}

static inline uint32_t
f32_bits (float f)
{
  uint32_t u;
  memcpy (&u, &f, sizeof u);
  return u;
}

static inline float
bits_f32 (uint32_t u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

float
jd_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;

  if (exponent == 0x1f) /* infinity or NaN */
    return bits_f32 (sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0)
    {
      /* zero or subnormal: mantissa · 2^-24, exact in F32 */
      float magnitude = ldexpf ((float) mantissa, -24);
      return sign ? -magnitude : magnitude;
    }
  return bits_f32 (sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t
jd_f32_to_f16 (float f)
{
  uint32_t u = f32_bits (f);
  uint16_t sign = (uint16_t) ((u >> 16) & 0x8000u);
  uint32_t abs_bits = u & 0x7fffffffu;

  if (abs_bits >= 0x7f800000u) /* infinity or NaN (keep NaN quiet and non-zero) */
    return sign | 0x7c00u | (abs_bits > 0x7f800000u ? 0x200u : 0);
  if (abs_bits >= 0x477ff000u) /* rounds to ≥ 65520: overflow to infinity */
    return sign | 0x7c00u;
  if (abs_bits < 0x38800000u)
    {
      /* below the smallest normal half (2^-14): round |f| / 2^-24 to an integer, ties to even */
      float scaled = bits_f32 (abs_bits) * 16777216.0f; /* exact: power-of-two scale */
      return sign | (uint16_t) lrintf (scaled);
    }
  /* normal: rebias the exponent and round the 13 dropped mantissa bits to nearest even */
  uint32_t rounded = abs_bits + 0xfffu + ((abs_bits >> 13) & 1u);
  return sign | (uint16_t) ((rounded - 0x38000000u) >> 13);
}

float
jd_bf16_to_f32 (uint16_t b)
{
  return bits_f32 ((uint32_t) b << 16);
}

uint16_t
jd_f32_to_bf16 (float f)
{
  uint32_t u = f32_bits (f);
  if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a quiet NaN */
    return (uint16_t) ((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t) (u >> 16);
}

/* Half-precision words are read and written through memcpy: a model file's tensors may start at
 * any byte (safetensors does not require alignment), and a misaligned uint16_t access is
 * undefined behaviour. Compilers turn the 2-byte memcpy into a plain load or store. */
static inline uint16_t
load_u16 (const guint8 *bytes, gsize i)
{
  uint16_t h;
  memcpy (&h, bytes + 2 * i, sizeof h);
  return h;
}

static inline void
store_u16 (guint8 *bytes, gsize i, uint16_t h)
{
  memcpy (bytes + 2 * i, &h, sizeof h);
}

void
jd_convert_to_f32 (JdDType src_dtype, const void *src, float *dst, gsize n)
{
  const guint8 *bytes = src;
  switch (src_dtype)
    {
    case JD_DTYPE_F32:
      memcpy (dst, src, n * sizeof (float));
      break;
    case JD_DTYPE_F16:
      for (gsize i = 0; i < n; i++)
        dst[i] = jd_f16_to_f32 (load_u16 (bytes, i));
      break;
    case JD_DTYPE_BF16:
      for (gsize i = 0; i < n; i++)
        dst[i] = jd_bf16_to_f32 (load_u16 (bytes, i));
      break;
    default:
      g_assert_not_reached ();
    }
}

void
jd_convert_from_f32 (JdDType dst_dtype, const float *src, void *dst, gsize n)
{
  guint8 *bytes = dst;
  switch (dst_dtype)
    {
    case JD_DTYPE_F32:
      memcpy (dst, src, n * sizeof (float));
      break;
    case JD_DTYPE_F16:
      for (gsize i = 0; i < n; i++)
        store_u16 (bytes, i, jd_f32_to_f16 (src[i]));
      break;
    case JD_DTYPE_BF16:
      for (gsize i = 0; i < n; i++)
        store_u16 (bytes, i, jd_f32_to_bf16 (src[i]));
      break;
    default:
      g_assert_not_reached ();
    }
}
