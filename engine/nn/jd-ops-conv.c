/* TEMPORARY STUB: replaced by the real front end. */
#include "jd-ops-private.h"
#include "jd-error.h"

gboolean
jd_linear (JdBackend *backend, const JdTensor *x, const JdTensor *weight, const JdTensor *bias, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_conv2d (JdBackend *backend, const JdTensor *x, const JdTensor *weight, const JdTensor *bias, int stride, int padding, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_conv_temporal (JdBackend *backend, const JdTensor *x, const JdTensor *weight, const JdTensor *bias, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_conv1d (JdBackend *backend, const JdTensor *x, const JdTensor *weight, const JdTensor *bias, int stride, int padding, int dilation, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

gboolean
jd_conv_transpose1d (JdBackend *backend, const JdTensor *x, const JdTensor *weight, const JdTensor *bias, int stride, int padding, int output_padding, JdTensor *dst, GError **error)
{ g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED, "stub"); return FALSE; }

