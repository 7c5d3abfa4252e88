#include "jd-ops-private.h"

gboolean
jd_normal_noise (JdBackend *backend,
                 uint64_t   seed,
                 uint64_t   offset,
                 JdTensor  *dst,
                 GError   **error)
{
  if (!jd_ops_check_tensor ("normal noise", "the output", backend, dst, 0, error))
    return FALSE;
  JdOp op = { .kind = JD_OP_NORMAL_NOISE, .dst = dst };
  op.params.noise.seed = seed;
  op.params.noise.offset = offset;
  return jd_backend_run (backend, &op, error);
}
