#include "jd-cpu-private.h"

#include "jd-philox.h"

typedef struct {
  uint64_t seed;
  uint64_t offset;
  float   *out;
} NoiseJob;

static void
noise_range (int64_t begin, int64_t end, gpointer user_data)
{
  NoiseJob *job = user_data;
  jd_philox_fill_normal (job->seed, job->offset + (uint64_t) begin, job->out + begin,
                         (gsize) (end - begin));
}

gboolean
jd_cpu_run_normal_noise (JdCpuBackend *self,
                         const JdOp   *op,
                         GError      **error)
{
  NoiseJob job = { op->params.noise.seed, op->params.noise.offset, op->dst->data };
  jd_thread_pool_parallel_for (self->pool, jd_tensor_numel (op->dst), 4096, noise_range, &job);
  return TRUE;
}
