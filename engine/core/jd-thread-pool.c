#include "jd-thread-pool.h"

#include <omp.h>

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

void
jd_thread_pool_enter (JdThreadPool *pool)
{
  omp_set_num_threads (pool->n_threads);
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
