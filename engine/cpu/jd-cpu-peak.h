/* jd-cpu-peak.h — the machine's measured F32 fused-multiply-add peak, the floor benchmarks
 * compare against. */
#pragma once

#include "jd-thread-pool.h"

G_BEGIN_DECLS

/* Widest FMA the CPU runs: "avx512", "avx2", or "none". */
const char *jd_cpu_simd_name (void);

/* GFLOP/s of a register-only FMA loop on every thread of pool at once (2 FLOP per lane per FMA),
 * best of a few runs of about `seconds` each. */
double      jd_cpu_measure_fma_peak_gflops (JdThreadPool *pool,
                                            double        seconds);

G_END_DECLS
