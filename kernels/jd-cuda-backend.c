/* The CUDA backend: device selection, memory, copies, the stream and the dispatch table.
 *
 * Memory comes from the device's stream-ordered pool (cudaMallocAsync on the backend's stream,
 * release threshold at its maximum): freed activations go back to the pool and the next
 * allocation of the step reuses them without a driver call, which is the pooled arena the
 * engine's many short-lived tensors need. Everything is issued on one non-blocking stream, so
 * ops, copies and frees are ordered without events.
 */
#include "jd-cuda-private.h"

#include <stdlib.h>
#include <string.h>

G_STATIC_ASSERT ((int) JD_UNARY_SILU == JD_CUDA_UNARY_SILU);
G_STATIC_ASSERT ((int) JD_UNARY_AFFINE == JD_CUDA_UNARY_AFFINE);
G_STATIC_ASSERT ((int) JD_UNARY_COUNT == JD_CUDA_UNARY_AFFINE + 1);
G_STATIC_ASSERT (JD_MAX_SEGMENTS == JD_CUDA_MAX_SEGMENTS);
G_STATIC_ASSERT (JD_MAX_DIMS == JD_CUDA_MAX_DIMS);

static const JdCudaRunFunc run_table[JD_OP_COUNT] = {
  [JD_OP_LINEAR] = jd_cuda_run_linear,
  [JD_OP_CONV2D] = jd_cuda_run_conv2d,
  [JD_OP_CONV_TEMPORAL] = jd_cuda_run_conv_temporal,
  [JD_OP_CONV1D] = jd_cuda_run_conv1d,
  [JD_OP_CONV_TRANSPOSE1D] = jd_cuda_run_conv_transpose1d,
  [JD_OP_GROUP_NORM] = jd_cuda_run_group_norm,
  [JD_OP_LAYER_NORM] = jd_cuda_run_layer_norm,
  [JD_OP_UNARY] = jd_cuda_run_unary,
  [JD_OP_BINARY] = jd_cuda_run_binary,
  [JD_OP_UPSAMPLE_NEAREST] = jd_cuda_run_upsample_nearest,
  [JD_OP_ATTENTION] = jd_cuda_run_attention,
  [JD_OP_ROPE] = jd_cuda_run_rope,
  [JD_OP_TIMESTEP_EMBEDDING] = jd_cuda_run_timestep_embedding,
  [JD_OP_CONCAT] = jd_cuda_run_concat,
  [JD_OP_SLICE] = jd_cuda_run_slice,
  [JD_OP_PERMUTE] = jd_cuda_run_permute,
  [JD_OP_BROADCAST] = jd_cuda_run_broadcast,
  [JD_OP_NORMAL_NOISE] = jd_cuda_run_normal_noise,
};

int
jd_cuda_device_count (char **reason)
{
  int count = 0;
  cudaError_t status = cudaGetDeviceCount (&count);
  if (status != cudaSuccess)
    {
      (void) cudaGetLastError ();
      if (reason != NULL)
        *reason = g_strdup_printf ("the CUDA runtime finds no usable GPU: %s",
                                   cudaGetErrorString (status));
      return 0;
    }
  if (count == 0 && reason != NULL)
    *reason = g_strdup ("the CUDA runtime reports no GPU");
  return count;
}

static gpointer
cuda_alloc (JdBackend *backend, gsize nbytes, GError **error)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  void *data = NULL;
  /* At least 256 bytes: every pointer handed out is then 256-byte aligned, as cuBLASLt's and
   * wmma's fast paths like. */
  cudaError_t status = cudaMallocAsync (&data, MAX (nbytes, 256), self->stream);
  if (status == cudaSuccess)
    return data;
  (void) cudaGetLastError ();
  size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo (&free_bytes, &total_bytes);
  g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
               "CUDA: out of GPU memory allocating %.1f MiB on %s (%.1f MiB free of %.1f MiB): "
               "%s; use a smaller model or --device cpu",
               nbytes / 1048576.0, self->device_name, free_bytes / 1048576.0,
               total_bytes / 1048576.0, cudaGetErrorString (status));
  return NULL;
}

