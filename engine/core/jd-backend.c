#include "jd-backend.h"

#include <string.h>

#include "jd-error.h"

const char *
jd_backend_name (JdBackend *backend)
{
  return backend->klass->name;
}

gpointer
jd_backend_alloc (JdBackend *backend,
                  gsize      nbytes,
                  GError   **error)
{
  return backend->klass->alloc (backend, nbytes, error);
}

void
jd_backend_free (JdBackend *backend,
                 gpointer   data)
{
  if (data != NULL)
    backend->klass->free (backend, data);
}

gboolean
jd_backend_upload (JdBackend    *backend,
                   gpointer      dst,
                   gconstpointer host_src,
                   gsize         nbytes,
                   GError      **error)
{
  return backend->klass->upload (backend, dst, host_src, nbytes, error);
}

gboolean
jd_backend_download (JdBackend    *backend,
                     gpointer      host_dst,
                     gconstpointer src,
                     gsize         nbytes,
                     GError      **error)
{
  return backend->klass->download (backend, host_dst, src, nbytes, error);
}

gboolean
jd_backend_supports (JdBackend  *backend,
                     const JdOp *op)
{
  return backend->klass->supports (backend, op);
}

gboolean
jd_backend_run (JdBackend  *backend,
                const JdOp *op,
                GError    **error)
{
  if (!backend->klass->supports (backend, op))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "The %s backend cannot run the %s op with these shapes and types",
                   backend->klass->name, jd_op_kind_name (op->kind));
      return FALSE;
    }
  if (!backend->klass->run (backend, op, error))
    return FALSE;
  backend->stats.calls[op->kind]++;
  backend->stats.flops[op->kind] += jd_op_flops (op);
  return TRUE;
}

static double
numel_of (const JdTensor *tensor)
{
  return (double) jd_tensor_numel (tensor);
}

double
jd_op_flops (const JdOp *op)
{
  const JdTensor *x = op->src[0], *w = op->src[1], *dst = op->dst;
  switch (op->kind)
    {
    case JD_OP_LINEAR:
      /* dst (..., N): each output element is a K-long dot product. */
      return 2.0 * numel_of (dst) * (double) w->shape[1];
    case JD_OP_CONV2D:
      return 2.0 * numel_of (dst) * (double) (w->shape[1] * w->shape[2] * w->shape[3]);
    case JD_OP_CONV_TEMPORAL:
      return 2.0 * numel_of (dst) * (double) (w->shape[1] * w->shape[2]);
    case JD_OP_CONV1D:
      return 2.0 * numel_of (dst) * (double) (w->shape[1] * w->shape[2]);
    case JD_OP_CONV_TRANSPOSE1D:
      /* Every input element scatters into Cout · k outputs. */
      return 2.0 * numel_of (x) * (double) (w->shape[1] * w->shape[2]);
    case JD_OP_ATTENTION:
      {
        const JdAttentionParams *p = &op->params.attention;
        const JdTensor *k = op->src[1], *v = op->src[2];
        double batch = (double) x->shape[0];
        double d_qk = (double) (x->shape[2] / p->heads), d_v = (double) (v->shape[2] / p->heads);
        double pairs = 0.0;
        if (p->n_segments == 0)
          pairs = (double) x->shape[1] * (double) k->shape[1];
        for (int s = 0; s < p->n_segments; s++)
          pairs += (double) p->q_segments[s] * (double) p->k_segments[s];
        return 2.0 * batch * p->heads * pairs * (d_qk + d_v);
      }
    default:
      return 0.0;
    }
}

void
jd_backend_get_stats (JdBackend      *backend,
                      JdBackendStats *stats,
                      double         *total_flops)
{
  *stats = backend->stats;
  if (total_flops == NULL)
    return;
  *total_flops = 0.0;
  for (int kind = 0; kind < JD_OP_COUNT; kind++)
    *total_flops += stats->flops[kind];
}

void
jd_backend_reset_stats (JdBackend *backend)
{
  memset (&backend->stats, 0, sizeof backend->stats);
}

gboolean
jd_backend_synchronize (JdBackend *backend,
                        GError   **error)
{
  return backend->klass->synchronize (backend, error);
}

void
jd_backend_destroy (JdBackend *backend)
{
  if (backend != NULL)
    backend->klass->destroy (backend);
}

static gboolean
check_host_copy (const JdTensor *tensor,
                 GError        **error)
{
  if (tensor->dtype != JD_DTYPE_F32)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "An F32 host copy needs an F32 tensor, not %s", jd_dtype_name (tensor->dtype));
      return FALSE;
    }
  return TRUE;
}

gboolean
jd_tensor_upload_f32 (JdTensor    *tensor,
                      const float *host,
                      GError     **error)
{
  if (!check_host_copy (tensor, error))
    return FALSE;
  if (tensor->backend == NULL)
    {
      memcpy (tensor->data, host, jd_tensor_nbytes (tensor));
      return TRUE;
    }
  return jd_backend_upload (tensor->backend, tensor->data, host, jd_tensor_nbytes (tensor), error);
}

gboolean
jd_tensor_download_f32 (const JdTensor *tensor,
                        float          *host,
                        GError        **error)
{
  if (!check_host_copy (tensor, error))
    return FALSE;
  if (tensor->backend == NULL)
    {
      memcpy (host, tensor->data, jd_tensor_nbytes (tensor));
      return TRUE;
    }
  return jd_backend_download (tensor->backend, host, tensor->data, jd_tensor_nbytes (tensor),
                              error);
}
