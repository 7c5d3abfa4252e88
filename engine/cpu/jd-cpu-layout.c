/* Ops that only move data: nearest upsampling, concat, slice, permute.
 *
 * Each runs over ranges of dst's flat index so any shape splits evenly between threads, and
 * copies whole contiguous runs with memcpy where the layout has them.
 */
#include "jd-cpu-private.h"

#include <math.h>
#include <string.h>

#include "jd-cpu-activation.h"

#define COPY_GRAIN 32768

/* --- nearest upsample --- */

/* PyTorch's source index for mode='nearest' given an output size (aten's nearest_idx):
 * the same size maps o -> o, exactly twice the size maps o -> o / 2, and any other size uses
 * scale = (float) in / out and min(floor(o · scale), in − 1), with the product taken in float
 * as PyTorch does, so rounding ties resolve identically (5 -> 9 gives 0 0 1 1 2 2 3 3 4,
 * 9 -> 5 gives 0 1 3 5 7). */
static int64_t
nearest_source_index (int64_t o,
                      int64_t in,
                      int64_t out)
{
  if (in == out)
    return o;
  if (out == 2 * in)
    return o >> 1;
  float scale = (float) in / (float) out;
  int64_t src = (int64_t) floorf ((float) o * scale);
  return MIN (src, in - 1);
}

typedef struct {
  const float   *x;
  float         *y;
  int64_t        h_in, w_in, h_out, w_out;
  const int64_t *src_col;   /* per output column */
} UpsampleJob;

/* Over output rows (n, c, ho). */
static void
upsample_range (int64_t begin, int64_t end, gpointer user_data)
{
  UpsampleJob *job = user_data;
  for (int64_t r = begin; r < end; r++)
    {
      int64_t plane = r / job->h_out, ho = r % job->h_out;
      int64_t hi = nearest_source_index (ho, job->h_in, job->h_out);
      const float *src = job->x + (plane * job->h_in + hi) * job->w_in;
      float *dst = job->y + r * job->w_out;
      /* Repeated rows are copied from the row above, which this chunk has already written. */
      if (r > begin && ho > 0 && nearest_source_index (ho - 1, job->h_in, job->h_out) == hi)
        {
          memcpy (dst, dst - job->w_out, (gsize) job->w_out * sizeof (float));
          continue;
        }
      if (job->w_out == 2 * job->w_in)
#pragma omp simd
        for (int64_t i = 0; i < job->w_in; i++)
          dst[2 * i] = dst[2 * i + 1] = src[i];
      else
        for (int64_t wo = 0; wo < job->w_out; wo++)
          dst[wo] = src[job->src_col[wo]];
    }
}

gboolean
jd_cpu_run_upsample_nearest (JdCpuBackend *self,
                             const JdOp   *op,
                             GError      **error)
{
  const JdTensor *x = op->src[0];
  JdTensor *y = op->dst;
  g_autofree int64_t *src_col = g_new (int64_t, MAX (y->shape[3], 1));
  UpsampleJob job = {
    .x = x->data, .y = y->data,
    .h_in = x->shape[2], .w_in = x->shape[3], .h_out = y->shape[2], .w_out = y->shape[3],
    .src_col = src_col,
  };
  for (int64_t wo = 0; wo < job.w_out; wo++)
    src_col[wo] = nearest_source_index (wo, job.w_in, job.w_out);
  int64_t rows = y->shape[0] * y->shape[1] * job.h_out;
  jd_thread_pool_parallel_for (self->pool, rows, MAX (1, COPY_GRAIN / MAX (job.w_out, 1)),
                               upsample_range, &job);
  return TRUE;
}

/* --- concat --- */

typedef struct {
  int          n_src;
  const float *src[JD_OP_MAX_SRC];
  int64_t      src_row[JD_OP_MAX_SRC];   /* elements per outer index, per input */
  int64_t      dst_row;
  float       *dst;
} ConcatJob;

