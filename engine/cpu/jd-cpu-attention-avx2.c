/* AVX2 + FMA attention kernels. Register tiles of up to MR keys (or value components) × 16
 * queries (two vectors): 12 accumulators, two vector loads and MR broadcasts per step, which
 * keeps both FMA pipes busy. The tile's shape is a compile-time constant in each switch case
 * so the accumulators stay in registers. */
#include "jd-cpu-attention-kernels.h"

#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__ ((target ("avx2,fma")))
#define AVX2_INLINE static inline __attribute__ ((always_inline, target ("avx2,fma")))
#define MR 6

/* 2^x for x ≤ 0: 2^n · 2^r with n = round(x), r = x − n in [−1/2, 1/2] (exact in float), and
 * 2^r = exp(r · ln 2) by its Taylor series to degree 7 (truncation below 1e-8). From −126.5
 * down the result is 0: x is clamped to −127, whose exponent field is 0. The clamp keeps NaN
 * (max returns its second operand when either is NaN). */
AVX2_INLINE __m256
exp2_nonpositive_avx2 (__m256 x)
{
  x = _mm256_max_ps (_mm256_set1_ps (-127.0f), x);
  const __m256 n = _mm256_round_ps (x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r = _mm256_sub_ps (x, n);
  __m256 p = _mm256_set1_ps (1.5252733804e-5f);                 /* ln2^7 / 7! */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.5403530393e-4f)); /* ln2^6 / 6! */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.3333558146e-3f)); /* ln2^5 / 5! */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (9.6181291076e-3f)); /* ln2^4 / 4! */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (5.5504108665e-2f)); /* ln2^3 / 3! */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (2.4022650696e-1f)); /* ln2^2 / 2! */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (6.9314718056e-1f)); /* ln2 */
  p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f));
  const __m256i bits = _mm256_slli_epi32 (_mm256_add_epi32 (_mm256_cvtps_epi32 (n),
                                                            _mm256_set1_epi32 (127)), 23);
  return _mm256_mul_ps (p, _mm256_castsi256_ps (bits));
}

/* mr keys against 8 · vecs queries. */
AVX2_INLINE void
scores_tile (const float *qt, int64_t nq_padded, int64_t dqk, const float *k, int64_t k_stride,
             float *s, const int mr, const int vecs)
{
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int w = 0; w < vecs; w++)
      acc[r][w] = _mm256_setzero_ps ();
#pragma GCC unroll 4
  for (int64_t c = 0; c < dqk; c++)
    {
      __m256 qv[2];
#pragma GCC unroll 2
      for (int w = 0; w < vecs; w++)
        qv[w] = _mm256_load_ps (qt + c * nq_padded + 8 * w);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          const __m256 kr = _mm256_broadcast_ss (k + r * k_stride + c);
#pragma GCC unroll 2
          for (int w = 0; w < vecs; w++)
            acc[r][w] = _mm256_fmadd_ps (kr, qv[w], acc[r][w]);
        }
    }
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int w = 0; w < vecs; w++)
      _mm256_store_ps (s + r * nq_padded + 8 * w, acc[r][w]);
}

#define SCORES_CASES(vecs)                                                              \
  switch (MIN (nk - j, MR))                                                             \
    {                                                                                   \
    case 6: scores_tile (qt + i, nq_padded, dqk, kj, k_stride, sj, 6, vecs); break;     \
    case 5: scores_tile (qt + i, nq_padded, dqk, kj, k_stride, sj, 5, vecs); break;     \
    case 4: scores_tile (qt + i, nq_padded, dqk, kj, k_stride, sj, 4, vecs); break;     \
    case 3: scores_tile (qt + i, nq_padded, dqk, kj, k_stride, sj, 3, vecs); break;     \
    case 2: scores_tile (qt + i, nq_padded, dqk, kj, k_stride, sj, 2, vecs); break;     \
    default: scores_tile (qt + i, nq_padded, dqk, kj, k_stride, sj, 1, vecs); break;    \
    }

