/* jd-cuda-backend.h — the CUDA backend: device memory from a stream-ordered pool, one stream per
 * backend (one engine, one job), cuBLASLt for linear layers, cuDNN for convolutions, the
 * engine's own kernels (the .cu files of kernels/) for everything else.
 *
 * Tensors stay F32 at the op interface (jd-op.h). In BF16 precision (the default) the backend
 * keeps a BF16 copy of every constant weight it multiplies with (made once, on the device, in
 * the tensor's backend_cache) and runs GEMMs and attention on tensor cores with F32
 * accumulation; convolutions use cuDNN's tensor-op math (TF32). In F32 precision nothing is
 * narrowed: TF32 is off in cuBLASLt and cuDNN, attention runs the F32 kernel, and the results
 * match the CPU backend to ~1e-6.
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
 * for debugging). Fails with JD_ERROR_UNSUPPORTED
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

G_END_DECLS
