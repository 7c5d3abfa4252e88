/* jd-ops-conv.c — front ends of linear layers and convolutions: every argument is checked here,
 * once for all backends, so a backend receives only ops whose shapes agree (jd-op.h). */
#include "jd-ops-private.h"

#include <string.h>

#include "jd-error.h"

/* Refuses tensors with an empty dimension: a layer of zero channels or an image of zero rows
 * is a caller's bug, not a computation. */
static gboolean
check_not_empty (const char     *op,
                 const char     *role,
                 const JdTensor *tensor,
                 GError        **error)
{
  for (int i = 0; i < tensor->ndim; i++)
    if (tensor->shape[i] <= 0)
      {
        g_autofree char *shape = jd_tensor_shape_string (tensor);
        g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                     "%s: %s has shape %s, with an empty dimension", op, role, shape);
        return FALSE;
      }
  return TRUE;
}

static gboolean
overlaps (const JdTensor *a,
          const JdTensor *b)
{
  if (a == NULL || b == NULL)
    return FALSE;
  const char *a0 = a->data, *b0 = b->data;
  return a0 < b0 + jd_tensor_nbytes (b) && b0 < a0 + jd_tensor_nbytes (a);
}

/* These ops read their inputs while writing the output, so they cannot run in place. */
static gboolean
check_no_overlap (const char     *op,
                  const JdTensor *x,
                  const JdTensor *weight,
                  const JdTensor *bias,
                  const JdTensor *dst,
                  GError        **error)
{
  const JdTensor *inputs[] = { x, weight, bias };
  const char *roles[] = { "x", "weight", "bias" };
  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    if (overlaps (inputs[i], dst))
      {
        g_autofree char *shape = jd_tensor_shape_string (dst);
        g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                     "%s: the output %s shares memory with %s; this op cannot run in place",
                     op, shape, roles[i]);
        return FALSE;
      }
  return TRUE;
}

/* x, weight (ranks given) and dst on backend, F32, non-empty; bias NULL or of length `bias_length`
 * (taken from the weight by the caller). */
static gboolean
check_operands (const char     *op,
                JdBackend      *backend,
                const JdTensor *x,
                int             x_ndim,
                const JdTensor *weight,
                int             weight_ndim,
                JdTensor       *dst,
                GError        **error)
{
  return jd_ops_check_tensor (op, "x", backend, x, x_ndim, error)
    && jd_ops_check_tensor (op, "weight", backend, weight, weight_ndim, error)
    && jd_ops_check_tensor (op, "output", backend, dst, 0, error)
    && check_not_empty (op, "x", x, error)
    && check_not_empty (op, "weight", weight, error);
}

/* The weight's input channels (at weight dim `dim`) must equal x's channels (x dim `x_dim`). */
static gboolean
check_channels (const char     *op,
                const JdTensor *x,
                int             x_dim,
                const JdTensor *weight,
                int             dim,
                GError        **error)
{
  if (weight->shape[dim] == x->shape[x_dim])
    return TRUE;
  g_autofree char *xs = jd_tensor_shape_string (x);
  g_autofree char *ws = jd_tensor_shape_string (weight);
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
               "%s: weight has shape %s, which takes %" G_GINT64_FORMAT " input channels, "
               "but x has shape %s with %" G_GINT64_FORMAT,
               op, ws, weight->shape[dim], xs, x->shape[x_dim]);
  return FALSE;
}

static gboolean
check_positive (const char *op,
                const char *what,
                int         value,
                int         minimum,
                GError    **error)
{
  if (value >= minimum)
    return TRUE;
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT, "%s: %s is %d but must be at least %d",
               op, what, value, minimum);
  return FALSE;
}

/* Output length of a convolution along one dim (PyTorch's formula), or an error naming the
 * shapes when the dilated kernel does not fit in the padded input. */
static gboolean
conv_output_length (const char     *op,
                    const JdTensor *x,
                    const JdTensor *weight,
                    int64_t         in,
                    int64_t         kernel,
                    int             stride,
                    int             padding,
                    int             dilation,
                    int64_t        *out,
                    GError        **error)
{
  int64_t span = (int64_t) dilation * (kernel - 1) + 1;
  int64_t padded = in + 2 * (int64_t) padding;
  if (span > padded)
    {
      g_autofree char *xs = jd_tensor_shape_string (x);
      g_autofree char *ws = jd_tensor_shape_string (weight);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the kernel of weight %s spans %" G_GINT64_FORMAT " elements, more than "
                   "x %s padded by %d (%" G_GINT64_FORMAT ")", op, ws, span, xs, padding, padded);
      return FALSE;
    }
  *out = (padded - span) / stride + 1;
  return TRUE;
}

