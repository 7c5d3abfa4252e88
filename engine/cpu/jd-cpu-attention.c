/* Multi-head softmax attention on the CPU, tiled with an online softmax.
 *
 * Joint attention reaches tens of thousands of tokens, so the Lq × Lk score matrix is never
 * held: each task owns one block of queries of one head and walks the key tiles its segment
 * allows, keeping a running max m, a running sum l and an unnormalised output O per query;
 * O is rescaled by exp(m_old − m_new) whenever the max grows, and divided by l at the end
 * (the kernels work in base 2: log2(e) is folded into the query scale).
 * Tiles are held transposed with queries along the SIMD lanes (jd-cpu-attention-kernels.h):
 * only the query block is packed, once per task; keys and values are read in place.
 *
 * Every output row is produced by exactly one task, with the same tiles in the same order
 * whatever the thread count, so results do not depend on how many threads run.
 */
#include "jd-cpu-private.h"

#include <math.h>
#include <string.h>

#include "jd-cpu-attention-kernels.h"

/* A run of queries of one segment and the keys they may see. */
typedef struct {
  int64_t q_begin, n_queries;
  int64_t k_begin, n_keys;
} QueryBlock;

typedef struct {
  const JdAttentionKernels *kernels;
  const float *q, *k, *v;
  float       *dst;
  int64_t      lq, lk, heads, dqk, dv, dv_padded;
  int64_t      block_q, block_k;
  float        scale;
  const QueryBlock *blocks;
  int64_t      n_blocks;
} AttentionJob;

/* One thread's tiles, allocated once per op and thread: sized by the tile, never Lq × Lk. */
typedef struct {
  float *qt, *s, *o, *m, *l, *alpha;
} Scratch;

static int64_t
round_up (int64_t n, int64_t multiple)
{
  return (n + multiple - 1) / multiple * multiple;
}

static float *
carve (float **cursor, int64_t n)
{
  float *start = *cursor;
  *cursor += round_up (n, 16); /* keeps every buffer 64-byte aligned */
  return start;
}

static gsize
scratch_floats (const AttentionJob *job)
{
  return (gsize) (round_up (job->dqk * job->block_q, 16)
                  + round_up (job->block_k * job->block_q, 16)
                  + round_up (job->dv_padded * job->block_q, 16)
                  + 3 * round_up (job->block_q, 16));
}

static void
run_task (const AttentionJob *job, const Scratch *scratch, int64_t task)
{
  const JdAttentionKernels *kern = job->kernels;
  const int64_t b = task / (job->heads * job->n_blocks);
  const int64_t h = task / job->n_blocks % job->heads;
  const QueryBlock *blk = &job->blocks[task % job->n_blocks];
  const int64_t nq = blk->n_queries, dqk = job->dqk, dv = job->dv;
  const int64_t q_stride = job->heads * dqk, v_stride = job->heads * dv;
  const int64_t nqp = round_up (nq, JD_ATTN_ALIGN), dvp = job->dv_padded;

  /* Row r of head h starts at head + r · stride. */
  const float *q_head = job->q + (b * job->lq * job->heads + h) * dqk;
  const float *k_head = job->k + (b * job->lk * job->heads + h) * dqk;
  const float *v_head = job->v + (b * job->lk * job->heads + h) * dv;
  float *dst_head = job->dst + (b * job->lq * job->heads + h) * dv;

  if (blk->n_keys == 1)
    {
      /* The softmax over a single key is exactly 1: every query copies that value. */
      const float *value = v_head + blk->k_begin * v_stride;
      for (int64_t i = 0; i < nq; i++)
        memcpy (dst_head + (blk->q_begin + i) * v_stride, value, (gsize) dv * sizeof (float));
      return;
    }

  /* Transposed, so each store run is contiguous; the padding queries score 0 and are dropped. */
  const float scale = (float) ((double) job->scale * M_LOG2E); /* the kernels use powers of 2 */
  const float *q_block = q_head + blk->q_begin * q_stride;
  float *restrict qt = scratch->qt;
  for (int64_t c = 0; c < dqk; c++)
    {
      for (int64_t i = 0; i < nq; i++)
        qt[c * nqp + i] = q_block[i * q_stride + c] * scale;
      for (int64_t i = nq; i < nqp; i++)
        qt[c * nqp + i] = 0.0f;
    }
  for (int64_t i = 0; i < nqp; i++)
    {
      scratch->m[i] = -INFINITY;
      scratch->l[i] = 0.0f;
    }
  memset (scratch->o, 0, (gsize) (nq * dvp) * sizeof (float));

  for (int64_t kb = 0; kb < blk->n_keys; kb += job->block_k)
    {
      const int64_t n = MIN (job->block_k, blk->n_keys - kb);
      const int64_t first = blk->k_begin + kb;
      kern->scores (scratch->qt, nqp, dqk, k_head + first * q_stride, q_stride, n, scratch->s);
      kern->softmax (scratch->s, nqp, n, scratch->m, scratch->l, scratch->alpha);
      kern->accumulate (scratch->s, nqp, nq, n, v_head + first * v_stride, v_stride, dv, dvp,
                        scratch->alpha, scratch->o);
    }

  for (int64_t i = 0; i < nq; i++)
    {
      const float inv = 1.0f / scratch->l[i];
      const float *acc = scratch->o + i * dvp;
      float *out = dst_head + (blk->q_begin + i) * v_stride;
      for (int64_t c = 0; c < dv; c++)
        out[c] = acc[c] * inv;
    }
}

