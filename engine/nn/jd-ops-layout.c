/* Front ends of the layout ops: nearest upsampling, concat, slice, permute. */
#include "jd-ops-private.h"

#include <string.h>

#include "jd-error.h"

static gboolean
check_axis (const char     *op,
            const JdTensor *t,
            int             axis,
            GError        **error)
{
  if (axis >= 0 && axis < t->ndim)
    return TRUE;
  g_autofree char *shape = jd_tensor_shape_string (t);
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
               "%s: axis %d is out of range for shape %s", op, axis, shape);
  return FALSE;
}

gboolean
jd_upsample_nearest (JdBackend      *backend,
                     const JdTensor *x,
                     JdTensor       *dst,
                     GError        **error)
{
  const char *op_name = "nearest upsample";
  if (!jd_ops_check_tensor (op_name, "the input", backend, x, 4, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 4, error))
    return FALSE;
  if (dst->shape[0] != x->shape[0] || dst->shape[1] != x->shape[1]
      || (x->shape[2] == 0) != (dst->shape[2] == 0) || (x->shape[3] == 0) != (dst->shape[3] == 0))
    {
      g_autofree char *sx = jd_tensor_shape_string (x);
      g_autofree char *sd = jd_tensor_shape_string (dst);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the output %s must keep N and C of the input %s and have non-empty "
                   "H and W where the input does", op_name, sd, sx);
      return FALSE;
    }
  JdOp op = { .kind = JD_OP_UPSAMPLE_NEAREST, .n_src = 1, .src = { x }, .dst = dst };
  return jd_backend_run (backend, &op, error);
}

gboolean
jd_concat (JdBackend             *backend,
           int                    n_src,
           const JdTensor *const *src,
           int                    axis,
           JdTensor              *dst,
           GError               **error)
{
  const char *op_name = "concat";
  if (n_src < 1 || n_src > JD_OP_MAX_SRC || src == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %d inputs given, but 1 to %d can be joined", op_name, n_src,
                   JD_OP_MAX_SRC);
      return FALSE;
    }
  if (!jd_ops_check_tensor (op_name, "input 0", backend, src[0], 0, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error)
      || !check_axis (op_name, src[0], axis, error))
    return FALSE;
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, src[0]->shape, sizeof shape);
  for (int k = 1; k < n_src; k++)
    {
      g_autofree char *role = g_strdup_printf ("input %d", k);
      if (!jd_ops_check_tensor (op_name, role, backend, src[k], src[0]->ndim, error))
        return FALSE;
      for (int i = 0; i < src[0]->ndim; i++)
        if (i != axis && src[k]->shape[i] != src[0]->shape[i])
          {
            g_autofree char *s0 = jd_tensor_shape_string (src[0]);
            g_autofree char *sk = jd_tensor_shape_string (src[k]);
            g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                         "%s: input %d has shape %s, which differs from input 0 %s outside "
                         "axis %d", op_name, k, sk, s0, axis);
            return FALSE;
          }
      shape[axis] += src[k]->shape[axis];
    }
  if (!jd_ops_check_dst (op_name, dst, src[0]->ndim, shape, error))
    return FALSE;
  for (int k = 0; k < n_src; k++)
    if (src[k]->data == dst->data && jd_tensor_numel (dst) > 0)
      {
        g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                     "%s: the output shares memory with input %d; use a separate output",
                     op_name, k);
        return FALSE;
      }
  JdOp op = { .kind = JD_OP_CONCAT, .n_src = n_src, .dst = dst };
  for (int k = 0; k < n_src; k++)
    op.src[k] = src[k];
  op.params.axis = axis;
  return jd_backend_run (backend, &op, error);
}

gboolean
jd_slice (JdBackend      *backend,
          const JdTensor *src,
          int             axis,
          int64_t         offset,
          JdTensor       *dst,
          GError        **error)
{
  const char *op_name = "slice";
  if (!jd_ops_check_tensor (op_name, "the input", backend, src, 0, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error)
      || !check_axis (op_name, src, axis, error))
    return FALSE;
  if (dst->ndim == src->ndim && (offset < 0 || dst->shape[axis] < 0
                                 || offset > src->shape[axis] - dst->shape[axis]))
    {
      g_autofree char *ss = jd_tensor_shape_string (src);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %" G_GINT64_FORMAT " elements from offset %" G_GINT64_FORMAT
                   " along axis %d do not fit in the input %s", op_name, dst->shape[axis],
                   offset, axis, ss);
      return FALSE;
    }
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, src->shape, sizeof shape);
  if (dst->ndim == src->ndim)
    shape[axis] = dst->shape[axis];
  if (!jd_ops_check_dst (op_name, dst, src->ndim, shape, error))
    return FALSE;
  if (src->data == dst->data && jd_tensor_numel (dst) > 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the output shares memory with the input; use a separate output", op_name);
      return FALSE;
    }
  JdOp op = { .kind = JD_OP_SLICE, .n_src = 1, .src = { src }, .dst = dst };
  op.params.slice.axis = axis;
  op.params.slice.offset = offset;
  return jd_backend_run (backend, &op, error);
}

gboolean
jd_permute (JdBackend      *backend,
            const JdTensor *src,
            const int      *perm,
            JdTensor       *dst,
            GError        **error)
{
  const char *op_name = "permute";
  if (!jd_ops_check_tensor (op_name, "the input", backend, src, 0, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error))
    return FALSE;
  if (perm == NULL)
    {
      g_autofree char *ss = jd_tensor_shape_string (src);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: no permutation was given for the input %s", op_name, ss);
      return FALSE;
    }
  gboolean seen[JD_MAX_DIMS] = { FALSE };
  gboolean valid = TRUE;
  for (int i = 0; valid && i < src->ndim; i++)
    {
      valid = perm[i] >= 0 && perm[i] < src->ndim && !seen[perm[i]];
      if (valid)
        seen[perm[i]] = TRUE;
    }
  if (!valid)
    {
      g_autofree char *ss = jd_tensor_shape_string (src);
      GString *text = g_string_new (NULL);
      for (int i = 0; i < src->ndim; i++)
        g_string_append_printf (text, "%s%d", i ? ", " : "", perm[i]);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: (%s) is not a permutation of the %d dims of the input %s", op_name,
                   text->str, src->ndim, ss);
      g_string_free (text, TRUE);
      return FALSE;
    }
  int64_t shape[JD_MAX_DIMS] = { 0 };
  for (int i = 0; i < src->ndim; i++)
    shape[i] = src->shape[perm[i]];
  if (!jd_ops_check_dst (op_name, dst, src->ndim, shape, error))
    return FALSE;
  if (src->data == dst->data && jd_tensor_numel (dst) > 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the output shares memory with the input; use a separate output", op_name);
      return FALSE;
    }
  JdOp op = { .kind = JD_OP_PERMUTE, .n_src = 1, .src = { src }, .dst = dst };
  for (int i = 0; i < src->ndim; i++)
    op.params.permute.perm[i] = perm[i];
  return jd_backend_run (backend, &op, error);
}
