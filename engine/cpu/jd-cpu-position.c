/* Rotary position embedding and sinusoidal timestep embedding.
 *
 * Angles are formed in double: positions reach ~1000 (frames, mel bins, timesteps 0..999) and a
 * float angle of that size would carry an absolute error of ~1e-4 radian before sin/cos.
 */
#include "jd-cpu-private.h"

#include <math.h>

/* --- RoPE --- */

/* Rotated pairs per head the kernel's tables hold (head dims up to 1024 rotated). */
#define ROPE_MAX_PAIRS 512

typedef struct {
  const float *x;
  float       *y;
  const float *positions;   /* (L, n_axes) */
  int64_t      batch, length, width, head_dim;
  int          heads, n_axes, n_pairs;
  int          axis_of_pair[ROPE_MAX_PAIRS];
  double       inv_freq[ROPE_MAX_PAIRS];   /* base^(-2j/d) of each pair */
} RopeJob;

/* Over positions l: the pair angles of one position are computed once and applied to every
 * batch entry and head. */
static void
rope_range (int64_t begin, int64_t end, gpointer user_data)
{
  RopeJob *job = user_data;
  const int n_pairs = job->n_pairs;
  g_autofree float *cs = g_new (float, 2 * (gsize) MAX (n_pairs, 1));
  for (int64_t l = begin; l < end; l++)
    {
      for (int p = 0; p < n_pairs; p++)
        {
          double angle = (double) job->positions[l * job->n_axes + job->axis_of_pair[p]]
                         * job->inv_freq[p];
          cs[2 * p] = (float) cos (angle);
          cs[2 * p + 1] = (float) sin (angle);
        }
      for (int64_t b = 0; b < job->batch; b++)
        {
          const int64_t row = (b * job->length + l) * job->width;
          for (int h = 0; h < job->heads; h++)
            {
              const float *x = job->x + row + h * job->head_dim;
              float *y = job->y + row + h * job->head_dim;
              /* simd: y may be x; each pair is read only by its own iteration */
#pragma omp simd
              for (int p = 0; p < n_pairs; p++)
                {
                  const float c = cs[2 * p], s = cs[2 * p + 1];
                  const float x0 = x[2 * p], x1 = x[2 * p + 1];
                  y[2 * p] = x0 * c - x1 * s;
                  y[2 * p + 1] = x0 * s + x1 * c;
                }
              if (x != y)
                for (int64_t i = 2 * n_pairs; i < job->head_dim; i++)
                  y[i] = x[i];
            }
        }
    }
}

gboolean
jd_cpu_run_rope (JdCpuBackend *self,
                 const JdOp   *op,
                 GError      **error)
{
  const JdRopeParams *p = &op->params.rope;
  const JdTensor *x = op->src[0];
  g_autofree RopeJob *job = g_new0 (RopeJob, 1);
  job->x = x->data;
  job->y = op->dst->data;
  job->positions = op->src[1]->data;
  job->batch = x->shape[0];
  job->length = x->shape[1];
  job->width = x->shape[2];
  job->heads = p->heads;
  job->head_dim = job->width / p->heads;
  job->n_axes = p->n_axes;
  for (int a = 0; a < p->n_axes; a++)
    {
      const int d = p->axis_dims[a];
      for (int j = 0; j < d / 2; j++)
        {
          if (job->n_pairs >= ROPE_MAX_PAIRS)
            {
              g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                           "rotary embedding: the CPU kernel rotates at most %d dims per head",
                           2 * ROPE_MAX_PAIRS);
              return FALSE;
            }
          job->axis_of_pair[job->n_pairs] = a;
          job->inv_freq[job->n_pairs] = pow ((double) p->base, -2.0 * j / d);
          job->n_pairs++;
        }
    }
  int64_t per_position = MAX (job->batch * job->width, 1);
  jd_thread_pool_parallel_for (self->pool, job->length, MAX (1, 16384 / per_position),
                               rope_range, job);
  return TRUE;
}

/* --- timestep embedding --- */

typedef struct {
  const float            *timesteps;
  float                  *y;
  const JdTimestepParams *p;
} TimestepJob;

static void
timestep_range (int64_t begin, int64_t end, gpointer user_data)
{
  TimestepJob *job = user_data;
  const JdTimestepParams *p = job->p;
  const int half = p->dim / 2;
  const double log_period = log ((double) p->max_period);
  for (int64_t n = begin; n < end; n++)
    {
      float *row = job->y + n * p->dim;
      float *sin_part = p->flip_sin_to_cos ? row + half : row;
      float *cos_part = p->flip_sin_to_cos ? row : row + half;
      for (int i = 0; i < half; i++)
        {
          double freq = exp (-log_period * i / ((double) half - (double) p->downscale_freq_shift));
          double arg = (double) p->scale * ((double) job->timesteps[n] * freq);
          sin_part[i] = (float) sin (arg);
          cos_part[i] = (float) cos (arg);
        }
      if (p->dim % 2 == 1)
        row[p->dim - 1] = 0.0f;
    }
}

gboolean
jd_cpu_run_timestep_embedding (JdCpuBackend *self,
                               const JdOp   *op,
                               GError      **error)
{
  TimestepJob job = { op->src[0]->data, op->dst->data, &op->params.timestep };
  jd_thread_pool_parallel_for (self->pool, op->src[0]->shape[0],
                               MAX (1, 8192 / MAX (op->params.timestep.dim, 1)),
                               timestep_range, &job);
  return TRUE;
}