static void
attention_range (int64_t begin, int64_t end, gpointer user_data)
{
  const AttentionJob *job = user_data;
  float *base = g_aligned_alloc (scratch_floats (job), sizeof (float), 64);
  float *cursor = base;
  Scratch scratch;
  scratch.qt = carve (&cursor, job->dqk * job->block_q);
  scratch.s = carve (&cursor, job->block_k * job->block_q);
  scratch.o = carve (&cursor, job->dv_padded * job->block_q);
  scratch.m = carve (&cursor, job->block_q);
  scratch.l = carve (&cursor, job->block_q);
  scratch.alpha = carve (&cursor, job->block_q);
  for (int64_t task = begin; task < end; task++)
    run_task (job, &scratch, task);
  g_aligned_free (base);
}

/* 64 queries (four 16-query register tiles) per block share each pass over the keys; the key
 * tile is sized so its values (up to 128 KiB) and the scores stay in L2. Measured with
 * tests/bench-attention: head dims 16 to 512 all did best, within noise, with 64 queries. */
static void
choose_tiles (AttentionJob *job)
{
  job->block_q = 64;
  job->block_k = CLAMP (32768 / job->dv_padded, 64, 256);
}

gboolean
jd_cpu_run_attention (JdCpuBackend *self, const JdOp *op, GError **error)
{
  const JdAttentionParams *params = &op->params.attention;
  const JdTensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
  AttentionJob job = {
    .kernels = jd_cpu_attention_kernels (),
    .q = q->data, .k = k->data, .v = v->data, .dst = op->dst->data,
    .lq = q->shape[1], .lk = k->shape[1], .heads = params->heads,
    .scale = params->scale,
  };
  const int64_t batch = q->shape[0];
  job.dqk = q->shape[2] / job.heads;
  job.dv = v->shape[2] / job.heads;
  job.dv_padded = round_up (job.dv, JD_ATTN_ALIGN);
  choose_tiles (&job);
  if (batch == 0 || job.lq == 0)
    return TRUE;

  /* Query blocks never straddle a segment, so each sees one contiguous key range. */
  int n_segments = params->n_segments > 0 ? params->n_segments : 1;
  int64_t q_len[JD_MAX_SEGMENTS], k_len[JD_MAX_SEGMENTS];
  for (int s = 0; s < n_segments; s++)
    {
      q_len[s] = params->n_segments > 0 ? params->q_segments[s] : job.lq;
      k_len[s] = params->n_segments > 0 ? params->k_segments[s] : job.lk;
    }
  int64_t n_blocks = 0;
  for (int s = 0; s < n_segments; s++)
    n_blocks += (q_len[s] + job.block_q - 1) / job.block_q;
  g_autofree QueryBlock *blocks = g_new (QueryBlock, MAX (n_blocks, 1));
  int64_t q0 = 0, k0 = 0, next = 0;
  for (int s = 0; s < n_segments; s++)
    {
      for (int64_t i = 0; i < q_len[s]; i += job.block_q)
        blocks[next++] = (QueryBlock) {
          .q_begin = q0 + i, .n_queries = MIN (job.block_q, q_len[s] - i),
          .k_begin = k0, .n_keys = k_len[s],
        };
      q0 += q_len[s];
      k0 += k_len[s];
    }
  job.blocks = blocks;
  job.n_blocks = n_blocks;

  jd_thread_pool_parallel_for (self->pool, batch * job.heads * n_blocks, 1, attention_range,
                               &job);
  return TRUE;
}
