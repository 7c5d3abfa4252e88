/* AVX2 + FMA attention kernels. Register tiles of up to MR query rows × 16 columns (two
 * vectors): 12 accumulators, two streamed loads and MR broadcasts per step, which keeps both
 * FMA pipes busy. The row count of a tile is a compile-time constant in each switch case so
 * the accumulators stay in registers. */
#include "jd-cpu-attention-kernels.h"

#include <float.h>
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__ ((target ("avx2,fma")))
#define AVX2_INLINE static inline __attribute__ ((always_inline, target ("avx2,fma")))
#define MR 6

/* exp(x) = 2^n · exp(r), n = round(x / ln 2), |r| ≤ ln 2 / 2, exp(r) by its Taylor series to
 * degree 7 (truncation error below 1e-8 on that interval). ln 2 is split in two so r is exact
 * to float precision. Below ln(FLT_MIN) the result is 0 rather than a denormal. */
AVX2_INLINE __m256
exp_avx2 (__m256 x)
{
  const __m256 underflow = _mm256_cmp_ps (x, _mm256_set1_ps (-87.33654f), _CMP_LT_OQ);
  x = _mm256_max_ps (x, _mm256_set1_ps (-87.33654f));
  x = _mm256_min_ps (x, _mm256_set1_ps (88.37626f));
  __m256 n = _mm256_round_ps (_mm256_mul_ps (x, _mm256_set1_ps (1.44269504f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps (n, _mm256_set1_ps (0.693359375f), x);
  r = _mm256_fnmadd_ps (n, _mm256_set1_ps (-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps (1.0f / 5040.0f);
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 720.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 120.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 24.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 6.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (0.5f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  __m256i bits = _mm256_slli_epi32 (_mm256_add_epi32 (_mm256_cvtps_epi32 (n),
                                                      _mm256_set1_epi32 (127)), 23);
  __m256 result = _mm256_mul_ps (p, _mm256_castsi256_ps (bits));
  return _mm256_andnot_ps (underflow, result);
}

AVX2_INLINE float
hsum_avx2 (__m256 v)
{
  __m128 x = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  x = _mm_add_ps (x, _mm_movehl_ps (x, x));
  x = _mm_add_ss (x, _mm_movehdup_ps (x));
  return _mm_cvtss_f32 (x);
}

AVX2_INLINE float
hmax_avx2 (__m256 v)
{
  __m128 x = _mm_max_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  x = _mm_max_ps (x, _mm_movehl_ps (x, x));
  x = _mm_max_ss (x, _mm_movehdup_ps (x));
  return _mm_cvtss_f32 (x);
}

/* mr rows of q against one key panel. */
AVX2_INLINE void
scores_tile (const float *q, int64_t dqk, const float *panel, float *s, int64_t s_stride,
             const int mr)
{
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    acc[r][0] = acc[r][1] = _mm256_setzero_ps ();
  for (int64_t c = 0; c < dqk; c++)
    {
      const __m256 k0 = _mm256_load_ps (panel + c * JD_ATTN_KEY_PANEL);
      const __m256 k1 = _mm256_load_ps (panel + c * JD_ATTN_KEY_PANEL + 8);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          const __m256 qr = _mm256_broadcast_ss (q + r * dqk + c);
          acc[r][0] = _mm256_fmadd_ps (qr, k0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps (qr, k1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    {
      _mm256_storeu_ps (s + r * s_stride, acc[r][0]);
      _mm256_storeu_ps (s + r * s_stride + 8, acc[r][1]);
    }
}

static AVX2 void
avx2_scores (const float *q, int64_t nq, int64_t dqk, const float *kt, int64_t n_panels,
             float *s, int64_t s_stride)
{
  for (int64_t i = 0; i < nq; i += MR)
    {
      const float *qi = q + i * dqk;
      float *si = s + i * s_stride;
      for (int64_t p = 0; p < n_panels; p++)
        {
          const float *panel = kt + p * dqk * JD_ATTN_KEY_PANEL;
          float *sp = si + p * JD_ATTN_KEY_PANEL;
          switch (MIN (nq - i, MR))
            {
            case 6: scores_tile (qi, dqk, panel, sp, s_stride, 6); break;
            case 5: scores_tile (qi, dqk, panel, sp, s_stride, 5); break;
            case 4: scores_tile (qi, dqk, panel, sp, s_stride, 4); break;
            case 3: scores_tile (qi, dqk, panel, sp, s_stride, 3); break;
            case 2: scores_tile (qi, dqk, panel, sp, s_stride, 2); break;
            default: scores_tile (qi, dqk, panel, sp, s_stride, 1); break;
            }
        }
    }
}

static AVX2 void
avx2_softmax (float *s, int64_t nq, int64_t n, int64_t s_stride, float *m, float *l,
              float *alpha)
{
  for (int64_t i = 0; i < nq; i++)
    {
      float *row = s + i * s_stride;
      __m256 vmax = _mm256_set1_ps (m[i]);
      for (int64_t j = 0; j < n; j += 8)
        vmax = _mm256_max_ps (vmax, _mm256_loadu_ps (row + j));
      const float m_new = hmax_avx2 (vmax);
      const __m256 shift = _mm256_set1_ps (m_new);
      __m256 sum = _mm256_setzero_ps ();
      for (int64_t j = 0; j < n; j += 8)
        {
          __m256 e = exp_avx2 (_mm256_sub_ps (_mm256_loadu_ps (row + j), shift));
          _mm256_storeu_ps (row + j, e);
          sum = _mm256_add_ps (sum, e);
        }
      alpha[i] = expf (m[i] - m_new);
      l[i] = l[i] * alpha[i] + hsum_avx2 (sum);
      m[i] = m_new;
    }
}

/* mr rows of the output, `vecs` vectors wide (2, or 1 for a last 8-column chunk). */
AVX2_INLINE void
accumulate_tile (const float *p, int64_t p_stride, int64_t nk, const float *chunk,
                 const float *alpha, float *o, int64_t o_stride, const int mr, const int vecs)
{
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    {
      const __m256 a = _mm256_set1_ps (alpha[r]);
#pragma GCC unroll 2
      for (int w = 0; w < vecs; w++)
        acc[r][w] = _mm256_mul_ps (a, _mm256_loadu_ps (o + r * o_stride + 8 * w));
    }
  for (int64_t j = 0; j < nk; j++)
    {
      __m256 vj[2];
#pragma GCC unroll 2
      for (int w = 0; w < vecs; w++)
        vj[w] = _mm256_load_ps (chunk + j * 8 * vecs + 8 * w);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          const __m256 pr = _mm256_broadcast_ss (p + r * p_stride + j);
#pragma GCC unroll 2
          for (int w = 0; w < vecs; w++)
            acc[r][w] = _mm256_fmadd_ps (pr, vj[w], acc[r][w]);
        }
    }
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int w = 0; w < vecs; w++)
      _mm256_storeu_ps (o + r * o_stride + 8 * w, acc[r][w]);
}

#define ACCUMULATE_CASES(vecs)                                                          \
  switch (MIN (nq - i, MR))                                                             \
    {                                                                                   \
    case 6: accumulate_tile (pi, p_stride, nk, chunk, ai, oi, dv_padded, 6, vecs); break; \
    case 5: accumulate_tile (pi, p_stride, nk, chunk, ai, oi, dv_padded, 5, vecs); break; \
    case 4: accumulate_tile (pi, p_stride, nk, chunk, ai, oi, dv_padded, 4, vecs); break; \
    case 3: accumulate_tile (pi, p_stride, nk, chunk, ai, oi, dv_padded, 3, vecs); break; \
    case 2: accumulate_tile (pi, p_stride, nk, chunk, ai, oi, dv_padded, 2, vecs); break; \
    default: accumulate_tile (pi, p_stride, nk, chunk, ai, oi, dv_padded, 1, vecs); break; \
    }

static AVX2 void
avx2_accumulate (const float *p, int64_t p_stride, int64_t nq, int64_t nk, const float *v,
                 int64_t v_rows, int64_t dv_padded, const float *alpha, float *o)
{
  for (int64_t i = 0; i < nq; i += MR)
    {
      const float *pi = p + i * p_stride;
      const float *ai = alpha + i;
      for (int64_t c0 = 0; c0 < dv_padded; c0 += 16)
        {
          const float *chunk = v + c0 * v_rows;
          float *oi = o + i * dv_padded + c0;
          if (dv_padded - c0 >= 16)
            {
              ACCUMULATE_CASES (2)
            }
          else
            {
              ACCUMULATE_CASES (1)
            }
        }
    }
}

static AVX2 void
avx2_exp (const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, exp_avx2 (_mm256_loadu_ps (x + i)));
  if (i < n)
    {
      float in[8] = { 0 }, out[8];
      for (int64_t t = i; t < n; t++)
        in[t - i] = x[t];
      _mm256_storeu_ps (out, exp_avx2 (_mm256_loadu_ps (in)));
      for (int64_t t = i; t < n; t++)
        y[t] = out[t - i];
    }
}

static const JdAttentionKernels avx2_kernels = {
  .name = "avx2",
  .scores = avx2_scores,
  .softmax = avx2_softmax,
  .accumulate = avx2_accumulate,
  .exp = avx2_exp,
};

const JdAttentionKernels *
jd_cpu_attention_kernels_avx2 (void)
{
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return &avx2_kernels;
  return NULL;
}
