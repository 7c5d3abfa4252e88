/* jd-cpu-attention-kernels.h — the inner loops of the tiled attention (jd-cpu-attention.c),
 * one implementation per instruction set, chosen once at run time.
 *
 * The driver packs one tile of one head into scratch buffers laid out for streaming FMAs:
 *   q     nq rows of `dqk` floats, already multiplied by the softmax scale;
 *   kt    the key tile transposed in panels of JD_ATTN_KEY_PANEL keys: panel p holds
 *         kt[(p · dqk + c) · PANEL + j] = key (p · PANEL + j), component c, zero past the tile;
 *   v     the value tile in column chunks: the chunk starting at column c0 (width 16, or 8 for
 *         a last chunk when dv_padded is not a multiple of 16) holds row j at
 *         v[c0 · v_rows + j · width], where v_rows is the tile's allocated key count.
 * Scores, probabilities and the output accumulator are row-major with the strides given.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define JD_ATTN_KEY_PANEL 16
#define JD_ATTN_DV_ALIGN  8

typedef struct {
  const char *name;
  /* s[i · s_stride + j] = q_i · key_j for i < nq, j < n_panels · PANEL. */
  void (*scores)     (const float *q, int64_t nq, int64_t dqk, const float *kt, int64_t n_panels,
                      float *s, int64_t s_stride);
  /* One online-softmax step on nq rows of n scores (n a multiple of JD_ATTN_DV_ALIGN; masked
   * scores are -inf): m_i becomes max(m_i, max_j s_ij), the scores become exp(s_ij - m_i) in
   * place, alpha_i = exp(m_old - m_new) and l_i = l_i · alpha_i + Σ_j p_ij. */
  void (*softmax)    (float *s, int64_t nq, int64_t n, int64_t s_stride, float *m, float *l,
                      float *alpha);
  /* o_i = alpha_i · o_i + Σ_{j < nk} p_ij · v_j over dv_padded columns (a multiple of
   * JD_ATTN_DV_ALIGN); o has row stride dv_padded. */
  void (*accumulate) (const float *p, int64_t p_stride, int64_t nq, int64_t nk, const float *v,
                      int64_t v_rows, int64_t dv_padded, const float *alpha, float *o);
  /* y = exp(x) elementwise, relative error about 1e-7; 0 below ln(FLT_MIN). */
  void (*exp)        (const float *x, float *y, int64_t n);
} JdAttentionKernels;

const JdAttentionKernels *jd_cpu_attention_kernels_scalar (void);
/* NULL when the CPU lacks AVX2 + FMA. */
const JdAttentionKernels *jd_cpu_attention_kernels_avx2   (void);
/* The fastest set this CPU runs; JD_ATTENTION_KERNELS=scalar forces the portable one. */
const JdAttentionKernels *jd_cpu_attention_kernels        (void);

G_END_DECLS
