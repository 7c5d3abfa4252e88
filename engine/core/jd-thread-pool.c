#include "jd-thread-pool.h"

#include <omp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

struct _JdThreadPool {
  int n_threads;
};

int
jd_cpu_count (void)
{
  return MAX (1, (int) g_get_num_processors ());
}

JdThreadPool *
jd_thread_pool_new (int n_threads)
{
  JdThreadPool *pool = g_new0 (JdThreadPool, 1);
  jd_thread_pool_set_n_threads (pool, n_threads);
  return pool;
}

void
jd_thread_pool_free (JdThreadPool *pool)
{
  g_free (pool);
}

int
jd_thread_pool_get_n_threads (JdThreadPool *pool)
{
  return pool->n_threads;
}

void
jd_thread_pool_set_n_threads (JdThreadPool *pool,
                              int           n_threads)
{
  pool->n_threads = n_threads > 0 ? n_threads : jd_cpu_count ();
}

/* Subnormal floats (below 1.2e-38) cost x86 cores a microcode assist per operation, and trained
 * weights make them: the default model sampled at 136 ms per step where the same graph with
 * random weights took 95. Flush-to-zero and denormals-are-zero (MXCSR bits 15 and 6) treat
 * them as 0, a change far below every tolerance. MXCSR is per thread, so each thread that runs
 * engine work sets it once. (Other architectures keep their defaults.) */
static void
flush_subnormals_on_this_thread (void)
{
#if defined(__x86_64__) || defined(__i386__)
  static __thread gboolean done;
  if (!done)
    {
      _mm_setcsr (_mm_getcsr () | 0x8040);
      done = TRUE;
    }
#endif
}

void
jd_thread_pool_enter (JdThreadPool *pool)
{
  /* Every CPU op enters the pool before it runs (cpu_run). The OpenMP team belongs to the
   * calling thread and keeps its threads between parallel regions; our kernels and oneDNN's
   * both run on it, so flushing each member once here covers both. */
  static __thread int team_flushed;
  omp_set_num_threads (pool->n_threads);
  flush_subnormals_on_this_thread ();
  if (team_flushed < pool->n_threads)
    {
#pragma omp parallel num_threads (pool->n_threads)
      flush_subnormals_on_this_thread ();
      team_flushed = pool->n_threads;
    }
}

void
jd_thread_pool_parallel_for (JdThreadPool  *pool,
                             int64_t        n,
                             int64_t        grain,
                             JdParallelFunc fn,
                             gpointer       user_data)
{
  if (n <= 0)
    return;
  int64_t max_chunks = grain > 0 ? MAX (1, n / grain) : n;
  int chunks = (int) MIN ((int64_t) pool->n_threads, max_chunks);
  if (chunks <= 1)
    {
      fn (0, n, user_data);
      return;
    }
#pragma omp parallel for num_threads (chunks) schedule (static, 1)
  for (int c = 0; c < chunks; c++)
    fn (n * c / chunks, n * (c + 1) / chunks, user_data);
}
