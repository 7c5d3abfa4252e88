/* The ops that run the backend's own kernels: norms, elementwise, layout, positions, noise and
 * attention. Each turns the op's tensors into the launcher's plain arguments; the checks of
 * engine/nn/jd-ops-check.c have already run, so shapes are consistent. */
#include "jd-cuda-private.h"

#include <math.h>
#include <string.h>

#define LAUNCH(call, what) JD_TRY_FALSE (jd_cuda_check ((call), (what), error))

static const float *
data_or_null (const JdTensor *t)
{
  return t != NULL ? t->data : NULL;
}

static int64_t
product (const int64_t *shape, int from, int to)
{
  int64_t n = 1;
  for (int i = from; i < to; i++)
    n *= shape[i];
  return n;
}

gboolean
jd_cuda_run_group_norm (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0];
  const JdNormParams *p = &op->params.norm;
  LAUNCH (jd_cuda_launch_group_norm (x->data, data_or_null (op->src[1]),
                                     data_or_null (op->src[2]), op->dst->data, x->shape[0],
                                     x->shape[1], product (x->shape, 2, x->ndim), p->groups,
                                     p->eps, p->activation == JD_UNARY_SILU, self->stream),
          "launching the group norm kernel");
  return TRUE;
}

gboolean
jd_cuda_run_layer_norm (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0];
  const int64_t c = x->shape[x->ndim - 1];
  LAUNCH (jd_cuda_launch_layer_norm (x->data, data_or_null (op->src[1]),
                                     data_or_null (op->src[2]), op->dst->data,
                                     c > 0 ? jd_tensor_numel (x) / c : 0, c,
                                     op->params.norm.eps, self->stream),
          "launching the layer norm kernel");
  return TRUE;
}

gboolean
jd_cuda_run_unary (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdUnaryParams *p = &op->params.unary;
  if (p->kind == JD_UNARY_IDENTITY && op->src[0]->data == op->dst->data)
    return TRUE;
  LAUNCH (jd_cuda_launch_unary (op->src[0]->data, op->dst->data, jd_tensor_numel (op->dst),
                                (int) p->kind, p->alpha, p->beta, self->stream),
          "launching the unary kernel");
  return TRUE;
}

/* Strides of t over dst's dims (t right-aligned; size-1 dims and missing dims stride 0). */
static void
broadcast_strides (const JdTensor *t, const JdTensor *dst, int64_t *strides)
{
  int64_t stride = 1;
  for (int i = dst->ndim - 1; i >= 0; i--)
    {
      const int ti = i - (dst->ndim - t->ndim);
      if (ti < 0)
        {
          strides[i] = 0;
          continue;
        }
      strides[i] = t->shape[ti] == 1 ? 0 : stride;
      stride *= t->shape[ti];
    }
}

static gboolean
run_broadcasting (JdCudaBackend *self, const JdTensor *a, const JdTensor *b, JdTensor *dst,
                  int kind, float alpha, float beta, GError **error)
{
  JdCudaBroadcast s = { .ndim = MAX (dst->ndim, 1) };
  if (dst->ndim == 0)
    {
      s.shape[0] = 1;
      s.a_strides[0] = 0;
      s.b_strides[0] = 0;
    }
  else
    {
      memcpy (s.shape, dst->shape, sizeof (int64_t) * dst->ndim);
      broadcast_strides (a, dst, s.a_strides);
      if (b != NULL)
        broadcast_strides (b, dst, s.b_strides);
    }
  LAUNCH (jd_cuda_launch_binary (a->data, b ? b->data : NULL, dst->data, &s, kind, alpha, beta,
                                 self->stream),
          "launching the broadcasting kernel");
  return TRUE;
}

gboolean
jd_cuda_run_binary (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdBinaryParams *p = &op->params.binary;
  return run_broadcasting (self, op->src[0], op->src[1], op->dst,
                           p->kind == JD_BINARY_MUL ? 1 : 0, p->alpha, p->beta, error);
}

gboolean
jd_cuda_run_broadcast (JdCudaBackend *self, const JdOp *op, GError **error)
{
  return run_broadcasting (self, op->src[0], NULL, op->dst, 0, 1.0f, 0.0f, error);
}

