/* TEMPORARY STUB: replaced by the real kernels. */
#include "jd-cpu-private.h"

gboolean jd_cpu_run_rope (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_timestep_embedding (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
