/* Attention throughput: a benchmark program that prints a table, not a test.
 *
 *   build/tests/bench-attention [seconds-per-case [case-name-filter]]
 *
 * GFLOP/s count 4 · B · H · Lq · Lk · D (two GEMMs of 2 FLOP per multiply-add), the measure
 * `jointdit bench ops` uses, against the FMA peak measured on the same threads. */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jd-cpu-attention-kernels.h"
#include "jd-cpu-backend.h"
#include "jd-cpu-peak.h"
#include "jd-ops.h"

typedef struct {
  const char *name;
  int64_t     batch, lq, lk;
  int         heads, dqk, dv;
} Case;

static JdTensor *
random_tensor (JdBackend *backend, GRand *rng, int64_t b, int64_t l, int64_t w)
{
  g_autoptr (GError) error = NULL;
  JdTensor *t = jd_tensor_new_f32 (backend, &error, 3, b, l, w);
  g_assert_no_error (error);
  float *data = t->data;
  for (int64_t i = 0; i < jd_tensor_numel (t); i++)
    data[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  return t;
}

typedef struct {
  double seconds;  /* best time of one attention call */
  double peak;     /* best jd_cpu_measure_fma_peak_gflops between the calls, GFLOP/s */
  double fma_peak; /* best of this file's register-only FMA loop, GFLOP/s */
} Measurement;

/* A second FMA peak whose accumulators provably stay in registers (the unroll pragmas make
 * GCC keep them there at -O2), so the table shows whether the engine's measured peak is
 * trustworthy. 12 independent chains cover FMA latency × throughput. */
#define PEAK_CHAINS 12
#define PEAK_ITERATIONS 2000000

__attribute__ ((target ("avx2,fma"), noinline)) static float
register_fma_loop (int64_t iterations)
{
  __m256 acc[PEAK_CHAINS];
  const __m256 a = _mm256_set1_ps (0.999999f), b = _mm256_set1_ps (1e-7f);
#pragma GCC unroll 12
  for (int i = 0; i < PEAK_CHAINS; i++)
    acc[i] = _mm256_set1_ps ((float) i);
  for (int64_t it = 0; it < iterations; it++)
#pragma GCC unroll 12
    for (int i = 0; i < PEAK_CHAINS; i++)
      acc[i] = _mm256_fmadd_ps (acc[i], a, b);
#pragma GCC unroll 12
  for (int i = 1; i < PEAK_CHAINS; i++)
    acc[0] = _mm256_add_ps (acc[0], acc[i]);
  float lanes[8];
  _mm256_storeu_ps (lanes, acc[0]);
  return lanes[0];
}

static void
register_fma_range (int64_t begin, int64_t end, gpointer user_data)
{
  float *sink = user_data;
  float r = register_fma_loop (PEAK_ITERATIONS);
  if (r == 12345.678f)
    *sink = r;
}

static double
register_fma_peak (JdThreadPool *pool)
{
  if (g_strcmp0 (jd_cpu_simd_name (), "none") == 0)
    return 0.0;
  int threads = jd_thread_pool_get_n_threads (pool);
  float sink = 0.0f;
  jd_thread_pool_enter (pool);
  gint64 start = g_get_monotonic_time ();
  jd_thread_pool_parallel_for (pool, threads, 1, register_fma_range, &sink);
  double elapsed = (double) (g_get_monotonic_time () - start) * 1e-6;
  return 2.0 * 8 * PEAK_CHAINS * (double) PEAK_ITERATIONS * threads / elapsed * 1e-9;
}

/* The machine may be shared, so the FMA peak is measured between the runs, under the same
 * conditions, and the best of each is kept. */
static Measurement
measure (JdBackend *backend, const Case *c, double budget)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);
  g_autoptr (JdTensor) q = random_tensor (backend, rng, c->batch, c->lq, (int64_t) c->heads * c->dqk);
  g_autoptr (JdTensor) k = random_tensor (backend, rng, c->batch, c->lk, (int64_t) c->heads * c->dqk);
  g_autoptr (JdTensor) v = random_tensor (backend, rng, c->batch, c->lk, (int64_t) c->heads * c->dv);
  g_autoptr (JdTensor) dst = random_tensor (backend, rng, c->batch, c->lq, (int64_t) c->heads * c->dv);
  g_autoptr (GError) error = NULL;
  JdThreadPool *pool = jd_cpu_backend_get_thread_pool (backend);
  float scale = 1.0f / sqrtf ((float) c->dqk);
  Measurement best = { INFINITY, 0.0, 0.0 };
  double spent = 0.0;
  for (int run = 0; run < 4 || (spent < budget && run < 50); run++)
    {
      best.peak = MAX (best.peak, jd_cpu_measure_fma_peak_gflops (pool, 0.05));
      best.fma_peak = MAX (best.fma_peak, register_fma_peak (pool));
      gint64 start = g_get_monotonic_time ();
      if (!jd_attention (backend, q, k, v, c->heads, scale, 0, NULL, NULL, dst, &error))
        g_error ("%s", error->message);
      double elapsed = (double) (g_get_monotonic_time () - start) * 1e-6;
      spent += elapsed;
      if (run > 0) /* the first run warms caches and pages */
        best.seconds = MIN (best.seconds, elapsed);
    }
  return best;
}

