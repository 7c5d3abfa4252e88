/* CUDA graphs: a computation whose shapes stay fixed (the denoiser's network forward, called
 * once per sampling step) recorded once and replayed, so the hundreds of small launches of a
 * step cost one launch. UNVERIFIED ON A GPU and therefore off unless JD_CUDA_GRAPHS=1: written
 * and compiled on a machine without one; tests/gpu/test-cuda-graph.c compares a generation with
 * graphs against one without where a GPU is present.
 *
 * Per key (the caller's description plus every input's and output's shape): the first call
 * runs eagerly, which also fills every cache the body touches (BF16 weight copies, cuDNN
 * algorithms, cuBLASLt plans, the scratch buffer's size); the second records the body on
 * tensors the cache owns (inputs copied in, outputs copied out, device to device) and every
 * later call copies the inputs in, launches the graph and copies the outputs out. Tensors the
 * body allocates and frees become the graph's own memory nodes. Host uploads inside the body
 * (constant position tables, zero pads) are staged once in device memory the graph copies
 * from. What cannot be recorded — reading a tensor back, waiting for the GPU, growing the
 * scratch buffer, a first BF16 weight copy — fails the recording; that key then always runs
 * eagerly (the reason is logged with g_debug).
 */
#include "jd-cuda-private.h"

#include <string.h>

#define MAX_TENSORS 8

struct _JdCudaCapture {
  GPtrArray *staging;   /* device buffers (cudaMalloc) the recorded uploads copy from */
};

typedef struct {
  int              calls;
  gboolean         failed;  /* the recording failed once: always eager */
  cudaGraphExec_t  exec;
  JdTensor        *inputs[MAX_TENSORS];   /* owned; NULL where the caller's is NULL */
  JdTensor        *outputs[MAX_TENSORS];  /* owned */
  GPtrArray       *staging;
} GraphEntry;

struct _JdCudaGraphCache {
  JdCudaBackend *backend;
  GHashTable    *entries;  /* full key → GraphEntry */
};

static gint graph_launches;  /* process-wide, for tests */

static void
staging_free (gpointer data)
{
  if (cudaFree (data) != cudaSuccess)
    (void) cudaGetLastError ();
}

static void
graph_entry_clear_tensors (GraphEntry *entry)
{
  for (int i = 0; i < MAX_TENSORS; i++)
    {
      g_clear_pointer (&entry->inputs[i], jd_tensor_free);
      g_clear_pointer (&entry->outputs[i], jd_tensor_free);
    }
}

static void
graph_entry_free (gpointer data)
{
  GraphEntry *entry = data;
  if (entry->exec != NULL)
    cudaGraphExecDestroy (entry->exec);
  graph_entry_clear_tensors (entry);
  g_clear_pointer (&entry->staging, g_ptr_array_unref);
  g_free (entry);
}

JdCudaGraphCache *
jd_cuda_graph_cache_new (JdBackend *backend)
{
  if (backend == NULL || !jd_backend_is_cuda (backend)
      || g_strcmp0 (g_getenv ("JD_CUDA_GRAPHS"), "1") != 0)
    return NULL;
  JdCudaGraphCache *cache = g_new0 (JdCudaGraphCache, 1);
  cache->backend = (JdCudaBackend *) backend;
  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, graph_entry_free);
  return cache;
}

void
jd_cuda_graph_cache_free (JdCudaGraphCache *cache)
{
  if (cache == NULL)
    return;
  /* A launched graph may still run; its exec, tensors and staging go only after it. */
  if (cudaStreamSynchronize (cache->backend->stream) != cudaSuccess)
    (void) cudaGetLastError ();
  g_hash_table_unref (cache->entries);
  g_free (cache);
}

guint
jd_cuda_graph_launch_count (void)
{
  return (guint) g_atomic_int_get (&graph_launches);
}

/* --- what the backend does differently while recording (jd-cuda-private.h) --- */

gboolean
jd_cuda_capture_refuse (JdCudaBackend *self, const char *what, GError **error)
{
  if (self->capture == NULL)
    return TRUE;
  g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
               "CUDA graph: %s cannot be recorded in a graph", what);
  return FALSE;
}

gboolean
jd_cuda_capture_upload (JdCudaBackend *self, gpointer dst, gconstpointer host_src, gsize nbytes,
                        GError **error)
{
  /* Recording runs in relaxed capture mode, so this allocation and synchronous copy happen
   * now, outside the graph; the graph gets the device-to-device copy from the staged data. */
  void *staged = NULL;
  if (!jd_cuda_check (cudaMalloc (&staged, nbytes), "staging an upload for a CUDA graph",
                      error))
    return FALSE;
  g_ptr_array_add (self->capture->staging, staged);
  return jd_cuda_check (cudaMemcpy (staged, host_src, nbytes, cudaMemcpyHostToDevice),
                        "staging an upload for a CUDA graph", error)
         && jd_cuda_check (cudaMemcpyAsync (dst, staged, nbytes, cudaMemcpyDeviceToDevice,
                                            self->stream),
                           "recording an upload in a CUDA graph", error);
}

/* --- recording and replaying --- */

static gboolean
copy_tensor (JdCudaBackend *self, JdTensor *dst, const JdTensor *src, GError **error)
{
  return jd_cuda_check (cudaMemcpyAsync (dst->data, src->data, jd_tensor_nbytes (src),
                                         cudaMemcpyDeviceToDevice, self->stream),
                        "copying a CUDA graph's input or output", error);
}

static JdTensor *
tensor_like (JdCudaBackend *self, const JdTensor *t, GError **error)
{
  return jd_tensor_new ((JdBackend *) self, t->dtype, t->ndim, t->shape, error);
}

