/* Front ends of the rotary position embedding and the sinusoidal timestep embedding. */
#include "jd-ops-private.h"

#include <math.h>

#include "jd-error.h"

gboolean
jd_rope (JdBackend      *backend,
         const JdTensor *x,
         const JdTensor *positions,
         int             heads,
         int             n_axes,
         const int      *axis_dims,
         float           base,
         JdTensor       *dst,
         GError        **error)
{
  const char *op_name = "rotary embedding";
  if (!jd_ops_check_tensor (op_name, "the input", backend, x, 3, error)
      || !jd_ops_check_tensor (op_name, "the position table", backend, positions, 2, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error)
      || !jd_ops_check_dst (op_name, dst, x->ndim, x->shape, error))
    return FALSE;
  g_autofree char *sx = jd_tensor_shape_string (x);
  const int64_t width = x->shape[2];
  if (heads < 1 || width % heads != 0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the last dim of the input %s cannot be split into %d heads", op_name, sx,
                   heads);
      return FALSE;
    }
  if (axis_dims == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: no list of dims per position axis was given", op_name);
      return FALSE;
    }
  if (n_axes < 1 || n_axes > JD_ROPE_MAX_AXES)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %d position axes given, but 1 to %d are supported", op_name, n_axes,
                   JD_ROPE_MAX_AXES);
      return FALSE;
    }
  if (positions->shape[0] != x->shape[1] || positions->shape[1] != n_axes)
    {
      g_autofree char *sp = jd_tensor_shape_string (positions);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the position table has shape %s but must be (L, n_axes) = "
                   "(%" G_GINT64_FORMAT ", %d) for the input %s", op_name, sp, x->shape[1],
                   n_axes, sx);
      return FALSE;
    }
  const int64_t head_dim = width / heads;
  int64_t rotated = 0;
  for (int a = 0; a < n_axes; a++)
    {
      if (axis_dims[a] < 0 || axis_dims[a] % 2 != 0)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                       "%s: axis %d rotates %d dims, which must be even and not negative",
                       op_name, a, axis_dims[a]);
          return FALSE;
        }
      rotated += axis_dims[a];
    }
  if (rotated > head_dim)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the axes rotate %" G_GINT64_FORMAT " dims but a head of the input %s "
                   "split into %d heads has only %" G_GINT64_FORMAT, op_name, rotated, sx,
                   heads, head_dim);
      return FALSE;
    }
  if (!(base > 0.0f) || !isfinite (base))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the base is %g but must be a positive finite number", op_name,
                   (double) base);
      return FALSE;
    }
  JdOp op = { .kind = JD_OP_ROPE, .n_src = 2, .src = { x, positions }, .dst = dst };
  op.params.rope.heads = heads;
  op.params.rope.n_axes = n_axes;
  for (int a = 0; a < n_axes; a++)
    op.params.rope.axis_dims[a] = axis_dims[a];
  op.params.rope.base = base;
  return jd_backend_run (backend, &op, error);
}

gboolean
jd_timestep_embedding (JdBackend      *backend,
                       const JdTensor *timesteps,
                       int             dim,
                       gboolean        flip_sin_to_cos,
                       float           downscale_freq_shift,
                       float           scale,
                       float           max_period,
                       JdTensor       *dst,
                       GError        **error)
{
  const char *op_name = "timestep embedding";
  if (!jd_ops_check_tensor (op_name, "the timestep vector", backend, timesteps, 1, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error))
    return FALSE;
  if (dim < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the embedding dim is %d but must be at least 1", op_name, dim);
      return FALSE;
    }
  if (!(max_period > 0.0f) || !isfinite (max_period) || !isfinite (scale)
      || !isfinite (downscale_freq_shift))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: max_period %g must be positive and finite, scale %g and "
                   "downscale_freq_shift %g finite", op_name, (double) max_period,
                   (double) scale, (double) downscale_freq_shift);
      return FALSE;
    }
  const int half = dim / 2;
  if (half > 0 && (double) half - (double) downscale_freq_shift == 0.0)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: downscale_freq_shift %g equals half the dim %d, which divides by zero",
                   op_name, (double) downscale_freq_shift, dim);
      return FALSE;
    }
  const int64_t shape[2] = { timesteps->shape[0], dim };
  if (!jd_ops_check_dst (op_name, dst, 2, shape, error))
    return FALSE;
  JdOp op = { .kind = JD_OP_TIMESTEP_EMBEDDING, .n_src = 1, .src = { timesteps }, .dst = dst };
  op.params.timestep.dim = dim;
  op.params.timestep.flip_sin_to_cos = flip_sin_to_cos;
  op.params.timestep.downscale_freq_shift = downscale_freq_shift;
  op.params.timestep.scale = scale;
  op.params.timestep.max_period = max_period;
  return jd_backend_run (backend, &op, error);
}
