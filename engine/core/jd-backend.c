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
  return backend->klass->run (backend, op, error);
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
