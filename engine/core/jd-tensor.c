#include "jd-tensor.h"

#include <stdarg.h>

#include "jd-backend.h"
#include "jd-error.h"

gboolean
jd_shape_checked_numel (int            ndim,
                        const int64_t *shape,
                        gsize          element_size,
                        int64_t       *numel,
                        int64_t       *nbytes)
{
  if (ndim < 0 || ndim > JD_MAX_DIMS)
    return FALSE;
  int64_t count = 1;
  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] < 0)
        return FALSE;
      if (shape[i] != 0 && count > INT64_MAX / shape[i])
        return FALSE;
      count *= shape[i];
    }
  if (element_size != 0 && count > INT64_MAX / (int64_t) element_size)
    return FALSE;
  if (numel)
    *numel = count;
  if (nbytes)
    *nbytes = count * (int64_t) element_size;
  return TRUE;
}

static JdTensor *
tensor_header_new (JdBackend     *backend,
                   JdDType        dtype,
                   int            ndim,
                   const int64_t *shape)
{
  JdTensor *tensor = g_new0 (JdTensor, 1);
  tensor->dtype = dtype;
  tensor->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    tensor->shape[i] = shape[i];
  tensor->backend = backend;
  return tensor;
}

JdTensor *
jd_tensor_new (JdBackend     *backend,
               JdDType        dtype,
               int            ndim,
               const int64_t *shape,
               GError       **error)
{
  int64_t nbytes;
  if (!jd_shape_checked_numel (ndim, shape, jd_dtype_size (dtype), NULL, &nbytes))
    {
      g_autofree char *text = jd_shape_to_string (CLAMP (ndim, 0, JD_MAX_DIMS), shape);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Cannot make a tensor of shape %s: dimensions must be 0 to %d non-negative "
                   "sizes whose product fits in memory", text, JD_MAX_DIMS);
      return NULL;
    }

  void *data;
  if (backend != NULL)
    {
      data = jd_backend_alloc (backend, (gsize) nbytes, error);
      if (data == NULL)
        return NULL;
    }
  else
    {
      /* 64-byte alignment keeps vector loads aligned for every SIMD width we use. */
      data = NULL;
      if (posix_memalign (&data, 64, MAX ((gsize) nbytes, 64)) != 0)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                       "Out of memory: a tensor of %" G_GINT64_FORMAT " bytes could not be "
                       "allocated", nbytes);
          return NULL;
        }
    }

  JdTensor *tensor = tensor_header_new (backend, dtype, ndim, shape);
  tensor->data = data;
  tensor->owns_data = TRUE;
  return tensor;
}

JdTensor *
jd_tensor_new_f32 (JdBackend *backend,
                   GError   **error,
                   int        ndim,
                   ...)
{
  int64_t shape[JD_MAX_DIMS] = { 0 };
  g_return_val_if_fail (ndim >= 0 && ndim <= JD_MAX_DIMS, NULL);
  va_list args;
  va_start (args, ndim);
  for (int i = 0; i < ndim; i++)
    shape[i] = va_arg (args, int64_t);
  va_end (args);
  return jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
}

JdTensor *
jd_tensor_new_view (JdBackend     *backend,
                    JdDType        dtype,
                    int            ndim,
                    const int64_t *shape,
                    void          *data)
{
  g_return_val_if_fail (jd_shape_checked_numel (ndim, shape, jd_dtype_size (dtype), NULL, NULL),
                        NULL);
  JdTensor *tensor = tensor_header_new (backend, dtype, ndim, shape);
  tensor->data = data;
  tensor->owns_data = FALSE;
  return tensor;
}

void
jd_tensor_free (JdTensor *tensor)
{
  if (tensor == NULL)
    return;
  if (tensor->backend_cache != NULL && tensor->backend_cache_free != NULL)
    tensor->backend_cache_free (tensor->backend_cache);
  if (tensor->owns_data)
    {
      if (tensor->backend != NULL)
        jd_backend_free (tensor->backend, tensor->data);
      else
        free (tensor->data);
    }
  g_free (tensor);
}

void
jd_tensor_mark_constant (JdTensor *tensor)
{
  tensor->constant = TRUE;
}

int64_t
jd_tensor_numel (const JdTensor *tensor)
{
  int64_t count = 1;
  for (int i = 0; i < tensor->ndim; i++)
    count *= tensor->shape[i];
  return count;
}

gsize
jd_tensor_nbytes (const JdTensor *tensor)
{
  return (gsize) jd_tensor_numel (tensor) * jd_dtype_size (tensor->dtype);
}

gboolean
jd_tensor_same_shape (const JdTensor *a,
                      const JdTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
jd_shape_to_string (int            ndim,
                    const int64_t *shape)
{
  GString *text = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

char *
jd_tensor_shape_string (const JdTensor *tensor)
{
  return jd_shape_to_string (tensor->ndim, tensor->shape);
}
