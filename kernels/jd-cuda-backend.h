/* jd-cuda-backend.h — the CUDA backend: device memory from a stream-ordered pool, one stream per
 * backend (one engine, one job), cuBLASLt for linear layers, cuDNN for convolutions, the
 * engine's own kernels (the .cu files of kernels/) for everything else.
 *
 * Tensors stay F32 at the op interface (jd-op.h). In BF16 precision (the default) the backend
 * keeps a BF16 copy of every constant weight it multiplies with (made once, on the device, in
 * the tensor's backend_cache) and runs GEMMs and attention on tensor cores with F32
 * accumulation (attention over sequences of ≤ 32, such as temporal attention, runs in F32 in
 * both precisions: jd-cuda-attention-short.cu); convolutions use cuDNN's tensor-op math
 * (TF32). In F32 precision nothing is narrowed: TF32 is off in cuBLASLt and cuDNN, attention
 * runs the F32 kernels, and the results match the CPU backend to ~1e-6.
 */
#pragma once

#include "jd-backend.h"

G_BEGIN_DECLS

typedef enum {
  JD_CUDA_PRECISION_BF16,
  JD_CUDA_PRECISION_F32,
} JdCudaPrecision;

/* How many CUDA devices the runtime sees: 0 without a driver or a device (never an error).
 * When reason is not NULL and the count is 0, *reason gets the runtime's explanation. */
int              jd_cuda_device_count            (char     **reason);

/* A backend on device `device` (0-based). precision: as above; the environment variable
 * JD_CUDA_PRECISION=f32|bf16 overrides the default given here; JD_CUDA_SYNC=1 makes every op
 * wait for the GPU, so an asynchronous kernel fault is reported by the op that caused it (slow;
 * for debugging); JD_CUDA_SHORT_ATTENTION=0 turns off the short-sequence attention kernel
 * (temporal attention then runs on the tiled kernels; for comparing timings). Fails with
 * JD_ERROR_UNSUPPORTED
 * when there is no usable device (the message says why) and JD_ERROR_BACKEND naming the call
 * when a library cannot be initialised. */
JdBackend       *jd_cuda_backend_new             (int              device,
                                                  JdCudaPrecision  precision,
                                                  GError         **error);
gboolean         jd_backend_is_cuda              (JdBackend       *backend);
JdCudaPrecision  jd_cuda_backend_get_precision   (JdBackend       *backend);
void             jd_cuda_backend_set_precision   (JdBackend       *backend,
                                                  JdCudaPrecision  precision);
/* "NVIDIA H100 80GB HBM3 (sm_90)" */
const char      *jd_cuda_backend_get_device_name (JdBackend       *backend);
/* Free and total device memory (cudaMemGetInfo). */
gboolean         jd_cuda_backend_get_memory      (JdBackend       *backend,
                                                  gsize           *free_bytes,
                                                  gsize           *total_bytes,
                                                  GError         **error);
/* The most memory the backend's pool has held at once since it was made or last reset. */
gsize            jd_cuda_backend_get_peak_bytes  (JdBackend       *backend);
void             jd_cuda_backend_reset_peak      (JdBackend       *backend);
/* Fails with JD_ERROR_OUT_OF_MEMORY, a message naming `what`, the bytes needed and free, and
 * suggesting the CPU, when needed_bytes exceed the device's free memory (plus what the pool
 * already holds and would reuse). */
gboolean         jd_cuda_backend_check_memory    (JdBackend       *backend,
                                                  gsize            needed_bytes,
                                                  const char      *what,
                                                  GError         **error);

/* CUDA graphs — UNVERIFIED ON A GPU, so off unless JD_CUDA_GRAPHS=1 (jd-cuda-graph.c). A
 * computation whose shapes stay fixed, such as the denoiser's network forward at every sampling
 * step, runs eagerly the first time, is recorded the second time and is replayed as one graph
 * launch after that. body must compute outputs from inputs alone (anything else it depends on
 * goes into key) and leave nothing allocated; inputs may hold NULLs, outputs may not. */
typedef struct _JdCudaGraphCache JdCudaGraphCache;
typedef gboolean (*JdCudaGraphBody) (gpointer data, JdTensor *const *inputs,
                                     JdTensor *const *outputs, GError **error);
/* A cache of recorded computations on backend, or NULL when graphs are off (JD_CUDA_GRAPHS is
 * not 1, or backend is not a CUDA backend): then call body directly. */
JdCudaGraphCache *jd_cuda_graph_cache_new      (JdBackend         *backend);
void              jd_cuda_graph_cache_free     (JdCudaGraphCache  *cache);
/* Runs body (data, inputs, outputs) for key: eagerly, by recording it, or by replaying the
 * recording (see above). A body that cannot be recorded (it reads back to the host, say) runs
 * eagerly for that key from then on. At most 8 inputs and 8 outputs, every one contiguous. */
gboolean          jd_cuda_graph_cache_run      (JdCudaGraphCache  *cache,
                                                const char        *key,
                                                JdCudaGraphBody    body,
                                                gpointer           data,
                                                int                n_inputs,
                                                const JdTensor *const *inputs,
                                                int                n_outputs,
                                                JdTensor *const   *outputs,
                                                GError           **error);
/* How many graph launches this process has made (for tests). */
guint             jd_cuda_graph_launch_count   (void);

G_END_DECLS
