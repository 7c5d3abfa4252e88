/* TEMPORARY STUB: replaced by the real kernels. */
#include "jd-cpu-private.h"

gboolean jd_cpu_run_upsample_nearest (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_concat (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_slice (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_permute (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
