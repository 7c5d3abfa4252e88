/* jd-philox.h — Philox 4x32-10 (Salmon et al., SC'11) and the engine's one mapping from its
 * output to Gaussian noise.
 *
 * Noise is a pure function of (seed, element index): element i of a noise tensor drawn with
 * (seed, offset) uses the 128-bit counter (offset + i, 0) — low word first — under the 64-bit key
 * seed (low word first). Of the four output words w0..w3, w0 and w1 become
 *
 *   u1 = (w0 + 0.5) / 2^32,   u2 = (w1 + 0.5) / 2^32            (both strictly inside (0, 1))
 *   z  = sqrt(-2 ln u1) · cos(2π u2)                             (Box–Muller, first output)
 *
 * evaluated in float64 with the engine's own ln and cos (jd_philox_log, jd_philox_cos2pi: only
 * +, −, ×, ÷ and sqrt, each rounded once, no fused multiply-add), then rounded to float32. Every
 * step is correctly rounded IEEE arithmetic, so any backend that follows this recipe — the CUDA
 * kernels use __dadd_rn/__dmul_rn for it — draws bit-identical noise.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  uint32_t v[4];
} JdPhilox4x32;

/* One Philox 4x32-10 block. */
JdPhilox4x32 jd_philox4x32_10 (JdPhilox4x32 counter,
                               uint32_t     key0,
                               uint32_t     key1);

/* The standard-normal sample for element `index` under `seed`, as documented above. */
float        jd_philox_normal (uint64_t     seed,
                               uint64_t     index);

/* Fills out[0..n) with jd_philox_normal (seed, offset + i). */
void         jd_philox_fill_normal (uint64_t seed,
                                    uint64_t offset,
                                    float   *out,
                                    gsize    n);

/* ln x for x in (0, 1], and cos(2π u) for u in [0, 1): exposed for tests. */
double       jd_philox_log     (double x);
double       jd_philox_cos2pi  (double u);

G_END_DECLS