static char *
full_key (const char *key, int n_inputs, const JdTensor *const *inputs, int n_outputs,
          JdTensor *const *outputs)
{
  GString *s = g_string_new (key);
  for (int i = 0; i < n_inputs + n_outputs; i++)
    {
      const JdTensor *t = i < n_inputs ? inputs[i] : outputs[i - n_inputs];
      g_string_append (s, i == n_inputs ? " →" : " ");
      if (t == NULL)
        {
          g_string_append (s, "-");
          continue;
        }
      g_autofree char *shape = jd_tensor_shape_string (t);
      g_string_append_printf (s, "%d%s", (int) t->dtype, shape);
    }
  return g_string_free (s, FALSE);
}

/* Records body on the entry's own tensors. FALSE (entry unchanged but for its tensors, which
 * the caller frees) when anything in body cannot be recorded. */
static gboolean
record (JdCudaBackend *self, GraphEntry *entry, JdCudaGraphBody body, gpointer data,
        int n_inputs, const JdTensor *const *inputs, int n_outputs, JdTensor *const *outputs,
        GError **error)
{
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] != NULL)
      JD_TRY_FALSE ((entry->inputs[i] = tensor_like (self, inputs[i], error)) != NULL);
  for (int i = 0; i < n_outputs; i++)
    JD_TRY_FALSE ((entry->outputs[i] = tensor_like (self, outputs[i], error)) != NULL);

  g_autoptr (GPtrArray) staging = g_ptr_array_new_with_free_func (staging_free);
  struct _JdCudaCapture capture = { staging };
  JD_TRY_FALSE (jd_cuda_check (cudaStreamBeginCapture (self->stream,
                                                       cudaStreamCaptureModeRelaxed),
                               "starting to record a CUDA graph", error));
  self->capture = &capture;
  g_autoptr (GError) body_error = NULL;
  const gboolean ok = body (data, entry->inputs, entry->outputs, &body_error);
  self->capture = NULL;
  cudaGraph_t graph = NULL;
  cudaError_t status = cudaStreamEndCapture (self->stream, &graph);
  if (!ok)
    {
      if (graph != NULL)
        cudaGraphDestroy (graph);
      (void) cudaGetLastError ();
      g_propagate_error (error, g_steal_pointer (&body_error));
      return FALSE;
    }
  if (!jd_cuda_check (status, "recording a CUDA graph (cudaStreamEndCapture)", error))
    return FALSE;
  /* Every allocation the body makes it also frees; auto-free keeps a relaunch legal anyway. */
  status = cudaGraphInstantiate (&entry->exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch);
  cudaGraphDestroy (graph);
  if (!jd_cuda_check (status, "instantiating a CUDA graph", error))
    {
      entry->exec = NULL;
      return FALSE;
    }
  entry->staging = g_steal_pointer (&staging);
  /* The graph's tensors come from CUDA's graph memory pool; what the eager first call left
   * cached in the backend's pool would otherwise stay held beside them. */
  if (cudaStreamSynchronize (self->stream) == cudaSuccess)
    cudaMemPoolTrimTo (self->pool, 0);
  (void) cudaGetLastError ();
  return TRUE;
}

gboolean
jd_cuda_graph_cache_run (JdCudaGraphCache *cache, const char *key, JdCudaGraphBody body,
                         gpointer data, int n_inputs, const JdTensor *const *inputs,
                         int n_outputs, JdTensor *const *outputs, GError **error)
{
  g_return_val_if_fail (n_inputs >= 0 && n_inputs <= MAX_TENSORS, FALSE);
  g_return_val_if_fail (n_outputs >= 1 && n_outputs <= MAX_TENSORS, FALSE);
  JdCudaBackend *self = cache->backend;
  g_autofree char *name = full_key (key, n_inputs, inputs, n_outputs, outputs);
  GraphEntry *entry = g_hash_table_lookup (cache->entries, name);
  if (entry == NULL)
    {
      entry = g_new0 (GraphEntry, 1);
      g_hash_table_insert (cache->entries, g_strdup (name), entry);
    }
  entry->calls++;
  /* The body's own tensors are the caller's when it runs eagerly. */
  JdTensor *eager_inputs[MAX_TENSORS] = { NULL };
  for (int i = 0; i < n_inputs; i++)
    eager_inputs[i] = (JdTensor *) inputs[i];
  if (entry->failed || entry->calls == 1)
    return body (data, eager_inputs, outputs, error);

  if (entry->exec == NULL)
    {
      g_autoptr (GError) record_error = NULL;
      if (!record (self, entry, body, data, n_inputs, inputs, n_outputs, outputs,
                   &record_error))
        {
          g_debug ("CUDA graph for %s not used (runs without one): %s", name,
                   record_error ? record_error->message : "unknown reason");
          entry->failed = TRUE;
          graph_entry_clear_tensors (entry);
          return body (data, eager_inputs, outputs, error);
        }
    }
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] != NULL)
      JD_TRY_FALSE (copy_tensor (self, entry->inputs[i], inputs[i], error));
  JD_TRY_FALSE (jd_cuda_check (cudaGraphLaunch (entry->exec, self->stream),
                               "launching a CUDA graph", error));
  g_atomic_int_inc (&graph_launches);
  for (int i = 0; i < n_outputs; i++)
    JD_TRY_FALSE (copy_tensor (self, outputs[i], entry->outputs[i], error));
  if (self->sync_each_op)
    JD_TRY_FALSE (jd_cuda_check (cudaStreamSynchronize (self->stream),
                                 "running a CUDA graph (JD_CUDA_SYNC=1)", error));
  return TRUE;
}
