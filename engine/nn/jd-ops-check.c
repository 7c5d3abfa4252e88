#include "jd-ops-private.h"

#include "jd-error.h"

gboolean
jd_ops_check_tensor (const char     *op,
                     const char     *role,
                     JdBackend      *backend,
                     const JdTensor *tensor,
                     int             ndim,
                     GError        **error)
{
  if (tensor == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT, "%s: %s is missing", op, role);
      return FALSE;
    }
  if (tensor->backend != backend)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %s lives on the %s backend, not on %s", op, role,
                   tensor->backend ? jd_backend_name (tensor->backend) : "host",
                   jd_backend_name (backend));
      return FALSE;
    }
  if (tensor->dtype != JD_DTYPE_F32)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %s is %s, but ops compute in F32", op, role,
                   jd_dtype_name (tensor->dtype));
      return FALSE;
    }
  if (ndim > 0 && tensor->ndim != ndim)
    {
      g_autofree char *shape = jd_tensor_shape_string (tensor);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %s has shape %s but must have %d dimensions", op, role, shape, ndim);
      return FALSE;
    }
  return TRUE;
}

gboolean
jd_ops_check_dst (const char    *op,
                  const JdTensor *dst,
                  int            ndim,
                  const int64_t *expected_shape,
                  GError       **error)
{
  gboolean same = dst->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = dst->shape[i] == expected_shape[i];
  if (!same)
    {
      g_autofree char *have = jd_tensor_shape_string (dst);
      g_autofree char *want = jd_shape_to_string (ndim, expected_shape);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the output has shape %s but the op produces %s", op, have, want);
      return FALSE;
    }
  return TRUE;
}

gboolean
jd_ops_check_vector (const char     *op,
                     const char     *role,
                     JdBackend      *backend,
                     const JdTensor *tensor,
                     int64_t         length,
                     GError        **error)
{
  if (tensor == NULL)
    return TRUE;
  if (!jd_ops_check_tensor (op, role, backend, tensor, 1, error))
    return FALSE;
  if (tensor->shape[0] != length)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %s has %" G_GINT64_FORMAT " elements but must have %" G_GINT64_FORMAT,
                   op, role, tensor->shape[0], length);
      return FALSE;
    }
  return TRUE;
}
