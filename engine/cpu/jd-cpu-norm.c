/* Group norm and layer norm.
 *
 * Statistics are exact enough for activations with a large mean and a small spread (1000 + 1e-3
 * noise): each channel row (or piece of one) is summed in double twice, once for its mean and
 * once for the squared deviations from that mean, and the pieces of a group are merged with
 * Chan's update (M2 += M2_b + δ²·n_a·n_b / (n_a + n_b)), which never subtracts two large sums.
 * Rows are independent, so both the statistics and the normalisation parallelise over N·C rows
 * (or pieces of rows, when there are few) whatever the group count, and a row stays in cache
 * between its passes.
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
  /* simd: x may be y, which is safe element by element but stops the compiler proving it. */
#pragma omp simd
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

/* Below this many elements a piece of a channel row is not worth its own unit of work. */
#define GROUP_NORM_MIN_PIECE 4096

/* Work is cut into units of one channel row, or of a piece of one when there are too few rows
 * to keep every thread busy (a group norm over 4 channels of a long video, say); a group's
 * units are consecutive. */
typedef struct {
  const float *x;
  float       *y;
  const float *gamma, *beta;
  int64_t      channels, channels_per_group, spatial;
  int64_t      pieces_per_row, piece;
  float        eps;
  JdUnaryKind  activation;
  double      *unit_mean, *unit_m2;     /* per unit */
  SplitMean   *group_mean;              /* per (n, g) */
  float       *group_rstd;
} GroupNormJob;

/* The unit's row and its element range within the row. */
static int64_t
group_norm_unit (const GroupNormJob *job,
                 int64_t             unit,
                 int64_t            *start,
                 int64_t            *count)
{
  int64_t row = unit / job->pieces_per_row, piece = unit % job->pieces_per_row;
  *start = piece * job->piece;
  *count = MAX (0, MIN (job->piece, job->spatial - *start));
  return row;
}

static void
group_norm_moments (int64_t begin, int64_t end, gpointer user_data)
{
  GroupNormJob *job = user_data;
  for (int64_t u = begin; u < end; u++)
    {
      int64_t start, count;
      int64_t row = group_norm_unit (job, u, &start, &count);
      job->unit_mean[u] = job->unit_m2[u] = 0.0;
      if (count > 0)
        row_moments (job->x + row * job->spatial + start, count, &job->unit_mean[u],
                     &job->unit_m2[u]);
    }
}

static void
group_norm_apply (int64_t begin, int64_t end, gpointer user_data)
{
  GroupNormJob *job = user_data;
  for (int64_t u = begin; u < end; u++)
    {
      int64_t start, count;
      int64_t r = group_norm_unit (job, u, &start, &count);
      int64_t c = r % job->channels;
      /* (n, g) flattened: the rows of a group are adjacent */
      int64_t group = r / job->channels_per_group;
      float scale = job->group_rstd[group] * (job->gamma ? job->gamma[c] : 1.0f);
      float shift = job->beta ? job->beta[c] : 0.0f;
      int64_t at = r * job->spatial + start;
      normalise_row (job->x + at, job->y + at, count, job->group_mean[group], scale, shift,
                     job->activation);
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
  if (rows == 0 || spatial == 0)
    return TRUE;

  /* Aim for four units per thread. */
  const int64_t threads = jd_thread_pool_get_n_threads (self->pool);
  int64_t pieces = MIN ((4 * threads + rows - 1) / rows, MAX (1, spatial / GROUP_NORM_MIN_PIECE));
  pieces = MAX (pieces, 1);
  const int64_t piece = (spatial + pieces - 1) / pieces;
  pieces = (spatial + piece - 1) / piece;
  const int64_t units = rows * pieces;

  g_autofree double *unit_stats = g_new (double, 2 * units);
  g_autofree SplitMean *group_means = g_new (SplitMean, n_groups);
  g_autofree float *group_rstds = g_new (float, n_groups);
  GroupNormJob job = {
    .x = x->data, .y = op->dst->data,
    .gamma = op->src[1] ? op->src[1]->data : NULL,
    .beta = op->src[2] ? op->src[2]->data : NULL,
    .channels = channels, .channels_per_group = channels / groups, .spatial = spatial,
    .pieces_per_row = pieces, .piece = piece,
    .eps = op->params.norm.eps, .activation = op->params.norm.activation,
    .unit_mean = unit_stats, .unit_m2 = unit_stats + units,
    .group_mean = group_means, .group_rstd = group_rstds,
  };
  const int64_t grain = MAX (1, NORM_GRAIN_ELEMENTS / piece);
  jd_thread_pool_parallel_for (self->pool, units, grain, group_norm_moments, &job);

  /* Fold each group's units with Chan's update (cheap: one step per unit). */
  const int64_t units_per_group = job.channels_per_group * pieces;
  for (int64_t g = 0; g < n_groups; g++)
    {
      double n = 0, mean = 0, m2 = 0;
      for (int64_t u = g * units_per_group; u < (g + 1) * units_per_group; u++)
        {
          int64_t start, count;
          group_norm_unit (&job, u, &start, &count);
          if (count == 0)
            continue;
          double nb = (double) count, total = n + nb, delta = job.unit_mean[u] - mean;
          mean += delta * nb / total;
          m2 += job.unit_m2[u] + delta * delta * n * nb / total;
          n = total;
        }
      job.group_mean[g] = split_mean (mean);
      job.group_rstd[g] = (float) (1.0 / sqrt (m2 / n + (double) job.eps));
    }

  jd_thread_pool_parallel_for (self->pool, units, grain, group_norm_apply, &job);
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
  const float *gamma = job->gamma, *beta = job->beta;
  for (int64_t r = begin; r < end; r++)
    {
      const float *x = job->x + r * w;
      float *y = job->y + r * w;
      double mean, m2;
      row_moments (x, w, &mean, &m2);
      const float rstd = (float) (1.0 / sqrt (m2 / (double) w + (double) job->eps));
      normalise_row (x, y, w, split_mean (mean), rstd, 0.0f, JD_UNARY_IDENTITY);
      if (gamma && beta)
#pragma omp simd
        for (int64_t i = 0; i < w; i++)
          y[i] = y[i] * gamma[i] + beta[i];
      else if (gamma)
#pragma omp simd
        for (int64_t i = 0; i < w; i++)
          y[i] *= gamma[i];
      else if (beta)
#pragma omp simd
        for (int64_t i = 0; i < w; i++)
          y[i] += beta[i];
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
