/* Front ends of group norm and layer norm. */
#include "jd-ops-private.h"

#include <math.h>

#include "jd-error.h"

static gboolean
check_eps (const char *op,
           float       eps,
           GError    **error)
{
  if (!(eps > 0.0f) || !isfinite (eps))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: eps is %g but must be a positive finite number", op, (double) eps);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_dst_like (const char     *op,
                JdBackend      *backend,
                const JdTensor *x,
                JdTensor       *dst,
                GError        **error)
{
  return jd_ops_check_tensor (op, "the output", backend, dst, 0, error)
         && jd_ops_check_dst (op, dst, x->ndim, x->shape, error);
}

gboolean
jd_group_norm (JdBackend      *backend,
               const JdTensor *x,
               const JdTensor *gamma,
               const JdTensor *beta,
               int             groups,
               float           eps,
               JdUnaryKind     activation,
               JdTensor       *dst,
               GError        **error)
{
  const char *op_name = "group norm";
  if (!jd_ops_check_tensor (op_name, "the input", backend, x, 0, error))
    return FALSE;
  if (x->ndim < 2)
    {
      g_autofree char *shape = jd_tensor_shape_string (x);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the input has shape %s but needs at least (N, C)", op_name, shape);
      return FALSE;
    }
  const int64_t channels = x->shape[1];
  if (groups < 1 || channels % groups != 0)
    {
      g_autofree char *shape = jd_tensor_shape_string (x);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the %" G_GINT64_FORMAT " channels of the input %s cannot be split into "
                   "%d groups", op_name, channels, shape, groups);
      return FALSE;
    }
  if (!check_eps (op_name, eps, error)
      || !jd_ops_check_vector (op_name, "gamma", backend, gamma, channels, error)
      || !jd_ops_check_vector (op_name, "beta", backend, beta, channels, error)
      || !check_dst_like (op_name, backend, x, dst, error))
    return FALSE;
  if (activation != JD_UNARY_IDENTITY && activation != JD_UNARY_SILU)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: only SiLU or no activation can follow the norm (got kind %d)",
                   op_name, (int) activation);
      return FALSE;
    }
  JdOp op = { .kind = JD_OP_GROUP_NORM, .n_src = 3, .src = { x, gamma, beta }, .dst = dst };
  op.params.norm.groups = groups;
  op.params.norm.eps = eps;
  op.params.norm.activation = activation;
  return jd_backend_run (backend, &op, error);
}

gboolean
jd_layer_norm (JdBackend      *backend,
               const JdTensor *x,
               const JdTensor *gamma,
               const JdTensor *beta,
               float           eps,
               JdTensor       *dst,
               GError        **error)
{
  const char *op_name = "layer norm";
  if (!jd_ops_check_tensor (op_name, "the input", backend, x, 0, error))
    return FALSE;
  if (x->ndim < 1 || x->shape[x->ndim - 1] < 1)
    {
      g_autofree char *shape = jd_tensor_shape_string (x);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the input has shape %s but needs a last dim of at least 1 to normalise",
                   op_name, shape);
      return FALSE;
    }
  const int64_t width = x->shape[x->ndim - 1];
  if (!check_eps (op_name, eps, error)
      || !jd_ops_check_vector (op_name, "gamma", backend, gamma, width, error)
      || !jd_ops_check_vector (op_name, "beta", backend, beta, width, error)
      || !check_dst_like (op_name, backend, x, dst, error))
    return FALSE;
  JdOp op = { .kind = JD_OP_LAYER_NORM, .n_src = 3, .src = { x, gamma, beta }, .dst = dst };
  op.params.norm.eps = eps;
  op.params.norm.activation = JD_UNARY_IDENTITY;
  return jd_backend_run (backend, &op, error);
}
