#include "jd-cpu-private.h"

#include <stdlib.h>
#include <string.h>

static const JdCpuRunFunc run_table[JD_OP_COUNT] = {
  [JD_OP_LINEAR] = jd_cpu_run_linear,
  [JD_OP_CONV2D] = jd_cpu_run_conv2d,
  [JD_OP_CONV_TEMPORAL] = jd_cpu_run_conv_temporal,
  [JD_OP_CONV1D] = jd_cpu_run_conv1d,
  [JD_OP_CONV_TRANSPOSE1D] = jd_cpu_run_conv_transpose1d,
  [JD_OP_GROUP_NORM] = jd_cpu_run_group_norm,
  [JD_OP_LAYER_NORM] = jd_cpu_run_layer_norm,
  [JD_OP_UNARY] = jd_cpu_run_unary,
  [JD_OP_BINARY] = jd_cpu_run_binary,
  [JD_OP_UPSAMPLE_NEAREST] = jd_cpu_run_upsample_nearest,
  [JD_OP_ATTENTION] = jd_cpu_run_attention,
  [JD_OP_ROPE] = jd_cpu_run_rope,
  [JD_OP_TIMESTEP_EMBEDDING] = jd_cpu_run_timestep_embedding,
  [JD_OP_CONCAT] = jd_cpu_run_concat,
  [JD_OP_SLICE] = jd_cpu_run_slice,
  [JD_OP_PERMUTE] = jd_cpu_run_permute,
  [JD_OP_BROADCAST] = jd_cpu_run_broadcast,
  [JD_OP_NORMAL_NOISE] = jd_cpu_run_normal_noise,
};

gboolean
jd_cpu_dnnl_check (dnnl_status_t status,
                   const char   *what,
                   GError      **error)
{
  if (status == dnnl_success)
    return TRUE;
  g_set_error (error, JD_ERROR,
               status == dnnl_out_of_memory ? JD_ERROR_OUT_OF_MEMORY : JD_ERROR_BACKEND,
               "oneDNN failed in %s (status %d)", what, (int) status);
  return FALSE;
}

/* Freed activations kept for reuse; far above one denoiser call's working set at the default
 * model's size, and a bound on what the cache adds to the process's memory at any size. */
#define BLOCK_CACHE_LIMIT ((gsize) 1 << 30)

static gpointer
cpu_alloc (JdBackend *backend,
           gsize      nbytes,
           GError   **error)
{
  return jd_cpu_block_cache_take (((JdCpuBackend *) backend)->blocks, nbytes, error);
}

static void
cpu_free (JdBackend *backend,
          gpointer   data)
{
  jd_cpu_block_cache_give (((JdCpuBackend *) backend)->blocks, data);
}

static gboolean
cpu_copy (JdBackend    *backend,
          gpointer      dst,
          gconstpointer src,
          gsize         nbytes,
          GError      **error)
{
  memcpy (dst, src, nbytes);
  return TRUE;
}

static gboolean
cpu_supports (JdBackend  *backend,
              const JdOp *op)
{
  if ((unsigned) op->kind >= JD_OP_COUNT || run_table[op->kind] == NULL)
    return FALSE;
  if (op->dst == NULL || op->dst->dtype != JD_DTYPE_F32)
    return FALSE;
  for (int i = 0; i < JD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL && op->src[i]->dtype != JD_DTYPE_F32)
      return FALSE;
  return TRUE;
}

static gboolean
cpu_run (JdBackend  *backend,
         const JdOp *op,
         GError    **error)
{
  JdCpuBackend *self = (JdCpuBackend *) backend;
  jd_thread_pool_enter (self->pool);
  return run_table[op->kind] (self, op, error);
}

static gboolean
cpu_synchronize (JdBackend *backend,
                 GError   **error)
{
  return TRUE; /* every CPU op has finished when it returns */
}

static void
cpu_destroy (JdBackend *backend)
{
  JdCpuBackend *self = (JdCpuBackend *) backend;
  g_clear_pointer (&self->dnnl_cache, jd_cpu_dnnl_cache_free);
  if (self->dnnl_stream)
    dnnl_stream_destroy (self->dnnl_stream);
  if (self->dnnl_engine)
    dnnl_engine_destroy (self->dnnl_engine);
  g_clear_pointer (&self->pool, jd_thread_pool_free);
  g_clear_pointer (&self->blocks, jd_cpu_block_cache_free);
  g_free (self);
}

static const JdBackendClass cpu_class = {
  .name = "cpu",
  .alloc = cpu_alloc,
  .free = cpu_free,
  .upload = cpu_copy,
  .download = cpu_copy,
  .supports = cpu_supports,
  .run = cpu_run,
  .synchronize = cpu_synchronize,
  .destroy = cpu_destroy,
};

JdBackend *
jd_cpu_backend_new (int      n_threads,
                    GError **error)
{
  g_autofree JdCpuBackend *self = g_new0 (JdCpuBackend, 1);
  self->parent.klass = &cpu_class;
  if (!jd_cpu_dnnl_check (dnnl_engine_create (&self->dnnl_engine, dnnl_cpu, 0),
                          "creating the CPU engine", error))
    return NULL;
  if (!jd_cpu_dnnl_check (dnnl_stream_create (&self->dnnl_stream, self->dnnl_engine,
                                              dnnl_stream_default_flags),
                          "creating the CPU stream", error))
    {
      dnnl_engine_destroy (self->dnnl_engine);
      return NULL;
    }
  self->pool = jd_thread_pool_new (n_threads);
  self->dnnl_cache = jd_cpu_dnnl_cache_new ();
  /* JD_CPU_NO_BLOCK_CACHE=1: every free really frees (for memory checkers such as valgrind,
   * and to measure what the cache saves). */
  self->blocks = jd_cpu_block_cache_new (g_strcmp0 (g_getenv ("JD_CPU_NO_BLOCK_CACHE"), "1")
                                         ? BLOCK_CACHE_LIMIT : 0);
  return (JdBackend *) g_steal_pointer (&self);
}

gboolean
jd_backend_is_cpu (JdBackend *backend)
{
  return backend != NULL && backend->klass == &cpu_class;
}

JdThreadPool *
jd_cpu_backend_get_thread_pool (JdBackend *backend)
{
  g_return_val_if_fail (jd_backend_is_cpu (backend), NULL);
  return ((JdCpuBackend *) backend)->pool;
}

void
jd_cpu_backend_set_n_threads (JdBackend *backend,
                              int        n_threads)
{
  g_return_if_fail (jd_backend_is_cpu (backend));
  jd_thread_pool_set_n_threads (((JdCpuBackend *) backend)->pool, n_threads);
}
