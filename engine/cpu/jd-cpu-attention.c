/* Multi-head softmax attention on the CPU, tiled with an online softmax.
 *
 * Joint attention reaches tens of thousands of tokens, so the Lq × Lk score matrix is never
 * held: each task owns one block of queries of one head and walks the key tiles its
 * segment allows, keeping a running row maximum m, a running sum l and an unnormalised output
 * O that is rescaled by exp(m_old − m_new) whenever the maximum grows; O / l at the end. The
 * tiles are packed into per-thread scratch laid out for the SIMD kernels of
 * jd-cpu-attention-kernels.h.
 *
 * Every output row is produced by exactly one task, in the same order of key tiles whatever
 * the thread count, so results do not depend on how many threads run.
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
  int64_t      block_q, block_k, s_stride;
  float        scale;
  const QueryBlock *blocks;
  int64_t      n_blocks;
} AttentionJob;

/* One thread's tiles, allocated once per op and thread, sized by the tile, never by Lq × Lk. */
typedef struct {
  float *q, *kt, *v, *s, *o, *m, *l, *alpha;
} Scratch;

static float *
scratch_floats (float **cursor, int64_t n)
{
  float *start = *cursor;
  *cursor += (n + 15) & ~(int64_t) 15; /* keep every buffer 64-byte aligned */
  return start;
}

static gsize
scratch_size (const AttentionJob *job)
{
  int64_t n = 0;
  n += (job->block_q * job->dqk + 15) & ~(int64_t) 15;
  n += (job->block_k * job->dqk + 15) & ~(int64_t) 15;
  n += (job->block_k * job->dv_padded + 15) & ~(int64_t) 15;
  n += (job->block_q * job->s_stride + 15) & ~(int64_t) 15;
  n += (job->block_q * job->dv_padded + 15) & ~(int64_t) 15;
  n += 3 * ((job->block_q + 15) & ~(int64_t) 15);
  return (gsize) n * sizeof (float);
}

static void
scratch_carve (const AttentionJob *job, float *base, Scratch *scratch)
{
  float *cursor = base;
  scratch->q = scratch_floats (&cursor, job->block_q * job->dqk);
  scratch->kt = scratch_floats (&cursor, job->block_k * job->dqk);
  scratch->v = scratch_floats (&cursor, job->block_k * job->dv_padded);
  scratch->s = scratch_floats (&cursor, job->block_q * job->s_stride);
  scratch->o = scratch_floats (&cursor, job->block_q * job->dv_padded);
  scratch->m = scratch_floats (&cursor, job->block_q);
  scratch->l = scratch_floats (&cursor, job->block_q);
  scratch->alpha = scratch_floats (&cursor, job->block_q);
}

/* Keys [k0, k0 + n) of head h, transposed into panels, zero past n up to the panel edge. */
static void
pack_keys (const AttentionJob *job, const float *k_head, int64_t k0, int64_t n, float *kt)
{
  const int64_t row_stride = job->heads * job->dqk;
  const int64_t n_cols = (n + JD_ATTN_KEY_PANEL - 1) / JD_ATTN_KEY_PANEL * JD_ATTN_KEY_PANEL;
  for (int64_t j = 0; j < n_cols; j++)
    {
      float *panel = kt + (j / JD_ATTN_KEY_PANEL) * job->dqk * JD_ATTN_KEY_PANEL
                     + j % JD_ATTN_KEY_PANEL;
      if (j < n)
        {
          const float *row = k_head + (k0 + j) * row_stride;
          for (int64_t c = 0; c < job->dqk; c++)
            panel[c * JD_ATTN_KEY_PANEL] = row[c];
        }
      else
        for (int64_t c = 0; c < job->dqk; c++)
          panel[c * JD_ATTN_KEY_PANEL] = 0.0f;
    }
}

/* Values [k0, k0 + n) of head h in column chunks of 16 (a last one of 8), zero past dv. */
static void
pack_values (const AttentionJob *job, const float *v_head, int64_t k0, int64_t n, float *vp)
{
  const int64_t row_stride = job->heads * job->dv;
  for (int64_t c0 = 0; c0 < job->dv_padded; c0 += 16)
    {
      const int64_t width = job->dv_padded - c0 >= 16 ? 16 : 8;
      const int64_t valid = MIN (width, job->dv - c0);
      float *chunk = vp + c0 * job->block_k;
      for (int64_t j = 0; j < n; j++)
        {
          const float *row = v_head + (k0 + j) * row_stride + c0;
          float *out = chunk + j * width;
          memcpy (out, row, (gsize) valid * sizeof (float));
          for (int64_t c = valid; c < width; c++)
            out[c] = 0.0f;
        }
    }
}