int
main (int argc, char **argv)
{
  double budget = argc > 1 ? g_ascii_strtod (argv[1], NULL) : 1.0;
  const char *filter = argc > 2 ? argv[2] : NULL;
  static const Case cases[] = {
    { "joint 4096, 5x64", 1, 4096, 4096, 5, 64, 64 },
    { "joint 4096, 20x16", 1, 4096, 4096, 20, 16, 16 },
    { "joint 4096, 5x16", 1, 4096, 4096, 5, 16, 16 },
    { "joint 4096, 2x128", 1, 4096, 4096, 2, 128, 128 },
    { "vae mid 4096, 1x512", 1, 4096, 4096, 1, 512, 512 },
    { "joint 8192, 5x64", 1, 8192, 8192, 5, 64, 64 },
    { "temporal L=16, 4096x5x64", 4096, 16, 16, 5, 64, 64 },
    { "cross 1 key, 4096x5x64", 1, 4096, 1, 5, 64, 64 },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBackend) backend = jd_cpu_backend_new (0, &error);
  g_assert_no_error (error);
  int max_threads = jd_thread_pool_get_n_threads (jd_cpu_backend_get_thread_pool (backend));

  g_print ("kernels: %s, SIMD: %s\n", jd_cpu_attention_kernels ()->name, jd_cpu_simd_name ());
  g_print ("peak: jd_cpu_measure_fma_peak_gflops; reg peak: this program's register-only FMA "
           "loop (best of the runs each)\n");
  g_print ("%-28s %7s %10s %9s %9s %7s %9s %7s\n", "case", "threads", "ms", "GFLOP/s", "peak",
           "%peak", "reg peak", "%reg");
  int thread_counts[2] = { 1, max_threads };
  for (int t = 0; t < (max_threads > 1 ? 2 : 1); t++)
    {
      int threads = thread_counts[t];
      jd_cpu_backend_set_n_threads (backend, threads);
      for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          const Case *c = &cases[i];
          if (filter != NULL && strstr (c->name, filter) == NULL)
            continue;
          Measurement m = measure (backend, c, budget);
          double s = m.seconds, peak = m.peak, reg = m.fma_peak;
          double flops = 4.0 * c->batch * c->heads * (double) c->lq * c->lk
                         * (c->dqk + c->dv) / 2.0;
          double gflops = flops / s * 1e-9;
          g_print ("%-28s %7d %10.2f %9.1f %9.1f %6.1f%% %9.1f %6.1f%%\n", c->name, threads,
                   s * 1e3, gflops, peak, peak > 0 ? 100.0 * gflops / peak : 0.0, reg,
                   reg > 0 ? 100.0 * gflops / reg : 0.0);
        }
    }
  return 0;
}
