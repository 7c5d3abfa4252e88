/* jd-cuda-private.h — what the CUDA backend's host files share.
 *
 * One file per family: jd-cuda-gemm.c (cuBLASLt), jd-cuda-conv.c (cuDNN), jd-cuda-ops.c (the
 * ops that run the engine's own kernels). jd-cuda-backend.c holds memory, the stream and the
 * dispatch table. Every CUDA, cuBLAS and cuDNN call goes through a check that turns a failure
 * into a GError naming the call and the library's reason.
 */
#pragma once

/* cublasLt.h declares a function with an empty parameter list, which the project's
 * -Werror=strict-prototypes rejects; the header is not ours to fix. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cublasLt.h>
#pragma GCC diagnostic pop
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "jd-cuda-backend.h"
#include "jd-cuda-kernels.h"
#include "jd-error.h"

G_BEGIN_DECLS

/* While a CUDA graph is being recorded (jd-cuda-graph.c). */
typedef struct _JdCudaCapture JdCudaCapture;

typedef struct {
  JdBackend         parent;
  int               device;
  char             *device_name;
  int               sm;             /* compute capability × 10 + minor */
  JdCudaPrecision   precision;
  gboolean          sync_each_op;   /* JD_CUDA_SYNC=1: wait after every op (error attribution) */
  /* The short-sequence attention kernel for sequences of ≤ 32 (temporal attention); on unless
   * JD_CUDA_SHORT_ATTENTION=0, which falls back to the tiled kernels (to compare timings). */
  gboolean          short_attention;
  /* BF16 precision: convolutions in BF16 on NHWC copies (KRSC filters) instead of F32 NCHW with
   * TF32; UNVERIFIED ON A GPU and therefore off unless JD_CUDA_CONV_NHWC=1 (jd-cuda-conv.c). */
  gboolean          conv_bf16_nhwc;
  JdCudaCapture    *capture;        /* non-NULL while recording a CUDA graph */
  cudaStream_t      stream;
  cudaMemPool_t     pool;           /* the device's default pool, kept (release threshold max) */
  cublasLtHandle_t  lt;
  cudnnHandle_t     cudnn;
  /* Per-op temporary memory (BF16 copies of activations, library workspaces), grown on
   * demand; valid until the next op (everything runs in order on one stream). */
  void             *scratch;
  gsize             scratch_size;
  GHashTable       *conv_algos;     /* shape key → chosen cuDNN algorithm (jd-cuda-conv.c) */
  GHashTable       *gemm_plans;     /* problem key → described matmul (jd-cuda-gemm.c) */
} JdCudaBackend;

typedef gboolean (*JdCudaRunFunc) (JdCudaBackend *self, const JdOp *op, GError **error);

/* Error checks: TRUE on success; otherwise a GError "CUDA: <what> failed: <reason>". */
gboolean jd_cuda_check        (cudaError_t status, const char *what, GError **error);
gboolean jd_cuda_check_cublas (cublasStatus_t status, const char *what, GError **error);
gboolean jd_cuda_check_cudnn  (cudnnStatus_t status, const char *what, GError **error);

/* At least nbytes of scratch (256-byte aligned), or NULL with error. */
void    *jd_cuda_scratch      (JdCudaBackend *self, gsize nbytes, GError **error);

/* The scratch bytes of n BF16 values, rounded up so the next region stays 256-byte aligned. */
static inline gsize
jd_cuda_bf16_bytes (int64_t n)
{
  return ((gsize) n * 2 + 255) & ~(gsize) 255;
}

/* A BF16 copy of weight w on the device: the cached one for a constant tensor (made on first
 * use), else a fresh conversion into *scratch_at (advanced past it). NULL with error. */
const void *jd_cuda_weight_bf16 (JdCudaBackend *self, const JdTensor *w, char **scratch_at,
                                 GError **error);
/* The same for a (K, C, R, S) filter, as cuDNN's NHWC filter layout KRSC; w->constant caches
 * it the same way. */
const void *jd_cuda_weight_bf16_krsc (JdCudaBackend *self, const JdTensor *w, char **scratch_at,
                                      GError **error);

/* jd-cuda-graph.c: while recording (self->capture != NULL), what cannot be recorded refuses
 * (TRUE when not recording; else FALSE with "CUDA graph: <what> cannot be recorded…"), and
 * uploads are staged in device memory the graph copies from. */
gboolean jd_cuda_capture_refuse (JdCudaBackend *self, const char *what, GError **error);
gboolean jd_cuda_capture_upload (JdCudaBackend *self, gpointer dst, gconstpointer host_src,
                                 gsize nbytes, GError **error);

/* jd-cuda-gemm.c */
GHashTable *jd_cuda_gemm_plans_new     (void);
gboolean jd_cuda_run_linear            (JdCudaBackend *self, const JdOp *op, GError **error);

/* jd-cuda-conv.c */
gboolean jd_cuda_run_conv2d            (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_conv_temporal     (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_conv1d            (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_conv_transpose1d  (JdCudaBackend *self, const JdOp *op, GError **error);
void     jd_cuda_conv_cache_free       (GHashTable *cache);

/* jd-cuda-ops.c */
gboolean jd_cuda_run_group_norm        (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_layer_norm        (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_unary             (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_binary            (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_broadcast         (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_upsample_nearest  (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_concat            (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_slice             (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_permute           (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_rope              (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_timestep_embedding (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_attention         (JdCudaBackend *self, const JdOp *op, GError **error);
gboolean jd_cuda_run_normal_noise      (JdCudaBackend *self, const JdOp *op, GError **error);

G_END_DECLS