static void
run_task (const AttentionJob *job, const Scratch *scratch, int64_t task)
{
  const JdAttentionKernels *kern = job->kernels;
  const int64_t per_batch = job->heads * job->n_blocks;
  const int64_t b = task / per_batch;
  const int64_t h = task / job->n_blocks % job->heads;
  const QueryBlock *blk = &job->blocks[task % job->n_blocks];
  const int64_t nq = blk->n_queries, dqk = job->dqk, dv = job->dv, dvp = job->dv_padded;

  /* Row r of head h: base + r · heads · D. */
  const float *q_head = job->q + (b * job->lq * job->heads + h) * dqk;
  const float *k_head = job->k + (b * job->lk * job->heads + h) * dqk;
  const float *v_head = job->v + (b * job->lk * job->heads + h) * dv;
  float *dst_head = job->dst + (b * job->lq * job->heads + h) * dv;

  if (blk->n_keys == 1)
    {
      /* The softmax over a single key is exactly 1: every query copies that value. */
      const float *value = v_head + blk->k_begin * job->heads * dv;
      for (int64_t i = 0; i < nq; i++)
        memcpy (dst_head + (blk->q_begin + i) * job->heads * dv, value, (gsize) dv * sizeof (float));
      return;
    }

  for (int64_t i = 0; i < nq; i++)
    {
      const float *row = q_head + (blk->q_begin + i) * job->heads * dqk;
      for (int64_t c = 0; c < dqk; c++)
        scratch->q[i * dqk + c] = row[c] * job->scale;
      scratch->m[i] = -INFINITY;
      scratch->l[i] = 0.0f;
    }
  memset (scratch->o, 0, (gsize) (nq * dvp) * sizeof (float));

  for (int64_t kb = 0; kb < blk->n_keys; kb += job->block_k)
    {
      const int64_t n = MIN (job->block_k, blk->n_keys - kb);
      const int64_t n_panels = (n + JD_ATTN_KEY_PANEL - 1) / JD_ATTN_KEY_PANEL;
      const int64_t n_cols = n_panels * JD_ATTN_KEY_PANEL;
      pack_keys (job, k_head, blk->k_begin + kb, n, scratch->kt);
      pack_values (job, v_head, blk->k_begin + kb, n, scratch->v);
      kern->scores (scratch->q, nq, dqk, scratch->kt, n_panels, scratch->s, job->s_stride);
      if (n < n_cols)
        for (int64_t i = 0; i < nq; i++)
          for (int64_t j = n; j < n_cols; j++)
            scratch->s[i * job->s_stride + j] = -INFINITY;
      kern->softmax (scratch->s, nq, n_cols, job->s_stride, scratch->m, scratch->l,
                     scratch->alpha);
      kern->accumulate (scratch->s, job->s_stride, nq, n, scratch->v, job->block_k, dvp,
                        scratch->alpha, scratch->o);
    }

  for (int64_t i = 0; i < nq; i++)
    {
      const float inv = 1.0f / scratch->l[i];
      float *out = dst_head + (blk->q_begin + i) * job->heads * dv;
      for (int64_t c = 0; c < dv; c++)
        out[c] = scratch->o[i * dvp + c] * inv;
    }
}

static void
attention_range (int64_t begin, int64_t end, gpointer user_data)
{
  const AttentionJob *job = user_data;
  float *base = g_aligned_alloc (1, scratch_size (job), 64);
  Scratch scratch;
  scratch_carve (job, base, &scratch);
  for (int64_t task = begin; task < end; task++)
    run_task (job, &scratch, task);
  g_aligned_free (base);
}

/* Tiles sized so a key tile and its values stay in L2 and a query tile in L1 for small heads;
 * block_q is a multiple of the kernels' 6-row register tile. */
static void
choose_tiles (AttentionJob *job)
{
  const int64_t width = job->dqk + job->dv_padded;
  job->block_q = width > 256 ? 48 : 96;
  int64_t block_k = 32768 / width / JD_ATTN_KEY_PANEL * JD_ATTN_KEY_PANEL;
  job->block_k = CLAMP (block_k, 32, 512);
  job->s_stride = job->block_k + JD_ATTN_KEY_PANEL; /* avoids rows sharing cache sets */
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
  job.dv_padded = (job.dv + JD_ATTN_DV_ALIGN - 1) / JD_ATTN_DV_ALIGN * JD_ATTN_DV_ALIGN;
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
