/* Portable attention kernels: the reference every SIMD set must agree with, and the fallback
 * for CPUs without AVX2. Plain loops over the same packed layouts. */
#include "jd-cpu-attention-kernels.h"

#include <math.h>
#include <stdlib.h>

static void
scalar_scores (const float *q, int64_t nq, int64_t dqk, const float *kt, int64_t n_panels,
               float *s, int64_t s_stride)
{
  for (int64_t i = 0; i < nq; i++)
    for (int64_t p = 0; p < n_panels; p++)
      {
        float acc[JD_ATTN_KEY_PANEL] = { 0 };
        const float *panel = kt + p * dqk * JD_ATTN_KEY_PANEL;
        for (int64_t c = 0; c < dqk; c++)
          for (int j = 0; j < JD_ATTN_KEY_PANEL; j++)
            acc[j] += q[i * dqk + c] * panel[c * JD_ATTN_KEY_PANEL + j];
        for (int j = 0; j < JD_ATTN_KEY_PANEL; j++)
          s[i * s_stride + p * JD_ATTN_KEY_PANEL + j] = acc[j];
      }
}

static void
scalar_softmax (float *s, int64_t nq, int64_t n, int64_t s_stride, float *m, float *l,
                float *alpha)
{
  for (int64_t i = 0; i < nq; i++)
    {
      float *row = s + i * s_stride;
      float m_new = m[i];
      for (int64_t j = 0; j < n; j++)
        m_new = fmaxf (m_new, row[j]);
      float sum = 0.0f;
      for (int64_t j = 0; j < n; j++)
        {
          row[j] = expf (row[j] - m_new);
          sum += row[j];
        }
      alpha[i] = expf (m[i] - m_new);
      l[i] = l[i] * alpha[i] + sum;
      m[i] = m_new;
    }
}

static void
scalar_accumulate (const float *p, int64_t p_stride, int64_t nq, int64_t nk, const float *v,
                   int64_t v_rows, int64_t dv_padded, const float *alpha, float *o)
{
  for (int64_t c0 = 0; c0 < dv_padded; c0 += 16)
    {
      int width = dv_padded - c0 >= 16 ? 16 : 8;
      const float *chunk = v + c0 * v_rows;
      for (int64_t i = 0; i < nq; i++)
        {
          float acc[16];
          float *out = o + i * dv_padded + c0;
          for (int c = 0; c < width; c++)
            acc[c] = out[c] * alpha[i];
          for (int64_t j = 0; j < nk; j++)
            for (int c = 0; c < width; c++)
              acc[c] += p[i * p_stride + j] * chunk[j * width + c];
          for (int c = 0; c < width; c++)
            out[c] = acc[c];
        }
    }
}

static void
scalar_exp (const float *x, float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = expf (x[i]);
}

static const JdAttentionKernels scalar_kernels = {
  .name = "scalar",
  .scores = scalar_scores,
  .softmax = scalar_softmax,
  .accumulate = scalar_accumulate,
  .exp = scalar_exp,
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
