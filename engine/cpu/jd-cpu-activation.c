#include "jd-cpu-activation.h"

#include <math.h>

/* σ(x) without overflow: e = exp(-|x|) lies in (0, 1], so neither 1 + e nor the quotient can
 * overflow, and for x < 0 the result e / (1 + e) keeps its relative accuracy as it underflows
 * (1 - 1/(1 + e^|x|) would cancel). */
static inline float
sigmoid_scalar (float x)
{
  float e = expf (-fabsf (x));
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

/* 0.5·(1 + tanh u) = σ(2u): the tanh GELU as x·σ(2u) avoids the cancellation of 1 + tanh u for
 * negative x. */
static inline float
gelu_tanh_scalar (float x)
{
  const float sqrt_2_over_pi = 0.7978845608028654f;
  float u = sqrt_2_over_pi * (x + 0.044715f * x * x * x);
  return x * sigmoid_scalar (2.0f * u);
}

/* 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(-x/√2); erfc keeps its relative accuracy for very
 * negative x, where 1 + erf would cancel. Computed in double: the argument's rounding in float
 * would cost erfc up to 1e-5 relative for large |x|. */
static inline float
gelu_exact_scalar (float x)
{
  double xd = x;
  return (float) (0.5 * xd * erfc (-xd * M_SQRT1_2));
}

/* "omp simd" marks the loops that are safe to vectorise although y may be x (each element is
 * read only by its own iteration); the others call libm and stay scalar and exact. */
void
jd_cpu_unary_row_scalar (JdUnaryKind  kind,
                         float        alpha,
                         float        beta,
                         const float *x,
                         float       *y,
                         int64_t      n)
{
  switch (kind)
    {
    case JD_UNARY_IDENTITY:
      if (x != y)
        for (int64_t i = 0; i < n; i++)
          y[i] = x[i];
      break;
    case JD_UNARY_SILU:
      for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * sigmoid_scalar (x[i]);
      break;
    case JD_UNARY_GELU:
      for (int64_t i = 0; i < n; i++)
        y[i] = gelu_exact_scalar (x[i]);
      break;
    case JD_UNARY_GELU_TANH:
      for (int64_t i = 0; i < n; i++)
        y[i] = gelu_tanh_scalar (x[i]);
      break;
    case JD_UNARY_LEAKY_RELU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        y[i] = x[i] >= 0.0f ? x[i] : alpha * x[i];
      break;
    case JD_UNARY_TANH:
      for (int64_t i = 0; i < n; i++)
        y[i] = tanhf (x[i]);
      break;
    case JD_UNARY_SIGMOID:
      for (int64_t i = 0; i < n; i++)
        y[i] = sigmoid_scalar (x[i]);
      break;
    case JD_UNARY_AFFINE:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        y[i] = alpha * x[i] + beta;
      break;
    case JD_UNARY_COUNT:
    default:
      g_assert_not_reached ();
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__ ((target ("avx2,fma")))

/* exp(x) for x <= 0, relative error about 1e-7: x = n·ln2 + r with |r| <= ln2/2 (ln2 split in
 * two so n·ln2 is exact), exp(r) by its Taylor series to r^7 (truncation below 1e-8), then 2^n
 * put into the exponent bits. Below -87.3 the result would be subnormal: 0 is returned, which is
 * what the callers (σ, SiLU, GELU) need. */
AVX2 static inline __m256
exp_nonpositive_avx2 (__m256 x)
{
  const __m256 log2e = _mm256_set1_ps (1.44269504088896341f);
  const __m256 ln2_hi = _mm256_set1_ps (0.693145751953125f);
  const __m256 ln2_lo = _mm256_set1_ps (1.428606765330187045e-06f);
  __m256 underflow = _mm256_cmp_ps (x, _mm256_set1_ps (-87.3f), _CMP_LT_OQ);
  x = _mm256_max_ps (x, _mm256_set1_ps (-87.3f));
  __m256 n = _mm256_round_ps (_mm256_mul_ps (x, log2e),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps (n, ln2_hi, x);
  r = _mm256_fnmadd_ps (n, ln2_lo, r);
  __m256 p = _mm256_set1_ps (1.0f / 5040.0f);
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 720.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 120.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 24.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 6.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (0.5f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  /* n >= -126, so 2^n is a normal float. */
  __m256i bits = _mm256_slli_epi32 (_mm256_add_epi32 (_mm256_cvtps_epi32 (n),
                                                      _mm256_set1_epi32 (127)), 23);
  __m256 result = _mm256_mul_ps (p, _mm256_castsi256_ps (bits));
  return _mm256_andnot_ps (underflow, result);
}

/* σ(x) as in sigmoid_scalar. */
AVX2 static inline __m256
sigmoid_avx2 (__m256 x)
{
  const __m256 sign_mask = _mm256_set1_ps (-0.0f);
  __m256 e = exp_nonpositive_avx2 (_mm256_or_ps (x, sign_mask)); /* exp(-|x|) */
  __m256 s = _mm256_div_ps (_mm256_set1_ps (1.0f), _mm256_add_ps (_mm256_set1_ps (1.0f), e));
  __m256 negative = _mm256_cmp_ps (x, _mm256_setzero_ps (), _CMP_LT_OQ);
  return _mm256_blendv_ps (s, _mm256_mul_ps (e, s), negative);
}

/* Exact GELU, x·Φ(x) with Φ(x) = 0.5·erfc(−x/√2), to about 1e-6 relative for every x.
 *
 * erfc(z) for z = |x|/√2 >= 0 is written t·exp(−z²)·exp(P(t)) with t = 1/(1 + z/2) and P a
 * degree-9 polynomial fitted here (Chebyshev least squares to log(erfc(z)·e^{z²}/t) over
 * z in [0, 10], max error 5e-8, 4e-7 in float arithmetic). z² = x²/2 is carried as hi + lo
 * (the FMA gives the rounding error of x·x exactly) because exp(−z²) would otherwise inherit
 * z²'s rounding, 5e-6 relative at z = 9. For x < 0, Φ = erfc/2 keeps its relative accuracy as
 * it underflows; for x >= 0, Φ = 1 − erfc/2. */
AVX2 static inline __m256
gelu_avx2 (__m256 x)
{
  static const float p[10] = {
    -1.265447974e+00f, 9.986327887e-01f, 3.866403997e-01f, 3.460279852e-02f,
    1.267592306e-03f, -8.028044552e-02f, -6.962518692e-01f, 1.156733751e+00f,
    -6.808272004e-01f, 1.449302137e-01f,
  };
  const __m256 half = _mm256_set1_ps (0.5f), one = _mm256_set1_ps (1.0f);
  /* Beyond |x| = 14, Φ is 1 or underflows to 0 in float; clamping keeps x² and the exps finite
   * (a NaN x becomes -14 here and comes back through the final product). */
  __m256 xc = _mm256_min_ps (_mm256_max_ps (x, _mm256_set1_ps (-14.0f)), _mm256_set1_ps (14.0f));
  __m256 ax = _mm256_andnot_ps (_mm256_set1_ps (-0.0f), xc);
  __m256 sq_hi = _mm256_mul_ps (xc, xc);
  __m256 sq_lo = _mm256_fmsub_ps (xc, xc, sq_hi);
  __m256 z = _mm256_mul_ps (ax, _mm256_set1_ps ((float) M_SQRT1_2));
  __m256 t = _mm256_div_ps (one, _mm256_fmadd_ps (half, z, one));
  __m256 poly = _mm256_set1_ps (p[9]);
  for (int i = 8; i >= 0; i--)
    poly = _mm256_fmadd_ps (poly, t, _mm256_set1_ps (p[i]));
  __m256 e_hi = exp_nonpositive_avx2 (_mm256_mul_ps (_mm256_set1_ps (-0.5f), sq_hi));
  __m256 e_rest = exp_nonpositive_avx2 (_mm256_fnmadd_ps (half, sq_lo, poly));
  __m256 half_erfc = _mm256_mul_ps (_mm256_mul_ps (half, t), _mm256_mul_ps (e_hi, e_rest));
  __m256 negative = _mm256_cmp_ps (x, _mm256_setzero_ps (), _CMP_LT_OQ);
  __m256 phi = _mm256_blendv_ps (_mm256_sub_ps (one, half_erfc), half_erfc, negative);
  return _mm256_mul_ps (x, phi);
}

/* tanh, about 1e-7 relative: for |x| < 0.625, x + x³·Q(x²) with Q a degree-5 polynomial fitted
 * here (Chebyshev least squares to (tanh x − x)/x³); above, (1 − e)/(1 + e) with e = exp(−2|x|)
 * <= 0.29, where 1 − e cannot cancel. The sign is put back last. */
AVX2 static inline __m256
tanh_avx2 (__m256 x)
{
  static const float q[6] = {
    -3.333333433e-01f, 1.333330423e-01f, -5.395940691e-02f, 2.176996134e-02f,
    -8.346981369e-03f, 2.295842161e-03f,
  };
  const __m256 sign_mask = _mm256_set1_ps (-0.0f), one = _mm256_set1_ps (1.0f);
  __m256 ax = _mm256_andnot_ps (sign_mask, x);
  __m256 s = _mm256_mul_ps (ax, ax);
  __m256 poly = _mm256_set1_ps (q[5]);
  for (int i = 4; i >= 0; i--)
    poly = _mm256_fmadd_ps (poly, s, _mm256_set1_ps (q[i]));
  __m256 small = _mm256_fmadd_ps (_mm256_mul_ps (ax, s), poly, ax);
  __m256 e = exp_nonpositive_avx2 (_mm256_mul_ps (_mm256_set1_ps (-2.0f), ax));
  __m256 large = _mm256_div_ps (_mm256_sub_ps (one, e), _mm256_add_ps (one, e));
  __m256 is_small = _mm256_cmp_ps (ax, _mm256_set1_ps (0.625f), _CMP_LT_OQ);
  __m256 magnitude = _mm256_blendv_ps (large, small, is_small);
  return _mm256_or_ps (magnitude, _mm256_and_ps (sign_mask, x));
}

AVX2 static void
unary_row_avx2 (JdUnaryKind  kind,
                const float *x,
                float       *y,
                int64_t      n)
{
  int64_t i = 0;
  switch (kind)
    {
    case JD_UNARY_SILU:
      for (; i + 8 <= n; i += 8)
        {
          __m256 v = _mm256_loadu_ps (x + i);
          _mm256_storeu_ps (y + i, _mm256_mul_ps (v, sigmoid_avx2 (v)));
        }
      break;
    case JD_UNARY_SIGMOID:
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps (y + i, sigmoid_avx2 (_mm256_loadu_ps (x + i)));
      break;
    case JD_UNARY_GELU:
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps (y + i, gelu_avx2 (_mm256_loadu_ps (x + i)));
      break;
    case JD_UNARY_TANH:
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps (y + i, tanh_avx2 (_mm256_loadu_ps (x + i)));
      break;
    case JD_UNARY_GELU_TANH:
      for (; i + 8 <= n; i += 8)
        {
          __m256 v = _mm256_loadu_ps (x + i);
          __m256 v3 = _mm256_mul_ps (_mm256_mul_ps (v, v), v);
          __m256 inner = _mm256_fmadd_ps (_mm256_set1_ps (0.044715f), v3, v);
          __m256 two_u = _mm256_mul_ps (_mm256_set1_ps (2.0f * 0.7978845608028654f), inner);
          _mm256_storeu_ps (y + i, _mm256_mul_ps (v, sigmoid_avx2 (two_u)));
        }
      break;
    default:
      break;
    }
  jd_cpu_unary_row_scalar (kind, 0.0f, 0.0f, x + i, y + i, n - i);
}

gboolean
jd_cpu_have_avx2 (void)
{
  /* libgcc fills the CPU model before main; reading it is cheap and thread-safe. */
  return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
}

void
jd_cpu_unary_row (JdUnaryKind  kind,
                  float        alpha,
                  float        beta,
                  const float *x,
                  float       *y,
                  int64_t      n)
{
  gboolean vectorised = kind == JD_UNARY_SILU || kind == JD_UNARY_SIGMOID
                        || kind == JD_UNARY_GELU || kind == JD_UNARY_GELU_TANH
                        || kind == JD_UNARY_TANH;
  if (vectorised && jd_cpu_have_avx2 ())
    unary_row_avx2 (kind, x, y, n);
  else
    jd_cpu_unary_row_scalar (kind, alpha, beta, x, y, n);
}

#else /* not x86 */

gboolean
jd_cpu_have_avx2 (void)
{
  return FALSE;
}

void
jd_cpu_unary_row (JdUnaryKind  kind,
                  float        alpha,
                  float        beta,
                  const float *x,
                  float       *y,
                  int64_t      n)
{
  jd_cpu_unary_row_scalar (kind, alpha, beta, x, y, n);
}

#endif