/* dst viewed as (outer, dst_row), each row the inputs' rows side by side. */
static void
concat_range (int64_t begin, int64_t end, gpointer user_data)
{
  ConcatJob *job = user_data;
  int64_t flat = begin;
  while (flat < end)
    {
      int64_t outer = flat / job->dst_row, col = flat % job->dst_row;
      int k = 0;
      int64_t start = 0;
      while (col >= start + job->src_row[k])
        start += job->src_row[k++];
      int64_t n = MIN (start + job->src_row[k] - col, end - flat);
      memcpy (job->dst + flat, job->src[k] + outer * job->src_row[k] + (col - start),
              (gsize) n * sizeof (float));
      flat += n;
    }
}

gboolean
jd_cpu_run_concat (JdCpuBackend *self,
                   const JdOp   *op,
                   GError      **error)
{
  const int axis = op->params.axis;
  const JdTensor *dst = op->dst;
  int64_t inner = 1;
  for (int i = axis + 1; i < dst->ndim; i++)
    inner *= dst->shape[i];
  ConcatJob job = { .n_src = op->n_src, .dst = dst->data, .dst_row = dst->shape[axis] * inner };
  for (int k = 0; k < op->n_src; k++)
    {
      job.src[k] = op->src[k]->data;
      job.src_row[k] = op->src[k]->shape[axis] * inner;
    }
  if (job.dst_row == 0)
    return TRUE;
  jd_thread_pool_parallel_for (self->pool, jd_tensor_numel (dst), COPY_GRAIN, concat_range, &job);
  return TRUE;
}

/* --- slice --- */

typedef struct {
  const float *src;
  float       *dst;
  int64_t      src_row, dst_row, start;
} SliceJob;

static void
slice_range (int64_t begin, int64_t end, gpointer user_data)
{
  SliceJob *job = user_data;
  int64_t flat = begin;
  while (flat < end)
    {
      int64_t outer = flat / job->dst_row, col = flat % job->dst_row;
      int64_t n = MIN (job->dst_row - col, end - flat);
      memcpy (job->dst + flat, job->src + outer * job->src_row + job->start + col,
              (gsize) n * sizeof (float));
      flat += n;
    }
}

gboolean
jd_cpu_run_slice (JdCpuBackend *self,
                  const JdOp   *op,
                  GError      **error)
{
  const JdTensor *src = op->src[0], *dst = op->dst;
  const int axis = op->params.slice.axis;
  int64_t inner = 1;
  for (int i = axis + 1; i < dst->ndim; i++)
    inner *= dst->shape[i];
  SliceJob job = {
    .src = src->data, .dst = dst->data,
    .src_row = src->shape[axis] * inner, .dst_row = dst->shape[axis] * inner,
    .start = op->params.slice.offset * inner,
  };
  if (job.dst_row == 0)
    return TRUE;
  jd_thread_pool_parallel_for (self->pool, jd_tensor_numel (dst), COPY_GRAIN, slice_range, &job);
  return TRUE;
}

/* --- permute --- */

/* dst's dims with the source stride of each, size-1 dims dropped and neighbours that the
 * source walks contiguously merged: a permutation that keeps the last dim becomes row copies,
 * one that moves it becomes a batch of 2-D transposes. */
typedef struct {
  int     ndim;
  int64_t shape[JD_MAX_DIMS];
  int64_t src_stride[JD_MAX_DIMS];
} PermuteView;

static void
permute_view_init (PermuteView    *view,
                   const JdTensor *src,
                   const JdTensor *dst,
                   const int      *perm)
{
  int64_t strides[JD_MAX_DIMS], stride = 1;
  for (int i = src->ndim - 1; i >= 0; i--)
    {
      strides[i] = stride;
      stride *= src->shape[i];
    }
  view->ndim = 0;
  for (int i = 0; i < dst->ndim; i++)
    {
      if (dst->shape[i] == 1)
        continue;
      int k = view->ndim;
      if (k > 0 && view->src_stride[k - 1] == strides[perm[i]] * dst->shape[i])
        {
          view->shape[k - 1] *= dst->shape[i];
          view->src_stride[k - 1] = strides[perm[i]];
          continue;
        }
      view->shape[k] = dst->shape[i];
      view->src_stride[k] = strides[perm[i]];
      view->ndim++;
    }
  if (view->ndim == 0)
    {
      view->ndim = 1;
      view->shape[0] = 1;
      view->src_stride[0] = 1;
    }
}

