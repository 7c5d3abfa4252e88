/* jd-cuda-module.h — the CUDA backend as a loadable module (jointdit-cuda.so, kernels/).
 *
 * Only the module links the CUDA runtime, cuBLASLt and cuDNN, so programs start quickly and run
 * on the CPU on machines without them. The engine opens the module on first use and takes one
 * table of function pointers from it; the jd_cuda_* functions of jd-cuda-backend.h are thin
 * wrappers over that table (engine/jd-cuda-module.c), so callers do not see the difference.
 *
 * Where the module is: $JD_CUDA_MODULE when set (tests and `meson devenv` point it into the
 * build tree), else JD_CUDA_MODULE_PATH (jd-build-config.h: <libdir>/jointdit/jointdit-cuda.so).
 */
#pragma once

#include "jd-cuda-backend.h"

G_BEGIN_DECLS

/* The one symbol the module exports: a function returning its table. */
#define JD_CUDA_MODULE_SYMBOL "jd_cuda_module_get_table"
/* Raised whenever a member changes meaning or position; the loader refuses other versions. */
#define JD_CUDA_MODULE_VERSION 1

typedef struct {
  guint    version;        /* JD_CUDA_MODULE_VERSION of the module */
  gsize    size;           /* sizeof (JdCudaModuleTable) as the module was built */
  int               (*device_count)          (char **reason);
  JdBackend        *(*backend_new)           (int device, JdCudaPrecision precision,
                                              GError **error);
  gboolean          (*backend_is_cuda)       (JdBackend *backend);
  JdCudaPrecision   (*get_precision)         (JdBackend *backend);
  void              (*set_precision)         (JdBackend *backend, JdCudaPrecision precision);
  const char       *(*get_device_name)       (JdBackend *backend);
  gboolean          (*get_memory)            (JdBackend *backend, gsize *free_bytes,
                                              gsize *total_bytes, GError **error);
  gsize             (*get_peak_bytes)        (JdBackend *backend);
  void              (*reset_peak)            (JdBackend *backend);
  gboolean          (*check_memory)          (JdBackend *backend, gsize needed_bytes,
                                              const char *what, GError **error);
  JdCudaGraphCache *(*graph_cache_new)       (JdBackend *backend);
  void              (*graph_cache_free)      (JdCudaGraphCache *cache);
  gboolean          (*graph_cache_run)       (JdCudaGraphCache *cache, const char *key,
                                              JdCudaGraphBody body, gpointer data,
                                              int n_inputs, const JdTensor *const *inputs,
                                              int n_outputs, JdTensor *const *outputs,
                                              GError **error);
  guint             (*graph_launch_count)    (void);
} JdCudaModuleTable;

typedef const JdCudaModuleTable *(*JdCudaModuleGetTable) (void);

/* The module's table, opening the module on the first call (once per process; the result,
 * success or failure, is kept). NULL when it cannot be loaded; then *reason (when not NULL)
 * gets one sentence: "the CUDA module PATH could not be loaded: <why>". */
const JdCudaModuleTable *jd_cuda_module_get       (char **reason);
/* The table when the module is already open, else NULL; never opens it (so code that only
 * asks about a backend it was handed, such as jd_backend_is_cuda, loads nothing). */
const JdCudaModuleTable *jd_cuda_module_peek      (void);
/* Whether the NVIDIA driver library (libcuda.so.1) can be opened at all (found out once per
 * process): --device auto asks this before opening the module, so machines without a driver
 * pay nothing for the probe. */
gboolean                 jd_cuda_driver_present   (void);

G_END_DECLS
