/* jd-cpu-attention-kernels.h — the inner loops of the tiled attention (jd-cpu-attention.c),
 * one implementation per instruction set, chosen once at run time.
 *
 * Scores are held transposed, queries along the vector lanes: the driver packs a block of
 * queries of one head as qt[c · nq_padded + i] (component c of query i, already multiplied by
 * the softmax scale and by log2(e), so the softmax runs on powers of 2, whose range reduction
 * is cheaper than exp's; zero for the padding queries), and scores and probabilities are
 * s[j · nq_padded + i], so the softmax's running max and sum are vectors over queries. Keys
 * are broadcast one scalar at a time and values loaded as vectors straight from the tensors,
 * so neither is ever copied. The output accumulator is row-major, o[i · dv_padded + c].
 * nq_padded and dv_padded are multiples of JD_ATTN_ALIGN.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define JD_ATTN_ALIGN 8

typedef struct {
  const char *name;
  /* s[j · nq_padded + i] = qt_i · key_j for j < nk; key j starts at k + j · k_stride. */
  void (*scores)     (const float *qt, int64_t nq_padded, int64_t dqk, const float *k,
                      int64_t k_stride, int64_t nk, float *s);
  /* One online-softmax step over nk rows of scores: m_i becomes max(m_i, max_j s_ji), the
   * scores become exp(s_ji - m_i) in place, alpha_i = exp(m_old - m_new) and
   * l_i = l_i · alpha_i + Σ_j p_ji. m starts at -inf, l at 0. */
  void (*softmax)    (float *s, int64_t nq_padded, int64_t nk, float *m, float *l,
                      float *alpha);
  /* o[i · dv_padded + c] = alpha_i · o[..] + Σ_{j < nk} p_ji · value_j[c] for i < nq, c < dv
   * (columns dv..dv_padded hold junk); value j starts at v + j · v_stride. */
  void (*accumulate) (const float *p, int64_t nq_padded, int64_t nq, int64_t nk, const float *v,
                      int64_t v_stride, int64_t dv, int64_t dv_padded, const float *alpha,
                      float *o);
  /* y = 2^x for x ≤ 0 (what the softmax needs), relative error about 1e-7 where 2^x is a
   * normal float; below -126 at most FLT_MIN, and exactly 0 from -126.5 down and for -inf;
   * NaN stays NaN. */
  void (*exp2)       (const float *x, float *y, int64_t n);
} JdAttentionKernels;

const JdAttentionKernels *jd_cpu_attention_kernels_scalar (void);
/* NULL when the CPU lacks AVX2 + FMA. */
const JdAttentionKernels *jd_cpu_attention_kernels_avx2   (void);
/* The fastest set this CPU runs; JD_ATTENTION_KERNELS=scalar forces the portable one. */
const JdAttentionKernels *jd_cpu_attention_kernels        (void);

G_END_DECLS
