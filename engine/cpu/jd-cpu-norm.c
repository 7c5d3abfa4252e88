/* Group norm and layer norm.
 *
 * Statistics are exact enough for activations with a large mean and a small spread (1000 + 1e-3
 * noise): each channel row is summed in double twice, once for its mean and once for the
 * squared deviations from that mean, and the rows of a group are combined with Chan's formula
 * (M2 = Σ M2_c + n_c·(μ_c − μ)²), which never subtracts two large sums. Rows are independent,
 * so both the statistics and the normalisation parallelise over N·C rows whatever the group
 * count, and a row stays in cache between its two passes.
 */
#include "jd-cpu-private.h"

#include <math.h>

#include "jd-cpu-activation.h"

/* Rows per thread chunk are chosen so a chunk holds at least this many elements. */
#define NORM_GRAIN_ELEMENTS 32768

/* Mean and Σ(x − mean)² of one row, both in double. Four accumulators break the dependency
 * chain of the additions. */
static void
row_moments (const float *x,
             int64_t      n,
             double      *mean_out,
             double      *m2_out)
{
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    {
      s0 += x[i];
      s1 += x[i + 1];
      s2 += x[i + 2];
      s3 += x[i + 3];
    }
  for (; i < n; i++)
    s0 += x[i];
  double mean = (s0 + s1 + s2 + s3) / (double) n;

  double q0 = 0, q1 = 0, q2 = 0, q3 = 0;
  for (i = 0; i + 4 <= n; i += 4)
    {
      double d0 = x[i] - mean, d1 = x[i + 1] - mean, d2 = x[i + 2] - mean, d3 = x[i + 3] - mean;
      q0 += d0 * d0;
      q1 += d1 * d1;
      q2 += d2 * d2;
      q3 += d3 * d3;
    }
  for (; i < n; i++)
    {
      double d = x[i] - mean;
      q0 += d * d;
    }
  *mean_out = mean;
  *m2_out = q0 + q1 + q2 + q3;
}

/* The mean as float hi + lo. x − hi is exact or nearly so when x is near the mean (Sterbenz),
 * and its rounding error is relative to the small difference, not to the large mean; folding
 * the mean into a shift (x·scale − mean·scale) or rounding it to one float would lose the
 * digits that matter when the spread is small. */
typedef struct {
  float hi, lo;
} SplitMean;

static SplitMean
split_mean (double mean)
{
  SplitMean m;
  m.hi = (float) mean;
  m.lo = (float) (mean - (double) m.hi);
  return m;
}

/* y = (x − mean)·scale + shift, then the fused activation, in place on the output row. */
static void
normalise_row (const float *x,
               float       *y,
               int64_t      n,
               SplitMean    mean,
               float        scale,
               float        shift,
               JdUnaryKind  activation)
{
  for (int64_t i = 0; i < n; i++)
    y[i] = ((x[i] - mean.hi) - mean.lo) * scale + shift;
  if (activation != JD_UNARY_IDENTITY)
    jd_cpu_unary_row (activation, 0.0f, 0.0f, y, y, n);
}

static int64_t
rows_grain (int64_t row_len)
{
  return MAX (1, NORM_GRAIN_ELEMENTS / MAX (row_len, 1));
}

/* --- group norm --- */

typedef struct {
  const float *x;
  float       *y;
  const float *gamma, *beta;
  int64_t      channels, channels_per_group, spatial;
  float        eps;
  JdUnaryKind  activation;
  double      *row_mean, *row_m2;     /* per (n, c) */
  SplitMean   *group_mean;              /* per (n, g) */
  float       *group_rstd;
} GroupNormJob;

static void
group_norm_moments (int64_t begin, int64_t end, gpointer user_data)
{
  GroupNormJob *job = user_data;
  for (int64_t r = begin; r < end; r++)
    row_moments (job->x + r * job->spatial, job->spatial, &job->row_mean[r], &job->row_m2[r]);
}

static void
group_norm_apply (int64_t begin, int64_t end, gpointer user_data)
{
  GroupNormJob *job = user_data;
  for (int64_t r = begin; r < end; r++)
    {
      int64_t c = r % job->channels;
      /* (n, g) flattened: the rows of a group are adjacent */
      int64_t group = r / job->channels_per_group;
      float scale = job->group_rstd[group] * (job->gamma ? job->gamma[c] : 1.0f);
      float shift = job->beta ? job->beta[c] : 0.0f;
      normalise_row (job->x + r * job->spatial, job->y + r * job->spatial, job->spatial,
                     job->group_mean[group], scale, shift, job->activation);
    }
}