#define TRANSPOSE_TILE 32

typedef struct {
  PermuteView  view;
  const float *src;
  float       *dst;
  int          contiguous_dim;   /* the dim the source walks with stride 1 */
  int64_t      tiles;            /* along contiguous_dim, per outer index */
} PermuteJob;

/* Source offset and dst offset of an index over all dims except `skip_a` and `skip_b` (which
 * are left at 0), given as a flat counter over the remaining dims. */
static void
permute_outer_offsets (const PermuteView *v,
                       int64_t            counter,
                       int                skip_a,
                       int                skip_b,
                       int64_t           *src_off,
                       int64_t           *dst_off)
{
  int64_t dst_stride[JD_MAX_DIMS], s = 1;
  for (int i = v->ndim - 1; i >= 0; i--)
    {
      dst_stride[i] = s;
      s *= v->shape[i];
    }
  *src_off = *dst_off = 0;
  for (int i = v->ndim - 1; i >= 0; i--)
    {
      if (i == skip_a || i == skip_b)
        continue;
      int64_t idx = counter % v->shape[i];
      counter /= v->shape[i];
      *src_off += idx * v->src_stride[i];
      *dst_off += idx * dst_stride[i];
    }
}

/* The last dim is contiguous in the source too: whole rows. Units are dst rows. */
static void
permute_rows_range (int64_t begin, int64_t end, gpointer user_data)
{
  PermuteJob *job = user_data;
  const PermuteView *v = &job->view;
  const int last = v->ndim - 1;
  const int64_t row = v->shape[last];
  for (int64_t r = begin; r < end; r++)
    {
      int64_t src_off, dst_off;
      permute_outer_offsets (v, r, last, -1, &src_off, &dst_off);
      memcpy (job->dst + dst_off, job->src + src_off, (gsize) row * sizeof (float));
    }
}

/* One block of a transpose: rows × cols values, dst[c·d_stride + r] = src[r·s_stride + c]. */
static void
transpose_block_scalar (const float *src,
                        int64_t      s_stride,
                        float       *dst,
                        int64_t      d_stride,
                        int64_t      rows,
                        int64_t      cols)
{
  for (int64_t c = 0; c < cols; c++)
    for (int64_t r = 0; r < rows; r++)
      dst[c * d_stride + r] = src[r * s_stride + c];
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The same for a full 8 × 8 block, in registers: eight row loads, the usual unpack / shuffle /
 * lane-permute network, eight column stores. */
__attribute__ ((target ("avx2"))) static void
transpose_block_8x8_avx2 (const float *src,
                          int64_t      s_stride,
                          float       *dst,
                          int64_t      d_stride)
{
  __m256 r[8], t[8];
  for (int i = 0; i < 8; i++)
    r[i] = _mm256_loadu_ps (src + i * s_stride);
  for (int i = 0; i < 8; i += 2)
    {
      t[i] = _mm256_unpacklo_ps (r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps (r[i], r[i + 1]);
    }
  for (int i = 0; i < 8; i += 4)
    {
      r[i] = _mm256_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (1, 0, 1, 0));
      r[i + 1] = _mm256_shuffle_ps (t[i], t[i + 2], _MM_SHUFFLE (3, 2, 3, 2));
      r[i + 2] = _mm256_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (1, 0, 1, 0));
      r[i + 3] = _mm256_shuffle_ps (t[i + 1], t[i + 3], _MM_SHUFFLE (3, 2, 3, 2));
    }
  for (int i = 0; i < 4; i++)
    {
      _mm256_storeu_ps (dst + i * d_stride, _mm256_permute2f128_ps (r[i], r[i + 4], 0x20));
      _mm256_storeu_ps (dst + (i + 4) * d_stride, _mm256_permute2f128_ps (r[i], r[i + 4], 0x31));
    }
}
#endif