gboolean
jd_cuda_run_upsample_nearest (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0];
  JdTensor *y = op->dst;
  LAUNCH (jd_cuda_launch_upsample_nearest (x->data, y->data, x->shape[0] * x->shape[1],
                                           x->shape[2], x->shape[3], y->shape[2], y->shape[3],
                                           self->stream),
          "launching the nearest-upsampling kernel");
  return TRUE;
}

gboolean
jd_cuda_run_concat (JdCudaBackend *self, const JdOp *op, GError **error)
{
  JdTensor *dst = op->dst;
  const int axis = op->params.axis;
  const int64_t outer = product (dst->shape, 0, axis);
  const int64_t inner = product (dst->shape, axis + 1, dst->ndim);
  const int64_t dst_cols = dst->shape[axis] * inner;
  int64_t offset = 0;
  for (int i = 0; i < op->n_src; i++)
    {
      const JdTensor *src = op->src[i];
      const int64_t cols = src->shape[axis] * inner;
      LAUNCH (jd_cuda_launch_copy_columns (src->data, cols, 0, dst->data, dst_cols, offset,
                                           outer, cols, self->stream),
              "launching the concat copy");
      offset += cols;
    }
  return TRUE;
}

gboolean
jd_cuda_run_slice (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *src = op->src[0];
  JdTensor *dst = op->dst;
  const int axis = op->params.slice.axis;
  const int64_t outer = product (src->shape, 0, axis);
  const int64_t inner = product (src->shape, axis + 1, src->ndim);
  const int64_t cols = dst->shape[axis] * inner;
  LAUNCH (jd_cuda_launch_copy_columns (src->data, src->shape[axis] * inner,
                                       op->params.slice.offset * inner, dst->data, cols, 0,
                                       outer, cols, self->stream),
          "launching the slice copy");
  return TRUE;
}

gboolean
jd_cuda_run_permute (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *src = op->src[0];
  JdTensor *dst = op->dst;
  int64_t src_strides[JD_MAX_DIMS];
  int64_t stride = 1;
  for (int i = src->ndim - 1; i >= 0; i--)
    {
      src_strides[i] = stride;
      stride *= src->shape[i];
    }
  JdCudaPermute p = { .ndim = dst->ndim };
  for (int i = 0; i < dst->ndim; i++)
    {
      p.dst_shape[i] = dst->shape[i];
      p.src_strides[i] = src_strides[op->params.permute.perm[i]];
    }
  if (p.ndim == 0)
    {
      p.ndim = 1;
      p.dst_shape[0] = 1;
      p.src_strides[0] = 0;
    }
  LAUNCH (jd_cuda_launch_permute (src->data, dst->data, &p, self->stream),
          "launching the permute kernel");
  return TRUE;
}

gboolean
jd_cuda_run_rope (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdRopeParams *p = &op->params.rope;
  const JdTensor *x = op->src[0];
  g_autofree JdCudaRope *rope = g_new0 (JdCudaRope, 1);
  rope->n_axes = p->n_axes;
  for (int a = 0; a < p->n_axes; a++)
    {
      const int d = p->axis_dims[a];
      for (int j = 0; j < d / 2; j++)
        {
          if (rope->n_pairs >= JD_CUDA_ROPE_MAX_PAIRS)
            {
              g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                           "rotary embedding: the CUDA kernel rotates at most %d dims per head",
                           2 * JD_CUDA_ROPE_MAX_PAIRS);
              return FALSE;
            }
          rope->axis_of_pair[rope->n_pairs] = (unsigned char) a;
          rope->inv_freq[rope->n_pairs] = pow ((double) p->base, -2.0 * j / d);
          rope->n_pairs++;
        }
    }
  const int64_t length = x->shape[1];
  void *table = jd_cuda_scratch (self, (gsize) MAX (length * rope->n_pairs, 1) * 8, error);
  if (table == NULL)
    return FALSE;
  LAUNCH (jd_cuda_launch_rope (x->data, op->dst->data, op->src[1]->data, table, x->shape[0],
                               length, p->heads, x->shape[2] / p->heads, rope, self->stream),
          "launching the rotary embedding kernels");
  return TRUE;
}

gboolean
jd_cuda_run_timestep_embedding (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTimestepParams *p = &op->params.timestep;
  LAUNCH (jd_cuda_launch_timestep_embedding (op->src[0]->data, op->dst->data,
                                             op->src[0]->shape[0], p->dim, p->flip_sin_to_cos,
                                             p->downscale_freq_shift, p->scale, p->max_period,
                                             self->stream),
          "launching the timestep embedding kernel");
  return TRUE;
}