static AVX2 void
avx2_scores (const float *qt, int64_t nq_padded, int64_t dqk, const float *k, int64_t k_stride,
             int64_t nk, float *s)
{
  for (int64_t j = 0; j < nk; j += MR)
    {
      const float *kj = k + j * k_stride;
      /* Keys come from a large tensor, often from L3: fetch the next group's rows while this
       * one computes. */
      for (int64_t r = j + MR; r < MIN (j + 2 * MR, nk); r++)
        for (int64_t c = 0; c < dqk; c += 16)
          _mm_prefetch ((const char *) (k + r * k_stride + c), _MM_HINT_T0);
      for (int64_t i = 0; i < nq_padded; i += 16)
        {
          float *sj = s + j * nq_padded + i;
          if (nq_padded - i >= 16)
            {
              SCORES_CASES (2)
            }
          else
            {
              SCORES_CASES (1)
            }
        }
    }
}

/* The softmax step for nv · 8 queries (nv ≤ 8), walking the scores row by row so each pass
 * streams contiguous memory; the running max and sum stay in registers. */
AVX2_INLINE void
softmax_group (float *s, int64_t nq_padded, int64_t nk, float *m, float *l, float *alpha,
               const int nv)
{
  __m256 m_new[8], sum[8];
#pragma GCC unroll 8
  for (int w = 0; w < nv; w++)
    {
      m_new[w] = _mm256_load_ps (m + 8 * w);
      sum[w] = _mm256_setzero_ps ();
    }
  for (int64_t j = 0; j < nk; j++)
#pragma GCC unroll 8
    for (int w = 0; w < nv; w++)
      m_new[w] = _mm256_max_ps (m_new[w], _mm256_load_ps (s + j * nq_padded + 8 * w));
  for (int64_t j = 0; j < nk; j++)
#pragma GCC unroll 8
    for (int w = 0; w < nv; w++)
      {
        float *x = s + j * nq_padded + 8 * w;
        const __m256 e = exp2_nonpositive_avx2 (_mm256_sub_ps (_mm256_load_ps (x), m_new[w]));
        _mm256_store_ps (x, e);
        sum[w] = _mm256_add_ps (sum[w], e);
      }
#pragma GCC unroll 8
  for (int w = 0; w < nv; w++)
    {
      const __m256 a = exp2_nonpositive_avx2 (_mm256_sub_ps (_mm256_load_ps (m + 8 * w), m_new[w]));
      _mm256_store_ps (alpha + 8 * w, a);
      _mm256_store_ps (m + 8 * w, m_new[w]);
      _mm256_store_ps (l + 8 * w, _mm256_fmadd_ps (_mm256_load_ps (l + 8 * w), a, sum[w]));
    }
}

static AVX2 void
avx2_softmax (float *s, int64_t nq_padded, int64_t nk, float *m, float *l, float *alpha)
{
  for (int64_t i = 0; i < nq_padded; i += 64)
    {
      float *si = s + i;
      switch (MIN ((nq_padded - i) / 8, 8))
        {
        case 8: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 8); break;
        case 7: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 7); break;
        case 6: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 6); break;
        case 5: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 5); break;
        case 4: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 4); break;
        case 3: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 3); break;
        case 2: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 2); break;
        default: softmax_group (si, nq_padded, nk, m + i, l + i, alpha + i, 1); break;
        }
    }
}

/* mr queries × 8 · vecs value components; with `masked`, the last vector of each value row
 * is read through `tail` (dv not a multiple of 8), so no load runs past the row. */
AVX2_INLINE void
accumulate_tile (const float *p, int64_t nq_padded, int64_t nk, const float *v, int64_t v_stride,
                 const float *alpha, float *o, int64_t o_stride, __m256i tail, const int mr,
                 const int vecs, const int masked, const int prefetch)
{
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
    {
      const __m256 a = _mm256_broadcast_ss (alpha + r);
#pragma GCC unroll 2
      for (int w = 0; w < vecs; w++)
        acc[r][w] = _mm256_mul_ps (a, _mm256_load_ps (o + r * o_stride + 8 * w));
    }
#pragma GCC unroll 4
  for (int64_t j = 0; j < nk; j++)
    {
      __m256 vj[2];
      const float *vrow = v + j * v_stride;
      if (prefetch)
        _mm_prefetch ((const char *) (vrow + 8 * v_stride), _MM_HINT_T0);
#pragma GCC unroll 2
      for (int w = 0; w < vecs; w++)
        vj[w] = masked && w == vecs - 1 ? _mm256_maskload_ps (vrow + 8 * w, tail)
                                        : _mm256_loadu_ps (vrow + 8 * w);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++)
        {
          const __m256 pr = _mm256_broadcast_ss (p + j * nq_padded + r);
#pragma GCC unroll 2
          for (int w = 0; w < vecs; w++)
            acc[r][w] = _mm256_fmadd_ps (pr, vj[w], acc[r][w]);
        }
    }
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
    for (int w = 0; w < vecs; w++)
      _mm256_store_ps (o + r * o_stride + 8 * w, acc[r][w]);
}