/* Units are (outer index, tile along contiguous_dim); each unit transposes a strip of
 * TRANSPOSE_TILE source columns, in 8 × 8 blocks along dst's last dim, so both sides touch few
 * cache lines at a time (a power-of-two stride puts every row of a tall tile in the same L1
 * set). */
static void
permute_transpose_range (int64_t begin, int64_t end, gpointer user_data)
{
  PermuteJob *job = user_data;
  const PermuteView *v = &job->view;
  const int last = v->ndim - 1, c = job->contiguous_dim;
  int64_t dst_stride_c = 1;
  for (int i = c + 1; i < v->ndim; i++)
    dst_stride_c *= v->shape[i];
  const int64_t n_last = v->shape[last], n_c = v->shape[c];
  const int64_t src_stride_last = v->src_stride[last];
#if defined(__x86_64__) || defined(__i386__)
  const gboolean avx2 = jd_cpu_have_avx2 ();
#endif
  for (int64_t u = begin; u < end; u++)
    {
      int64_t outer = u / job->tiles, tile = u % job->tiles;
      int64_t src_off, dst_off;
      permute_outer_offsets (v, outer, last, c, &src_off, &dst_off);
      const int64_t c0 = tile * TRANSPOSE_TILE, c1 = MIN (c0 + TRANSPOSE_TILE, n_c);
      for (int64_t l0 = 0; l0 < n_last; l0 += 8)
        {
          const int64_t rows = MIN (8, n_last - l0);
          for (int64_t ci = c0; ci < c1; ci += 8)
            {
              const int64_t cols = MIN (8, c1 - ci);
              const float *s = job->src + src_off + l0 * src_stride_last + ci;
              float *d = job->dst + dst_off + ci * dst_stride_c + l0;
#if defined(__x86_64__) || defined(__i386__)
              if (avx2 && rows == 8 && cols == 8)
                {
                  transpose_block_8x8_avx2 (s, src_stride_last, d, dst_stride_c);
                  continue;
                }
#endif
              transpose_block_scalar (s, src_stride_last, d, dst_stride_c, rows, cols);
            }
        }
    }
}

gboolean
jd_cpu_run_permute (JdCpuBackend *self,
                    const JdOp   *op,
                    GError      **error)
{
  PermuteJob job = { .src = op->src[0]->data, .dst = op->dst->data };
  permute_view_init (&job.view, op->src[0], op->dst, op->params.permute.perm);
  const PermuteView *v = &job.view;
  const int last = v->ndim - 1;
  int64_t total = jd_tensor_numel (op->dst);
  if (total == 0)
    return TRUE;
  if (v->src_stride[last] == 1)
    {
      int64_t rows = total / v->shape[last];
      jd_thread_pool_parallel_for (self->pool, rows, MAX (1, COPY_GRAIN / v->shape[last]),
                                   permute_rows_range, &job);
      return TRUE;
    }
  /* Some other dim has source stride 1 (the source's innermost non-trivial dim). */
  job.contiguous_dim = 0;
  for (int i = 0; i < v->ndim; i++)
    if (v->src_stride[i] == 1)
      job.contiguous_dim = i;
  job.tiles = (v->shape[job.contiguous_dim] + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE;
  int64_t outer = total / (v->shape[last] * v->shape[job.contiguous_dim]);
  int64_t unit = MIN (v->shape[job.contiguous_dim], (int64_t) TRANSPOSE_TILE) * v->shape[last];
  jd_thread_pool_parallel_for (self->pool, outer * job.tiles, MAX (1, COPY_GRAIN / unit),
                               permute_transpose_range, &job);
  return TRUE;
}