gboolean
jd_cuda_run_normal_noise (JdCudaBackend *self, const JdOp *op, GError **error)
{
  LAUNCH (jd_cuda_launch_normal_noise (op->dst->data, jd_tensor_numel (op->dst),
                                       op->params.noise.seed, op->params.noise.offset,
                                       self->stream),
          "launching the Philox noise kernel");
  return TRUE;
}

gboolean
jd_cuda_run_attention (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
  const JdAttentionParams *p = &op->params.attention;
  JdCudaAttention a = { 0 };
  a.batch = (int) q->shape[0];
  a.heads = p->heads;
  a.lq = q->shape[1];
  a.lk = k->shape[1];
  a.dqk = (int) (q->shape[2] / p->heads);
  a.dv = (int) (v->shape[2] / p->heads);
  a.scale = p->scale;
  if (q->shape[0] > G_MAXINT || q->shape[2] / p->heads > G_MAXINT)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "attention: batch %" G_GINT64_FORMAT " is beyond the CUDA kernels' range",
                   q->shape[0]);
      return FALSE;
    }
  /* One key (the UNets' cross-attention on the single image token): the softmax over it is
   * exactly 1, so every query's output is that key's value — a broadcast, exact in any
   * precision. */
  if (a.lk == 1 && p->n_segments == 0)
    {
      JdCudaBroadcast s = { .ndim = 3, .shape = { a.batch, a.lq, v->shape[2] },
                            .a_strides = { v->shape[2], 0, 1 } };
      LAUNCH (jd_cuda_launch_binary (v->data, NULL, op->dst->data, &s, 0, 1.0f, 0.0f,
                                     self->stream),
              "launching the one-key attention broadcast");
      return TRUE;
    }
  /* Short sequences (temporal attention: length = frames, batch = pixels): one warp per
   * (sequence, head), F32 in either precision. Unverified on a GPU so far. */
  if (self->short_attention && p->n_segments == 0)
    {
      a.n_segments = 1;
      a.q_len[0] = a.lq;
      a.k_len[0] = a.lk;
      if (jd_cuda_attention_short_fits (&a))
        {
          LAUNCH (jd_cuda_launch_attention_short (q->data, k->data, v->data, op->dst->data, &a,
                                                  self->stream),
                  "launching the short-sequence attention kernel");
          return TRUE;
        }
    }
  const gboolean tensor_cores = self->precision == JD_CUDA_PRECISION_BF16
                                && MAX (a.dqk, a.dv) <= JD_CUDA_ATTENTION_MMA_MAX_DIM;
  const int tile = tensor_cores ? JD_CUDA_ATTENTION_MMA_TILE : JD_CUDA_ATTENTION_F32_TILE;
  a.n_segments = p->n_segments > 0 ? p->n_segments : 1;
  int64_t q_at = 0, k_at = 0, tiles = 0;
  for (int s = 0; s < a.n_segments; s++)
    {
      a.q_start[s] = q_at;
      a.k_start[s] = k_at;
      a.q_len[s] = p->n_segments > 0 ? p->q_segments[s] : a.lq;
      a.k_len[s] = p->n_segments > 0 ? p->k_segments[s] : a.lk;
      a.tile_start[s] = tiles;
      tiles += (a.q_len[s] + tile - 1) / tile;
      q_at += a.q_len[s];
      k_at += a.k_len[s];
    }
  a.tile_start[a.n_segments] = tiles;
  if (tiles > 65535)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "attention: %" G_GINT64_FORMAT " queries make %" G_GINT64_FORMAT " tiles of "
                   "%d, beyond the CUDA grid's 65535", a.lq, tiles, tile);
      return FALSE;
    }
  if (tensor_cores)
    LAUNCH (jd_cuda_launch_attention_mma (q->data, k->data, v->data, op->dst->data, &a,
                                          self->stream),
            "launching the tensor-core attention kernel");
  else
    LAUNCH (jd_cuda_launch_attention_f32 (q->data, k->data, v->data, op->dst->data, &a,
                                          self->stream),
            "launching the F32 attention kernel");
  return TRUE;
}