static void
cuda_free (JdBackend *backend, gpointer data)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  if (data == NULL)
    return;
  cudaError_t status = cudaFreeAsync (data, self->stream);
  if (status != cudaSuccess)
    {
      (void) cudaGetLastError ();
      g_warning ("CUDA: cudaFreeAsync failed: %s", cudaGetErrorString (status));
    }
}

/* Copies are queued on the stream (after every op that writes src) and waited for: the host
 * buffer may be reused as soon as the call returns. */
static gboolean
cuda_copy (JdCudaBackend *self, gpointer dst, gconstpointer src, gsize nbytes,
           enum cudaMemcpyKind kind, const char *what, GError **error)
{
  if (nbytes == 0)
    return TRUE;
  return jd_cuda_check (cudaMemcpyAsync (dst, src, nbytes, kind, self->stream), what, error)
         && jd_cuda_check (cudaStreamSynchronize (self->stream), what, error);
}

static gboolean
cuda_upload (JdBackend *backend, gpointer dst, gconstpointer host_src, gsize nbytes,
             GError **error)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  if (self->capture != NULL && nbytes > 0)
    return jd_cuda_capture_upload (self, dst, host_src, nbytes, error);
  return cuda_copy ((JdCudaBackend *) backend, dst, host_src, nbytes, cudaMemcpyHostToDevice,
                    "copying to the GPU (cudaMemcpyAsync)", error);
}

static gboolean
cuda_download (JdBackend *backend, gpointer host_dst, gconstpointer src, gsize nbytes,
               GError **error)
{
  JD_TRY_FALSE (jd_cuda_capture_refuse ((JdCudaBackend *) backend,
                                        "reading a tensor back to the host", error));
  return cuda_copy ((JdCudaBackend *) backend, host_dst, src, nbytes, cudaMemcpyDeviceToHost,
                    "copying from the GPU (cudaMemcpyAsync)", error);
}

static gboolean
cuda_supports (JdBackend *backend, const JdOp *op)
{
  if ((unsigned) op->kind >= JD_OP_COUNT || run_table[op->kind] == NULL)
    return FALSE;
  if (op->dst == NULL || op->dst->dtype != JD_DTYPE_F32)
    return FALSE;
  for (int i = 0; i < JD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL && op->src[i]->dtype != JD_DTYPE_F32)
      return FALSE;
  if (op->kind == JD_OP_ATTENTION)
    {
      const int heads = op->params.attention.heads;
      if (heads <= 0 || op->dst->shape[2] / heads > JD_CUDA_ATTENTION_F32_MAX_DIM)
        return FALSE;
    }
  if (op->kind == JD_OP_ROPE)
    {
      int pairs = 0;
      for (int a = 0; a < op->params.rope.n_axes; a++)
        pairs += op->params.rope.axis_dims[a] / 2;
      if (pairs > JD_CUDA_ROPE_MAX_PAIRS)
        return FALSE;
    }
  return TRUE;
}

static gboolean
cuda_run (JdBackend *backend, const JdOp *op, GError **error)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  if (!cuda_supports (backend, op))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "%s: the CUDA backend does not run this op with these shapes or dtypes",
                   jd_op_kind_name (op->kind));
      return FALSE;
    }
  /* Kernels fail asynchronously: with JD_CUDA_SYNC=1 each op is waited for, so a fault is
   * reported by the op that caused it rather than by a later call. */
  if (!run_table[op->kind] (self, op, error)
      || (self->sync_each_op && self->capture == NULL
          && !jd_cuda_check (cudaStreamSynchronize (self->stream),
                             "running it (JD_CUDA_SYNC=1 waits after every op)", error)))
    {
      if (error != NULL && *error != NULL && !g_str_has_prefix ((*error)->message,
                                                                 jd_op_kind_name (op->kind)))
        g_prefix_error (error, "%s: ", jd_op_kind_name (op->kind));
      return FALSE;
    }
  return TRUE;
}

static gboolean
cuda_synchronize (JdBackend *backend, GError **error)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  JD_TRY_FALSE (jd_cuda_capture_refuse (self, "waiting for the GPU", error));
  return jd_cuda_check (cudaStreamSynchronize (self->stream),
                        "waiting for the GPU (cudaStreamSynchronize)", error);
}

