#include "jd-cpu-peak.h"

#include <immintrin.h>

#define ACCUMULATORS 12 /* enough independent chains to cover FMA latency × throughput */

typedef struct {
  int64_t iterations;
  float   sink;
} PeakJob;

__attribute__ ((target ("avx2,fma"))) static float
fma_loop_avx2 (int64_t iterations)
{
  __m256 acc[ACCUMULATORS];
  const __m256 a = _mm256_set1_ps (0.999999f), b = _mm256_set1_ps (1e-7f);
  for (int i = 0; i < ACCUMULATORS; i++)
    acc[i] = _mm256_set1_ps ((float) i);
  for (int64_t it = 0; it < iterations; it++)
    /* Unrolled so the accumulators live in registers: a rolled loop keeps them in memory and
     * measures store-to-load latency instead of the FMA units. */
#pragma GCC unroll 16
    for (int i = 0; i < ACCUMULATORS; i++)
      acc[i] = _mm256_fmadd_ps (acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < ACCUMULATORS; i++)
    sum = _mm256_add_ps (sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps (lanes, sum);
  return lanes[0];
}

__attribute__ ((target ("avx512f"))) static float
fma_loop_avx512 (int64_t iterations)
{
  __m512 acc[ACCUMULATORS];
  const __m512 a = _mm512_set1_ps (0.999999f), b = _mm512_set1_ps (1e-7f);
  for (int i = 0; i < ACCUMULATORS; i++)
    acc[i] = _mm512_set1_ps ((float) i);
  for (int64_t it = 0; it < iterations; it++)
    /* Unrolled so the accumulators live in registers: a rolled loop keeps them in memory and
     * measures store-to-load latency instead of the FMA units. */
#pragma GCC unroll 16
    for (int i = 0; i < ACCUMULATORS; i++)
      acc[i] = _mm512_fmadd_ps (acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < ACCUMULATORS; i++)
    sum = _mm512_add_ps (sum, acc[i]);
  float lanes[16];
  _mm512_storeu_ps (lanes, sum);
  return lanes[0];
}

static int
simd_lanes (void)
{
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f"))
    return 16;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return 8;
  return 0;
}

const char *
jd_cpu_simd_name (void)
{
  switch (simd_lanes ())
    {
    case 16: return "avx512";
    case 8: return "avx2";
    default: return "none";
    }
}

static void
peak_range (int64_t begin, int64_t end, gpointer user_data)
{
  PeakJob *job = user_data;
  float result = simd_lanes () == 16 ? fma_loop_avx512 (job->iterations)
                                     : fma_loop_avx2 (job->iterations);
  /* keep the loop from being optimised away */
  if (result == 12345.678f)
    job->sink = result;
}

double
jd_cpu_measure_fma_peak_gflops (JdThreadPool *pool,
                                double        seconds)
{
  int lanes = simd_lanes ();
  if (lanes == 0)
    return 0.0;
  int threads = jd_thread_pool_get_n_threads (pool);
  jd_thread_pool_enter (pool);

  /* Calibrate the iteration count on one short run, then take the best of three. */
  PeakJob job = { .iterations = 1 << 16 };
  double best = 0.0;
  for (int run = 0; run < 4; run++)
    {
      gint64 start = g_get_monotonic_time ();
      jd_thread_pool_parallel_for (pool, threads, 1, peak_range, &job);
      double elapsed = (double) (g_get_monotonic_time () - start) * 1e-6;
      double flops = 2.0 * lanes * ACCUMULATORS * (double) job.iterations * threads;
      if (run > 0)
        best = MAX (best, flops / elapsed * 1e-9);
      else
        job.iterations = (int64_t) MAX (1.0, job.iterations * seconds / MAX (elapsed, 1e-6));
    }
  return best;
}
