/* Unary functions, binary ops with NumPy broadcasting, and materialised broadcasts.
 *
 * Broadcasting works on a "stride view": each operand gets, per dst dim, the stride it advances
 * by (0 where it broadcasts). Neighbouring dims that every operand walks the same way are merged
 * first, so a per-channel add over (N, C, H, W) becomes a loop over (N, C) rows of H·W with one
 * b value per row, and a same-shape add becomes one flat, parallel loop.
 */
#include "jd-cpu-private.h"

#include <string.h>

#include "jd-cpu-activation.h"

/* Work per thread chunk: below this, threads cost more than they save. */
#define ELEMENTWISE_GRAIN 16384

/* --- unary --- */

typedef struct {
  const JdUnaryParams *params;
  const float         *x;
  float               *y;
} UnaryJob;

static void
unary_range (int64_t begin, int64_t end, gpointer user_data)
{
  UnaryJob *job = user_data;
  jd_cpu_unary_row (job->params->kind, job->params->alpha, job->params->beta,
                    job->x + begin, job->y + begin, end - begin);
}

gboolean
jd_cpu_run_unary (JdCpuBackend *self,
                  const JdOp   *op,
                  GError      **error)
{
  UnaryJob job = { &op->params.unary, op->src[0]->data, op->dst->data };
  if (op->params.unary.kind == JD_UNARY_IDENTITY && job.x == job.y)
    return TRUE;
  jd_thread_pool_parallel_for (self->pool, jd_tensor_numel (op->dst), ELEMENTWISE_GRAIN,
                               unary_range, &job);
  return TRUE;
}

/* --- broadcasting iteration --- */

typedef struct {
  int     ndim;                  /* after merging, >= 1 */
  int64_t shape[JD_MAX_DIMS];
  int64_t stride_a[JD_MAX_DIMS]; /* 0 where a broadcasts */
  int64_t stride_b[JD_MAX_DIMS]; /* unused for a plain broadcast */
} StrideView;

/* Strides of `t` seen from a dst of ndim dims (right-aligned, 0 on broadcast dims). */
static void
broadcast_strides (const JdTensor *t,
                   int             ndim,
                   const int64_t  *dst_shape,
                   int64_t        *strides)
{
  int64_t stride = 1;
  for (int i = ndim - 1; i >= 0; i--)
    {
      int ti = i - (ndim - t->ndim);
      int64_t size = ti >= 0 ? t->shape[ti] : 1;
      strides[i] = (size == 1 && dst_shape[i] != 1) || ti < 0 ? 0 : stride;
      stride *= size;
    }
}

static void
stride_view_init (StrideView     *view,
                  const JdTensor *dst,
                  const JdTensor *a,
                  const JdTensor *b)
{
  int64_t sa[JD_MAX_DIMS], sb[JD_MAX_DIMS] = { 0 };
  broadcast_strides (a, dst->ndim, dst->shape, sa);
  if (b != NULL)
    broadcast_strides (b, dst->ndim, dst->shape, sb);

  /* Drop size-1 dims, then merge dim i into its right neighbour when both operands step over
   * it as over one longer dim. */
  view->ndim = 0;
  for (int i = 0; i < dst->ndim; i++)
    {
      if (dst->shape[i] == 1)
        continue;
      int k = view->ndim;
      view->shape[k] = dst->shape[i];
      view->stride_a[k] = sa[i];
      view->stride_b[k] = sb[i];
      view->ndim++;
    }
  if (view->ndim == 0)
    {
      view->ndim = 1;
      view->shape[0] = 1;
      view->stride_a[0] = view->stride_b[0] = 0;
      return;
    }
  int merged = 0;
  for (int i = 1; i < view->ndim; i++)
    {
      if (view->stride_a[merged] == view->stride_a[i] * view->shape[i]
          && view->stride_b[merged] == view->stride_b[i] * view->shape[i])
        {
          view->shape[merged] *= view->shape[i];
          view->stride_a[merged] = view->stride_a[i];
          view->stride_b[merged] = view->stride_b[i];
        }
      else
        {
          merged++;
          view->shape[merged] = view->shape[i];
          view->stride_a[merged] = view->stride_a[i];
          view->stride_b[merged] = view->stride_b[i];
        }
    }
  view->ndim = merged + 1;
}

typedef enum { ROW_ADD, ROW_MUL, ROW_COPY } RowKind;

typedef struct {
  StrideView   view;
  RowKind      kind;
  float        alpha, beta;
  const float *a, *b;
  float       *dst;
} BinaryJob;

/* One row of the innermost (merged) dim; a and b each step by 0 or 1. The four stride cases get
 * their own loops so each is a plain contiguous loop; "omp simd" lets the compiler vectorise
 * them although dst may be a or b (safe: each element is read only by its own iteration). */