gboolean
jd_linear (JdBackend      *backend,
           const JdTensor *x,
           const JdTensor *weight,
           const JdTensor *bias,
           JdTensor       *dst,
           GError        **error)
{
  const char *op = "linear";
  if (!check_operands (op, backend, x, 0, weight, 2, dst, error))
    return FALSE;
  if (x->ndim < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: x is a scalar but must have at least one dimension", op);
      return FALSE;
    }
  if (!check_channels (op, x, x->ndim - 1, weight, 1, error)
      || !jd_ops_check_vector (op, "bias", backend, bias, weight->shape[0], error))
    return FALSE;
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = weight->shape[0];
  if (!jd_ops_check_dst (op, dst, x->ndim, shape, error))
    return FALSE;

  if (!check_no_overlap (op, x, weight, bias, dst, error))
    return FALSE;

  JdOp run = { .kind = JD_OP_LINEAR, .n_src = 3, .src = { x, weight, bias }, .dst = dst };
  return jd_backend_run (backend, &run, error);
}

gboolean
jd_conv2d (JdBackend      *backend,
           const JdTensor *x,
           const JdTensor *weight,
           const JdTensor *bias,
           int             stride,
           int             padding,
           JdTensor       *dst,
           GError        **error)
{
  const char *op = "conv2d";
  if (!check_operands (op, backend, x, 4, weight, 4, dst, error)
      || !check_channels (op, x, 1, weight, 1, error)
      || !jd_ops_check_vector (op, "bias", backend, bias, weight->shape[0], error)
      || !check_positive (op, "the stride", stride, 1, error)
      || !check_positive (op, "the padding", padding, 0, error))
    return FALSE;
  int64_t shape[4] = { x->shape[0], weight->shape[0], 0, 0 };
  for (int i = 0; i < 2; i++)
    if (!conv_output_length (op, x, weight, x->shape[2 + i], weight->shape[2 + i], stride,
                             padding, 1, &shape[2 + i], error))
      return FALSE;
  if (!jd_ops_check_dst (op, dst, 4, shape, error))
    return FALSE;

  if (!check_no_overlap (op, x, weight, bias, dst, error))
    return FALSE;

  JdOp run = { .kind = JD_OP_CONV2D, .n_src = 3, .src = { x, weight, bias }, .dst = dst };
  for (int i = 0; i < 2; i++)
    {
      run.params.conv.stride[i] = stride;
      run.params.conv.padding[i] = padding;
      run.params.conv.dilation[i] = 1;
    }
  return jd_backend_run (backend, &run, error);
}

gboolean
jd_conv_temporal (JdBackend      *backend,
                  const JdTensor *x,
                  const JdTensor *weight,
                  const JdTensor *bias,
                  JdTensor       *dst,
                  GError        **error)
{
  const char *op = "temporal conv";
  if (!check_operands (op, backend, x, 5, weight, 5, dst, error)
      || !check_channels (op, x, 1, weight, 1, error)
      || !jd_ops_check_vector (op, "bias", backend, bias, weight->shape[0], error))
    return FALSE;
  /* "Same" padding of kt / 2 keeps T only for an odd kt, which is what the models use. */
  if (weight->shape[3] != 1 || weight->shape[4] != 1 || weight->shape[2] % 2 == 0)
    {
      g_autofree char *ws = jd_tensor_shape_string (weight);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: weight has shape %s but must be (Cout, Cin, kt, 1, 1) with an odd kt",
                   op, ws);
      return FALSE;
    }
  int padding = (int) (weight->shape[2] / 2);
  int64_t t_out;
  if (!conv_output_length (op, x, weight, x->shape[2], weight->shape[2], 1, padding, 1, &t_out,
                           error))
    return FALSE;
  int64_t shape[5] = { x->shape[0], weight->shape[0], t_out, x->shape[3], x->shape[4] };
  if (!jd_ops_check_dst (op, dst, 5, shape, error))
    return FALSE;

  if (!check_no_overlap (op, x, weight, bias, dst, error))
    return FALSE;

  JdOp run = { .kind = JD_OP_CONV_TEMPORAL, .n_src = 3, .src = { x, weight, bias }, .dst = dst };
  for (int i = 0; i < 3; i++)
    {
      run.params.conv.stride[i] = 1;
      run.params.conv.dilation[i] = 1;
    }
  run.params.conv.padding[0] = padding;
  return jd_backend_run (backend, &run, error);
}

