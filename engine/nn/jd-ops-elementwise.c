/* Front ends of the elementwise ops: unary functions, add/mul with broadcasting, broadcast. */
#include "jd-ops-private.h"

#include "jd-error.h"

/* NumPy's rule: shapes aligned at the right; each dim pair equal or one of them 1. Fills the
 * broadcast shape. */
static gboolean
broadcast_shape (const char     *op,
                 const JdTensor *a,
                 const JdTensor *b,
                 int            *ndim,
                 int64_t        *shape,
                 GError        **error)
{
  *ndim = MAX (a->ndim, b->ndim);
  for (int i = 0; i < *ndim; i++)
    {
      int ai = i - (*ndim - a->ndim), bi = i - (*ndim - b->ndim);
      int64_t da = ai >= 0 ? a->shape[ai] : 1, db = bi >= 0 ? b->shape[bi] : 1;
      if (da != db && da != 1 && db != 1)
        {
          g_autofree char *sa = jd_tensor_shape_string (a);
          g_autofree char *sb = jd_tensor_shape_string (b);
          g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                       "%s: shapes %s and %s do not broadcast (dim %d: %" G_GINT64_FORMAT
                       " vs %" G_GINT64_FORMAT ")", op, sa, sb, i, da, db);
          return FALSE;
        }
      shape[i] = da == 1 ? db : da;
    }
  return TRUE;
}

/* An output that shares memory with an input is only safe when that input is read element for
 * element as the output is written, i.e. when it already has the output's shape. */
static gboolean
check_alias (const char     *op,
             const char     *role,
             const JdTensor *input,
             const JdTensor *dst,
             GError        **error)
{
  if (input->data != dst->data || jd_tensor_same_shape (input, dst))
    return TRUE;
  g_autofree char *si = jd_tensor_shape_string (input);
  g_autofree char *sd = jd_tensor_shape_string (dst);
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
               "%s: the output %s shares memory with %s %s, which is broadcast; use a "
               "separate output", op, sd, role, si);
  return FALSE;
}

gboolean
jd_unary (JdBackend      *backend,
          JdUnaryKind     kind,
          float           alpha,
          float           beta,
          const JdTensor *x,
          JdTensor       *dst,
          GError        **error)
{
  const char *op_name = "unary";
  if ((unsigned) kind >= JD_UNARY_COUNT)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: %d is not a unary function", op_name, (int) kind);
      return FALSE;
    }
  if (!jd_ops_check_tensor (op_name, "the input", backend, x, 0, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error)
      || !jd_ops_check_dst (op_name, dst, x->ndim, x->shape, error))
    return FALSE;
  JdOp op = { .kind = JD_OP_UNARY, .n_src = 1, .src = { x }, .dst = dst };
  op.params.unary.kind = kind;
  op.params.unary.alpha = alpha;
  op.params.unary.beta = beta;
  return jd_backend_run (backend, &op, error);
}

static gboolean
run_binary (const char     *op_name,
            JdBinaryKind    kind,
            JdBackend      *backend,
            float           alpha,
            const JdTensor *a,
            float           beta,
            const JdTensor *b,
            JdTensor       *dst,
            GError        **error)
{
  int ndim;
  int64_t shape[JD_MAX_DIMS];
  if (!jd_ops_check_tensor (op_name, "a", backend, a, 0, error)
      || !jd_ops_check_tensor (op_name, "b", backend, b, 0, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error)
      || !broadcast_shape (op_name, a, b, &ndim, shape, error)
      || !jd_ops_check_dst (op_name, dst, ndim, shape, error)
      || !check_alias (op_name, "a", a, dst, error)
      || !check_alias (op_name, "b", b, dst, error))
    return FALSE;
  JdOp op = { .kind = JD_OP_BINARY, .n_src = 2, .src = { a, b }, .dst = dst };
  op.params.binary.kind = kind;
  op.params.binary.alpha = alpha;
  op.params.binary.beta = beta;
  return jd_backend_run (backend, &op, error);
}

gboolean
jd_axpby (JdBackend      *backend,
          float           alpha,
          const JdTensor *a,
          float           beta,
          const JdTensor *b,
          JdTensor       *dst,
          GError        **error)
{
  return run_binary ("add", JD_BINARY_ADD, backend, alpha, a, beta, b, dst, error);
}

gboolean
jd_add (JdBackend      *backend,
        const JdTensor *a,
        const JdTensor *b,
        JdTensor       *dst,
        GError        **error)
{
  return run_binary ("add", JD_BINARY_ADD, backend, 1.0f, a, 1.0f, b, dst, error);
}

gboolean
jd_mul (JdBackend      *backend,
        const JdTensor *a,
        const JdTensor *b,
        JdTensor       *dst,
        GError        **error)
{
  return run_binary ("mul", JD_BINARY_MUL, backend, 1.0f, a, 1.0f, b, dst, error);
}

gboolean
jd_broadcast (JdBackend      *backend,
              const JdTensor *src,
              JdTensor       *dst,
              GError        **error)
{
  const char *op_name = "broadcast";
  if (!jd_ops_check_tensor (op_name, "the input", backend, src, 0, error)
      || !jd_ops_check_tensor (op_name, "the output", backend, dst, 0, error))
    return FALSE;
  gboolean broadcasts = src->ndim <= dst->ndim;
  for (int i = 0; broadcasts && i < src->ndim; i++)
    {
      int64_t have = src->shape[i], want = dst->shape[i + dst->ndim - src->ndim];
      broadcasts = have == want || have == 1;
    }
  if (!broadcasts)
    {
      g_autofree char *ss = jd_tensor_shape_string (src);
      g_autofree char *sd = jd_tensor_shape_string (dst);
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "%s: the input %s cannot be broadcast to the output %s", op_name, ss, sd);
      return FALSE;
    }
  if (!check_alias (op_name, "the input", src, dst, error))
    return FALSE;
  JdOp op = { .kind = JD_OP_BROADCAST, .n_src = 1, .src = { src }, .dst = dst };
  return jd_backend_run (backend, &op, error);
}