#define ACCUMULATE_CASES(vecs, masked, prefetch)                                                       \
  switch (MIN (nq - i, MR))                                                                  \
    {                                                                                        \
    case 6: accumulate_tile (pi, nq_padded, nk, vc, v_stride, ai, oi, dv_padded, tail, 6, vecs, masked, prefetch); break;  \
    case 5: accumulate_tile (pi, nq_padded, nk, vc, v_stride, ai, oi, dv_padded, tail, 5, vecs, masked, prefetch); break;  \
    case 4: accumulate_tile (pi, nq_padded, nk, vc, v_stride, ai, oi, dv_padded, tail, 4, vecs, masked, prefetch); break;  \
    case 3: accumulate_tile (pi, nq_padded, nk, vc, v_stride, ai, oi, dv_padded, tail, 3, vecs, masked, prefetch); break;  \
    case 2: accumulate_tile (pi, nq_padded, nk, vc, v_stride, ai, oi, dv_padded, tail, 2, vecs, masked, prefetch); break;  \
    default: accumulate_tile (pi, nq_padded, nk, vc, v_stride, ai, oi, dv_padded, tail, 1, vecs, masked, prefetch); break; \
    }

static AVX2 void
avx2_accumulate (const float *p, int64_t nq_padded, int64_t nq, int64_t nk, const float *v,
                 int64_t v_stride, int64_t dv, int64_t dv_padded, const float *alpha, float *o)
{
  const int64_t full = dv / 8 * 8;
  int32_t lanes[8];
  for (int t = 0; t < 8; t++)
    lanes[t] = t < dv - full ? -1 : 0;
  const __m256i tail = _mm256_loadu_si256 ((const __m256i *) lanes);
  for (int64_t i = 0; i < nq; i += MR)
    {
      const float *pi = p + i;
      const float *ai = alpha + i;
      int64_t c = 0;
      for (; c + 16 <= full; c += 16)
        {
          const float *vc = v + c;
          float *oi = o + i * dv_padded + c;
          if (i == 0) /* the first pass over the values reads them from far away */
            {
              ACCUMULATE_CASES (2, 0, 1)
            }
          else
            {
              ACCUMULATE_CASES (2, 0, 0)
            }
        }
      if (c + 8 <= full)
        {
          const float *vc = v + c;
          float *oi = o + i * dv_padded + c;
          ACCUMULATE_CASES (1, 0, 0)
          c += 8;
        }
      if (c < dv)
        {
          const float *vc = v + c;
          float *oi = o + i * dv_padded + c;
          ACCUMULATE_CASES (1, 1, 0)
        }
    }
}

static AVX2 void
avx2_exp2 (const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (y + i, exp2_nonpositive_avx2 (_mm256_loadu_ps (x + i)));
  if (i < n)
    {
      float in[8] = { 0 }, out[8];
      for (int64_t t = i; t < n; t++)
        in[t - i] = x[t];
      _mm256_storeu_ps (out, exp2_nonpositive_avx2 (_mm256_loadu_ps (in)));
      for (int64_t t = i; t < n; t++)
        y[t] = out[t - i];
    }
}

static const JdAttentionKernels avx2_kernels = {
  .name = "avx2",
  .scores = avx2_scores,
  .softmax = avx2_softmax,
  .accumulate = avx2_accumulate,
  .exp2 = avx2_exp2,
};

const JdAttentionKernels *
jd_cpu_attention_kernels_avx2 (void)
{
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return &avx2_kernels;
  return NULL;
}
