/* CUDA, cuBLAS and cuDNN statuses → GErrors that name the call and give the library's reason. */
#include "jd-cuda-private.h"

static JdError
code_for_cuda (cudaError_t status)
{
  switch (status)
    {
    case cudaErrorMemoryAllocation:
      return JD_ERROR_OUT_OF_MEMORY;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNoKernelImageForDevice:
      return JD_ERROR_UNSUPPORTED;
    default:
      return JD_ERROR_BACKEND;
    }
}

gboolean
jd_cuda_check (cudaError_t status, const char *what, GError **error)
{
  if (status == cudaSuccess)
    return TRUE;
  /* A launch failure also leaves the status in the runtime's per-thread slot; clear it so the
   * next check reports its own call (sticky errors stay, and say so again). */
  (void) cudaGetLastError ();
  g_set_error (error, JD_ERROR, code_for_cuda (status), "CUDA: %s failed: %s (%s)", what,
               cudaGetErrorString (status), cudaGetErrorName (status));
  return FALSE;
}

static const char *
cublas_reason (cublasStatus_t status)
{
  switch (status)
    {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS is not initialised";
    case CUBLAS_STATUS_ALLOC_FAILED: return "out of memory";
    case CUBLAS_STATUS_INVALID_VALUE: return "an argument is invalid";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the GPU lacks a feature this call needs";
    case CUBLAS_STATUS_MAPPING_ERROR: return "memory mapping failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the kernel failed to run";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "this configuration is not supported";
    default: return "unknown status";
    }
}

gboolean
jd_cuda_check_cublas (cublasStatus_t status, const char *what, GError **error)
{
  if (status == CUBLAS_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, JD_ERROR,
               status == CUBLAS_STATUS_ALLOC_FAILED ? JD_ERROR_OUT_OF_MEMORY
               : status == CUBLAS_STATUS_NOT_SUPPORTED ? JD_ERROR_UNSUPPORTED
               : JD_ERROR_BACKEND,
               "cuBLASLt: %s failed: %s (status %d)", what, cublas_reason (status), (int) status);
  return FALSE;
}

gboolean
jd_cuda_check_cudnn (cudnnStatus_t status, const char *what, GError **error)
{
  if (status == CUDNN_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, JD_ERROR,
               status == CUDNN_STATUS_ALLOC_FAILED ? JD_ERROR_OUT_OF_MEMORY
               : status == CUDNN_STATUS_NOT_SUPPORTED ? JD_ERROR_UNSUPPORTED
               : JD_ERROR_BACKEND,
               "cuDNN: %s failed: %s (status %d)", what, cudnnGetErrorString (status),
               (int) status);
  return FALSE;
}
