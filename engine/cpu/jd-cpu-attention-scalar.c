/* Portable attention kernels: the reference every SIMD set must agree with, and the fallback
 * for CPUs without AVX2. Plain loops over the same packed layouts. */
#include "jd-cpu-attention-kernels.h"

#include <math.h>
#include <stdlib.h>

static void
scalar_scores (const float *qt, int64_t nq_padded, int64_t dqk, const float *k,
               int64_t k_stride, int64_t nk, float *s)
{
  for (int64_t j = 0; j < nk; j++)
    {
      float *row = s + j * nq_padded;
      for (int64_t i = 0; i < nq_padded; i++)
        row[i] = 0.0f;
      for (int64_t c = 0; c < dqk; c++)
        {
          const float kc = k[j * k_stride + c];
          for (int64_t i = 0; i < nq_padded; i++)
            row[i] += kc * qt[c * nq_padded + i];
        }
    }
}

static void
scalar_softmax (float *s, int64_t nq_padded, int64_t nk, float *m, float *l, float *alpha)
{
  for (int64_t i = 0; i < nq_padded; i++)
    {
      float m_new = m[i];
      for (int64_t j = 0; j < nk; j++)
        m_new = fmaxf (m_new, s[j * nq_padded + i]);
      alpha[i] = exp2f (m[i] - m_new);
      l[i] *= alpha[i];
      m[i] = m_new;
    }
  for (int64_t j = 0; j < nk; j++)
    for (int64_t i = 0; i < nq_padded; i++)
      {
        float *x = &s[j * nq_padded + i];
        *x = exp2f (*x - m[i]);
        l[i] += *x;
      }
}

static void
scalar_accumulate (const float *p, int64_t nq_padded, int64_t nq, int64_t nk, const float *v,
                   int64_t v_stride, int64_t dv, int64_t dv_padded, const float *alpha, float *o)
{
  for (int64_t i = 0; i < nq; i++)
    {
      float *row = o + i * dv_padded;
      for (int64_t c = 0; c < dv; c++)
        row[c] *= alpha[i];
      for (int64_t j = 0; j < nk; j++)
        {
          const float pji = p[j * nq_padded + i];
          for (int64_t c = 0; c < dv; c++)
            row[c] += pji * v[j * v_stride + c];
        }
    }
}

static void
scalar_exp2 (const float *x, float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i] < -126.0f ? 0.0f : exp2f (x[i]);
}

static const JdAttentionKernels scalar_kernels = {
  .name = "scalar",
  .scores = scalar_scores,
  .softmax = scalar_softmax,
  .accumulate = scalar_accumulate,
  .exp2 = scalar_exp2,
};

const JdAttentionKernels *
jd_cpu_attention_kernels_scalar (void)
{
  return &scalar_kernels;
}

const JdAttentionKernels *
jd_cpu_attention_kernels (void)
{
  static gsize chosen; /* a JdAttentionKernels pointer; GLib 2.74 has no pointer variant */
  if (g_once_init_enter (&chosen))
    {
      const JdAttentionKernels *best = jd_cpu_attention_kernels_avx2 ();
      if (best == NULL || g_strcmp0 (g_getenv ("JD_ATTENTION_KERNELS"), "scalar") == 0)
        best = &scalar_kernels;
      g_once_init_leave (&chosen, (gsize) best);
    }
  return (const JdAttentionKernels *) chosen;
}
