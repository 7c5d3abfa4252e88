/* jd-cpu-activation.h — the elementwise functions of JdUnaryKind on rows of floats, shared by
 * the unary op and the activations fused into the norms.
 *
 * jd_cpu_unary_row picks AVX2 + FMA at run time where the CPU has them (SiLU, both GELUs,
 * sigmoid, tanh; each within ~5e-7 relative of float64, the tanh GELU's float argument aside)
 * and falls back to jd_cpu_unary_row_scalar, the reference-accurate path, everywhere else and
 * for the tail of a row. x == y is allowed.
 */
#pragma once

#include "jd-op.h"

G_BEGIN_DECLS

void     jd_cpu_unary_row        (JdUnaryKind  kind,
                                  float        alpha,
                                  float        beta,
                                  const float *x,
                                  float       *y,
                                  int64_t      n);
void     jd_cpu_unary_row_scalar (JdUnaryKind  kind,
                                  float        alpha,
                                  float        beta,
                                  const float *x,
                                  float       *y,
                                  int64_t      n);
/* Whether jd_cpu_unary_row uses the AVX2 path on this machine. */
gboolean jd_cpu_have_avx2        (void);

G_END_DECLS
