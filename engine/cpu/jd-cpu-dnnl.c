/* TEMPORARY STUB: replaced by the real kernels. */
#include "jd-cpu-private.h"

struct _JdCpuDnnlCache { int unused; };
JdCpuDnnlCache *jd_cpu_dnnl_cache_new (void) { return g_new0 (JdCpuDnnlCache, 1); }
void jd_cpu_dnnl_cache_free (JdCpuDnnlCache *cache) { g_free (cache); }
gboolean jd_cpu_run_linear (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_conv2d (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_conv_temporal (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_conv1d (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
gboolean jd_cpu_run_conv_transpose1d (JdCpuBackend *self, const JdOp *op, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }
