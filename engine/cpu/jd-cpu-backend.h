/* jd-cpu-backend.h — the CPU backend: host memory, OpenMP threads, oneDNN for GEMMs and
 * convolutions, the engine's own kernels for everything else. */
#pragma once

#include "jd-backend.h"
#include "jd-thread-pool.h"

G_BEGIN_DECLS

/* n_threads <= 0: one per core. */
JdBackend    *jd_cpu_backend_new             (int        n_threads,
                                              GError   **error);
gboolean      jd_backend_is_cpu              (JdBackend *backend);
JdThreadPool *jd_cpu_backend_get_thread_pool (JdBackend *backend);
void          jd_cpu_backend_set_n_threads   (JdBackend *backend,
                                              int        n_threads);

G_END_DECLS