static void
cuda_destroy (JdBackend *backend)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  if (self->stream)
    cudaStreamSynchronize (self->stream);
  if (self->scratch)
    cudaFreeAsync (self->scratch, self->stream);
  g_clear_pointer (&self->conv_algos, jd_cuda_conv_cache_free);
  g_clear_pointer (&self->gemm_plans, g_hash_table_unref);
  if (self->cudnn)
    cudnnDestroy (self->cudnn);
  if (self->lt)
    cublasLtDestroy (self->lt);
  if (self->stream)
    {
      cudaStreamSynchronize (self->stream);
      cudaStreamDestroy (self->stream);
    }
  if (self->pool)
    cudaMemPoolTrimTo (self->pool, 0);
  (void) cudaGetLastError ();
  g_free (self->device_name);
  g_free (self);
}

static const JdBackendClass cuda_class = {
  .name = "cuda",
  .alloc = cuda_alloc,
  .free = cuda_free,
  .upload = cuda_upload,
  .download = cuda_download,
  .supports = cuda_supports,
  .run = cuda_run,
  .synchronize = cuda_synchronize,
  .destroy = cuda_destroy,
};

static JdCudaPrecision
precision_from_environment (JdCudaPrecision fallback)
{
  const char *value = g_getenv ("JD_CUDA_PRECISION");
  if (g_strcmp0 (value, "f32") == 0)
    return JD_CUDA_PRECISION_F32;
  if (g_strcmp0 (value, "bf16") == 0)
    return JD_CUDA_PRECISION_BF16;
  return fallback;
}

JdBackend *
jd_cuda_backend_new (int device, JdCudaPrecision precision, GError **error)
{
  g_autofree char *reason = NULL;
  int count = jd_cuda_device_count (&reason);
  if (count == 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "CUDA: %s; use --device cpu", reason);
      return NULL;
    }
  if (device < 0 || device >= count)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "CUDA: there is no GPU %d (the runtime sees %d)", device, count);
      return NULL;
    }
  if (!jd_cuda_check (cudaSetDevice (device), "selecting the GPU (cudaSetDevice)", error))
    return NULL;
  struct cudaDeviceProp prop;
  if (!jd_cuda_check (cudaGetDeviceProperties (&prop, device),
                      "reading the GPU's properties", error))
    return NULL;
  if (prop.major < 8)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "CUDA: %s has compute capability %d.%d, but this build's kernels need 8.0 "
                   "or newer (BF16 tensor cores); use --device cpu", prop.name, prop.major,
                   prop.minor);
      return NULL;
    }

  JdCudaBackend *self = g_new0 (JdCudaBackend, 1);
  self->parent.klass = &cuda_class;
  self->device = device;
  self->sm = prop.major * 10 + prop.minor;
  self->device_name = g_strdup_printf ("%s (sm_%d)", prop.name, self->sm);
  self->precision = precision_from_environment (precision);
  self->sync_each_op = g_strcmp0 (g_getenv ("JD_CUDA_SYNC"), "1") == 0;
  self->short_attention = g_strcmp0 (g_getenv ("JD_CUDA_SHORT_ATTENTION"), "0") != 0;
  self->conv_bf16_nhwc = g_strcmp0 (g_getenv ("JD_CUDA_CONV_NHWC"), "1") == 0;
  g_autoptr (JdBackend) owned = (JdBackend *) self;  /* cuda_destroy cleans a partial one */

  if (!jd_cuda_check (cudaStreamCreateWithFlags (&self->stream, cudaStreamNonBlocking),
                      "creating the stream", error))
    return NULL;
  if (!jd_cuda_check (cudaDeviceGetDefaultMemPool (&self->pool, device),
                      "getting the memory pool", error))
    return NULL;
  uint64_t threshold = UINT64_MAX;
  if (!jd_cuda_check (cudaMemPoolSetAttribute (self->pool, cudaMemPoolAttrReleaseThreshold,
                                               &threshold),
                      "keeping freed memory in the pool", error))
    return NULL;
  if (!jd_cuda_check_cublas (cublasLtCreate (&self->lt), "creating the cuBLASLt handle", error))
    {
      self->lt = NULL;
      return NULL;
    }
  if (!jd_cuda_check_cudnn (cudnnCreate (&self->cudnn), "creating the cuDNN handle", error))
    {
      self->cudnn = NULL;
      return NULL;
    }
  if (!jd_cuda_check_cudnn (cudnnSetStream (self->cudnn, self->stream),
                            "giving cuDNN the stream", error))
    return NULL;
  self->conv_algos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->gemm_plans = jd_cuda_gemm_plans_new ();
  return g_steal_pointer (&owned);
}