gboolean
jd_conv1d (JdBackend      *backend,
           const JdTensor *x,
           const JdTensor *weight,
           const JdTensor *bias,
           int             stride,
           int             padding,
           int             dilation,
           JdTensor       *dst,
           GError        **error)
{
  const char *op = "conv1d";
  if (!check_operands (op, backend, x, 3, weight, 3, dst, error)
      || !check_channels (op, x, 1, weight, 1, error)
      || !jd_ops_check_vector (op, "bias", backend, bias, weight->shape[0], error)
      || !check_positive (op, "the stride", stride, 1, error)
      || !check_positive (op, "the padding", padding, 0, error)
      || !check_positive (op, "the dilation", dilation, 1, error))
    return FALSE;
  int64_t shape[3] = { x->shape[0], weight->shape[0], 0 };
  if (!conv_output_length (op, x, weight, x->shape[2], weight->shape[2], stride, padding,
                           dilation, &shape[2], error)
      || !jd_ops_check_dst (op, dst, 3, shape, error))
    return FALSE;

  if (!check_no_overlap (op, x, weight, bias, dst, error))
    return FALSE;

  JdOp run = { .kind = JD_OP_CONV1D, .n_src = 3, .src = { x, weight, bias }, .dst = dst };
  for (int i = 0; i < 3; i++)
    {
      run.params.conv.stride[i] = 1;
      run.params.conv.dilation[i] = 1;
    }
  run.params.conv.stride[0] = stride;
  run.params.conv.padding[0] = padding;
  run.params.conv.dilation[0] = dilation;
  return jd_backend_run (backend, &run, error);
}

gboolean
jd_conv_transpose1d (JdBackend      *backend,
                     const JdTensor *x,
                     const JdTensor *weight,
                     const JdTensor *bias,
                     int             stride,
                     int             padding,
                     int             output_padding,
                     JdTensor       *dst,
                     GError        **error)
{
  const char *op = "transposed conv1d";
  /* PyTorch's ConvTranspose1d weight is (Cin, Cout, k). */
  if (!check_operands (op, backend, x, 3, weight, 3, dst, error)
      || !check_channels (op, x, 1, weight, 0, error)
      || !jd_ops_check_vector (op, "bias", backend, bias, weight->shape[1], error)
      || !check_positive (op, "the stride", stride, 1, error)
      || !check_positive (op, "the padding", padding, 0, error)
      || !check_positive (op, "the output padding", output_padding, 0, error))
    return FALSE;
  if (output_padding >= stride)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the output padding (%d) must be smaller than the stride (%d)", op,
                   output_padding, stride);
      return FALSE;
    }
  int64_t length = (x->shape[2] - 1) * stride - 2 * (int64_t) padding + weight->shape[2]
                   + output_padding;
  if (length < 1)
    {
      g_autofree char *xs = jd_tensor_shape_string (x);
      g_autofree char *ws = jd_tensor_shape_string (weight);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: x %s with weight %s, stride %d and padding %d leaves no output", op, xs,
                   ws, stride, padding);
      return FALSE;
    }
  int64_t shape[3] = { x->shape[0], weight->shape[1], length };
  if (!jd_ops_check_dst (op, dst, 3, shape, error))
    return FALSE;

  if (!check_no_overlap (op, x, weight, bias, dst, error))
    return FALSE;

  JdOp run = { .kind = JD_OP_CONV_TRANSPOSE1D, .n_src = 3, .src = { x, weight, bias },
               .dst = dst };
  for (int i = 0; i < 3; i++)
    {
      run.params.conv.stride[i] = 1;
      run.params.conv.dilation[i] = 1;
    }
  run.params.conv.stride[0] = stride;
  run.params.conv.padding[0] = padding;
  run.params.conv.output_padding = output_padding;
  return jd_backend_run (backend, &run, error);
}