gboolean
jd_cpu_run_group_norm (JdCpuBackend *self,
                       const JdOp   *op,
                       GError      **error)
{
  const JdTensor *x = op->src[0];
  const int groups = op->params.norm.groups;
  const int64_t batch = x->shape[0], channels = x->shape[1];
  int64_t spatial = 1;
  for (int i = 2; i < x->ndim; i++)
    spatial *= x->shape[i];
  const int64_t rows = batch * channels, n_groups = batch * groups;

  g_autofree double *row_stats = g_new (double, 2 * rows);
  g_autofree SplitMean *group_means = g_new (SplitMean, n_groups);
  g_autofree float *group_rstds = g_new (float, n_groups);
  GroupNormJob job = {
    .x = x->data, .y = op->dst->data,
    .gamma = op->src[1] ? op->src[1]->data : NULL,
    .beta = op->src[2] ? op->src[2]->data : NULL,
    .channels = channels, .channels_per_group = channels / groups, .spatial = spatial,
    .eps = op->params.norm.eps, .activation = op->params.norm.activation,
    .row_mean = row_stats, .row_m2 = row_stats + rows,
    .group_mean = group_means, .group_rstd = group_rstds,
  };
  jd_thread_pool_parallel_for (self->pool, rows, rows_grain (spatial), group_norm_moments, &job);

  /* Chan's combination of equal-sized rows into per-group statistics (cheap: N·C terms). */
  const int64_t cpg = job.channels_per_group;
  for (int64_t g = 0; g < n_groups; g++)
    {
      const double *mean = job.row_mean + g * cpg, *m2 = job.row_m2 + g * cpg;
      double group_mean = 0;
      for (int64_t c = 0; c < cpg; c++)
        group_mean += mean[c];
      group_mean /= (double) cpg;
      double group_m2 = 0;
      for (int64_t c = 0; c < cpg; c++)
        {
          double d = mean[c] - group_mean;
          group_m2 += m2[c] + (double) spatial * d * d;
        }
      double variance = group_m2 / ((double) cpg * (double) spatial);
      job.group_mean[g] = split_mean (group_mean);
      job.group_rstd[g] = (float) (1.0 / sqrt (variance + (double) job.eps));
    }

  jd_thread_pool_parallel_for (self->pool, rows, rows_grain (spatial), group_norm_apply, &job);
  return TRUE;
}

/* --- layer norm --- */

typedef struct {
  const float *x;
  float       *y;
  const float *gamma, *beta;
  int64_t      width;
  float        eps;
} LayerNormJob;

static void
layer_norm_range (int64_t begin, int64_t end, gpointer user_data)
{
  LayerNormJob *job = user_data;
  const int64_t w = job->width;
  for (int64_t r = begin; r < end; r++)
    {
      const float *x = job->x + r * w;
      float *y = job->y + r * w;
      double mean, m2;
      row_moments (x, w, &mean, &m2);
      const float rstd = (float) (1.0 / sqrt (m2 / (double) w + (double) job->eps));
      normalise_row (x, y, w, split_mean (mean), rstd, 0.0f, JD_UNARY_IDENTITY);
      if (job->gamma && job->beta)
        for (int64_t i = 0; i < w; i++)
          y[i] = y[i] * job->gamma[i] + job->beta[i];
      else if (job->gamma)
        for (int64_t i = 0; i < w; i++)
          y[i] *= job->gamma[i];
      else if (job->beta)
        for (int64_t i = 0; i < w; i++)
          y[i] += job->beta[i];
    }
}

gboolean
jd_cpu_run_layer_norm (JdCpuBackend *self,
                       const JdOp   *op,
                       GError      **error)
{
  const JdTensor *x = op->src[0];
  const int64_t width = x->shape[x->ndim - 1];
  LayerNormJob job = {
    .x = x->data, .y = op->dst->data,
    .gamma = op->src[1] ? op->src[1]->data : NULL,
    .beta = op->src[2] ? op->src[2]->data : NULL,
    .width = width, .eps = op->params.norm.eps,
  };
  int64_t rows = width > 0 ? jd_tensor_numel (x) / width : 0;
  jd_thread_pool_parallel_for (self->pool, rows, rows_grain (width), layer_norm_range, &job);
  return TRUE;
}