gboolean
jd_backend_is_cuda (JdBackend *backend)
{
  return backend != NULL && backend->klass == &cuda_class;
}

JdCudaPrecision
jd_cuda_backend_get_precision (JdBackend *backend)
{
  g_return_val_if_fail (jd_backend_is_cuda (backend), JD_CUDA_PRECISION_F32);
  return ((JdCudaBackend *) backend)->precision;
}

void
jd_cuda_backend_set_precision (JdBackend *backend, JdCudaPrecision precision)
{
  g_return_if_fail (jd_backend_is_cuda (backend));
  ((JdCudaBackend *) backend)->precision = precision;
}

const char *
jd_cuda_backend_get_device_name (JdBackend *backend)
{
  g_return_val_if_fail (jd_backend_is_cuda (backend), NULL);
  return ((JdCudaBackend *) backend)->device_name;
}

gboolean
jd_cuda_backend_get_memory (JdBackend *backend, gsize *free_bytes, gsize *total_bytes,
                            GError **error)
{
  g_return_val_if_fail (jd_backend_is_cuda (backend), FALSE);
  size_t f = 0, t = 0;
  if (!jd_cuda_check (cudaMemGetInfo (&f, &t), "reading free GPU memory (cudaMemGetInfo)",
                      error))
    return FALSE;
  *free_bytes = f;
  *total_bytes = t;
  return TRUE;
}

gsize
jd_cuda_backend_get_peak_bytes (JdBackend *backend)
{
  g_return_val_if_fail (jd_backend_is_cuda (backend), 0);
  uint64_t high = 0;
  if (cudaMemPoolGetAttribute (((JdCudaBackend *) backend)->pool, cudaMemPoolAttrUsedMemHigh,
                               &high) != cudaSuccess)
    {
      (void) cudaGetLastError ();
      return 0;
    }
  return (gsize) high;
}

void
jd_cuda_backend_reset_peak (JdBackend *backend)
{
  g_return_if_fail (jd_backend_is_cuda (backend));
  uint64_t zero = 0;
  if (cudaMemPoolSetAttribute (((JdCudaBackend *) backend)->pool, cudaMemPoolAttrUsedMemHigh,
                               &zero) != cudaSuccess)
    (void) cudaGetLastError ();
}

gboolean
jd_cuda_backend_check_memory (JdBackend *backend, gsize needed_bytes, const char *what,
                              GError **error)
{
  JdCudaBackend *self = (JdCudaBackend *) backend;
  gsize free_bytes, total_bytes;
  if (!jd_cuda_backend_get_memory (backend, &free_bytes, &total_bytes, error))
    return FALSE;
  /* Memory the pool holds but no tensor uses is free for this job too. */
  uint64_t reserved = 0, used = 0;
  if (cudaMemPoolGetAttribute (self->pool, cudaMemPoolAttrReservedMemCurrent, &reserved)
        != cudaSuccess
      || cudaMemPoolGetAttribute (self->pool, cudaMemPoolAttrUsedMemCurrent, &used)
           != cudaSuccess)
    {
      (void) cudaGetLastError ();
      reserved = used = 0;
    }
  const gsize available = free_bytes + (gsize) (reserved > used ? reserved - used : 0);
  if (needed_bytes <= available)
    return TRUE;
  g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
               "%s needs about %.2f GiB of GPU memory but %s has %.2f GiB free (of %.2f GiB); "
               "close other GPU programs, use a smaller model, or run on the CPU with "
               "--device cpu", what, needed_bytes / 1073741824.0, self->device_name,
               available / 1073741824.0, total_bytes / 1073741824.0);
  return FALSE;
}