static void
binary_row (const BinaryJob *job,
            const float     *a,
            int64_t          sa,
            const float     *b,
            int64_t          sb,
            float           *dst,
            int64_t          n)
{
  const float alpha = job->alpha, beta = job->beta;
  switch (job->kind)
    {
    case ROW_COPY:
      if (sa)
        memcpy (dst, a, (gsize) n * sizeof (float));
      else
        _Pragma ("omp simd")
        for (int64_t i = 0; i < n; i++)
          dst[i] = a[0];
      break;
    case ROW_ADD:
      if (sa && sb)
        {
          if (alpha == 1.0f && beta == 1.0f)
            _Pragma ("omp simd")
            for (int64_t i = 0; i < n; i++)
              dst[i] = a[i] + b[i];
          else
            _Pragma ("omp simd")
            for (int64_t i = 0; i < n; i++)
              dst[i] = alpha * a[i] + beta * b[i];
        }
      else if (sa)
        {
          const float bb = beta * b[0];
          _Pragma ("omp simd")
          for (int64_t i = 0; i < n; i++)
            dst[i] = alpha * a[i] + bb;
        }
      else if (sb)
        {
          const float aa = alpha * a[0];
          _Pragma ("omp simd")
          for (int64_t i = 0; i < n; i++)
            dst[i] = aa + beta * b[i];
        }
      else
        {
          const float v = alpha * a[0] + beta * b[0];
          _Pragma ("omp simd")
          for (int64_t i = 0; i < n; i++)
            dst[i] = v;
        }
      break;
    case ROW_MUL:
      if (sa && sb)
        _Pragma ("omp simd")
        for (int64_t i = 0; i < n; i++)
          dst[i] = a[i] * b[i];
      else if (sa)
        {
          const float bb = b[0];
          _Pragma ("omp simd")
          for (int64_t i = 0; i < n; i++)
            dst[i] = a[i] * bb;
        }
      else if (sb)
        {
          const float aa = a[0];
          _Pragma ("omp simd")
          for (int64_t i = 0; i < n; i++)
            dst[i] = aa * b[i];
        }
      else
        {
          const float v = a[0] * b[0];
          _Pragma ("omp simd")
          for (int64_t i = 0; i < n; i++)
            dst[i] = v;
        }
      break;
    }
}

/* Elements [begin, end) of dst in flat order, walked row by row. */
static void
binary_range (int64_t begin, int64_t end, gpointer user_data)
{
  const BinaryJob *job = user_data;
  const StrideView *v = &job->view;
  const int last = v->ndim - 1;
  const int64_t row_len = v->shape[last];
  int64_t flat = begin;
  while (flat < end)
    {
      int64_t col = flat % row_len;
      int64_t rest = flat / row_len;
      int64_t off_a = col * v->stride_a[last], off_b = col * v->stride_b[last];
      for (int i = last - 1; i >= 0; i--)
        {
          int64_t idx = rest % v->shape[i];
          rest /= v->shape[i];
          off_a += idx * v->stride_a[i];
          off_b += idx * v->stride_b[i];
        }
      int64_t n = MIN (row_len - col, end - flat);
      binary_row (job, job->a + off_a, v->stride_a[last],
                  job->b ? job->b + off_b : NULL, v->stride_b[last], job->dst + flat, n);
      flat += n;
    }
}

static void
run_broadcasting (JdCpuBackend   *self,
                  RowKind         kind,
                  float           alpha,
                  float           beta,
                  const JdTensor *a,
                  const JdTensor *b,
                  JdTensor       *dst)
{
  BinaryJob job = {
    .kind = kind, .alpha = alpha, .beta = beta,
    .a = a->data, .b = b ? b->data : NULL, .dst = dst->data,
  };
  stride_view_init (&job.view, dst, a, b);
  jd_thread_pool_parallel_for (self->pool, jd_tensor_numel (dst), ELEMENTWISE_GRAIN,
                               binary_range, &job);
}

gboolean
jd_cpu_run_binary (JdCpuBackend *self,
                   const JdOp   *op,
                   GError      **error)
{
  const JdBinaryParams *p = &op->params.binary;
  if (p->kind == JD_BINARY_ADD)
    run_broadcasting (self, ROW_ADD, p->alpha, p->beta, op->src[0], op->src[1], op->dst);
  else
    run_broadcasting (self, ROW_MUL, 1.0f, 1.0f, op->src[0], op->src[1], op->dst);
  return TRUE;
}

gboolean
jd_cpu_run_broadcast (JdCpuBackend *self,
                      const JdOp   *op,
                      GError      **error)
{
  run_broadcasting (self, ROW_COPY, 1.0f, 1.0f, op->src[0], NULL, op->dst);
  return TRUE;
}
