/* jd-thread-pool.h — the CPU's worker threads.
 *
 * oneDNN, which runs our GEMMs and convolutions, is built on OpenMP in Debian; a second pool of
 * our own would make two sets of spinning threads fight over the same cores. So the pool is
 * OpenMP's team, sized by this object: our kernels and oneDNN's share the same threads, and
 * the count set here applies to both (jd_thread_pool_enter sets it for the calling thread).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _JdThreadPool JdThreadPool;

/* Runs fn on [begin, end), a sub-range of [0, n). */
typedef void (*JdParallelFunc) (int64_t  begin,
                                int64_t  end,
                                gpointer user_data);

/* n_threads <= 0 means one per core. */
JdThreadPool *jd_thread_pool_new           (int            n_threads);
void          jd_thread_pool_free          (JdThreadPool  *pool);
int           jd_thread_pool_get_n_threads (JdThreadPool  *pool);
void          jd_thread_pool_set_n_threads (JdThreadPool  *pool,
                                            int            n_threads);
/* Makes the calling thread's OpenMP (and so oneDNN) use the pool's thread count. */
void          jd_thread_pool_enter         (JdThreadPool  *pool);
/* Splits [0, n) into at most n_threads contiguous ranges of at least `grain` items each and
 * runs fn on them in parallel; returns when all are done. */
void          jd_thread_pool_parallel_for  (JdThreadPool  *pool,
                                            int64_t        n,
                                            int64_t        grain,
                                            JdParallelFunc fn,
                                            gpointer       user_data);

int           jd_cpu_count                 (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdThreadPool, jd_thread_pool_free)

G_END_DECLS