void *
jd_cuda_scratch (JdCudaBackend *self, gsize nbytes, GError **error)
{
  if (nbytes <= self->scratch_size && self->scratch != NULL)
    return self->scratch;
  /* A recorded graph keeps using the block it was recorded with. */
  if (!jd_cuda_capture_refuse (self, "growing the scratch buffer", error))
    return NULL;
  /* Grow geometrically, in whole MiB; the old block is freed in stream order, after the ops
   * that still use it. */
  gsize size = MAX (nbytes, self->scratch_size * 2);
  size = (size + 1048575) & ~(gsize) 1048575;
  if (self->scratch != NULL)
    {
      cudaFreeAsync (self->scratch, self->stream);
      self->scratch = NULL;
      self->scratch_size = 0;
    }
  void *data = NULL;
  if (!jd_cuda_check (cudaMallocAsync (&data, size, self->stream),
                      "allocating scratch memory (cudaMallocAsync)", error))
    return NULL;
  self->scratch = data;
  self->scratch_size = size;
  return data;
}

/* --- BF16 copies of constant weights --- */

/* Two layouts of copy, told apart by their free function (the tensor's one cache slot holds
 * one of them): the weight's own layout (GEMMs) and KRSC (the NHWC convolutions). */
static void
weight_cache_free (gpointer data)
{
  /* cudaFree waits for the device, so no queued GEMM still reads the copy. */
  if (cudaFree (data) != cudaSuccess)
    (void) cudaGetLastError ();
}

static void
krsc_cache_free (gpointer data)
{
  weight_cache_free (data);
}

typedef cudaError_t (*WeightConvert) (const JdTensor *w, void *dst, cudaStream_t stream);

static cudaError_t
convert_as_is (const JdTensor *w, void *dst, cudaStream_t stream)
{
  return jd_cuda_launch_f32_to_bf16 (w->data, dst, jd_tensor_numel (w), stream);
}

static cudaError_t
convert_to_krsc (const JdTensor *w, void *dst, cudaStream_t stream)
{
  int64_t k = w->shape[0], c = w->shape[1];
  return jd_cuda_launch_nchw_f32_to_nhwc_bf16 (w->data, dst, k, c,
                                               jd_tensor_numel (w) / MAX (k * c, 1), stream);
}

/* The cached copy of a constant weight (made on first use), else a fresh one in *scratch_at. */
static const void *
weight_copy (JdCudaBackend *self, const JdTensor *w, GDestroyNotify kind, WeightConvert convert,
             char **scratch_at, GError **error)
{
  const int64_t n = jd_tensor_numel (w);
  if (w->constant && w->backend_cache != NULL && w->backend_cache_free == kind)
    return w->backend_cache;
  void *copy = NULL;
  if (w->constant && w->backend_cache == NULL)
    {
      /* Recorded, the conversion would run only inside the graph. */
      if (!jd_cuda_capture_refuse (self, "making a weight's first BF16 copy", error))
        return NULL;
      if (!jd_cuda_check (cudaMalloc (&copy, (size_t) MAX (n * 2, 256)),
                          "allocating a weight's BF16 copy (cudaMalloc)", error))
        return NULL;
      /* The tensor is const to callers, but the cache slot is the backend's by contract. */
      JdTensor *owner = (JdTensor *) w;
      owner->backend_cache = copy;
      owner->backend_cache_free = kind;
    }
  else
    {
      copy = *scratch_at;
      *scratch_at += jd_cuda_bf16_bytes (n);
    }
  if (!jd_cuda_check (convert (w, copy, self->stream), "converting a weight to BF16", error))
    return NULL;
  return copy;
}

const void *
jd_cuda_weight_bf16 (JdCudaBackend *self, const JdTensor *w, char **scratch_at, GError **error)
{
  return weight_copy (self, w, weight_cache_free, convert_as_is, scratch_at, error);
}

const void *
jd_cuda_weight_bf16_krsc (JdCudaBackend *self, const JdTensor *w, char **scratch_at,
                          GError **error)
{
  return weight_copy (self, w, krsc_cache_free, convert_to_krsc, scratch_at, error);
}
