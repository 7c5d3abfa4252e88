/* jd-cpu-bench.h — oneDNN with nothing around it, for `jointdit bench ops`.
 *
 * Each constructor builds the very primitive the CPU backend builds for the same op and shapes
 * and points it at the given tensors once; jd_cpu_raw_dnnl_run then only executes it, on
 * copies already in the layouts it chose (no argument checks, no cache lookup, no reorders).
 * The benchmark times that next to the op front end (jd_linear, jd_conv2d, …) to show what
 * the engine's wrapping, reorders included, costs. The arguments must be ones the front end
 * accepts.
 *
 * With plain_layouts, the primitive is instead built on the tensors' own (PyTorch) layouts,
 * as a caller handing those tensors straight to oneDNN would get it; the benchmark shows it
 * to justify the layouts the engine chooses.
 */
#pragma once

#include "jd-backend.h"

G_BEGIN_DECLS

typedef struct _JdCpuRawDnnl JdCpuRawDnnl;

JdCpuRawDnnl *jd_cpu_raw_dnnl_new_linear           (JdBackend      *backend,
                                                    gboolean        plain_layouts,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv2d           (JdBackend      *backend,
                                                    gboolean        plain_layouts,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    int             stride,
                                                    int             padding,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv_temporal    (JdBackend      *backend,
                                                    gboolean        plain_layouts,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv1d           (JdBackend      *backend,
                                                    gboolean        plain_layouts,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    int             stride,
                                                    int             padding,
                                                    int             dilation,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv_transpose1d (JdBackend      *backend,
                                                    gboolean        plain_layouts,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    int             stride,
                                                    int             padding,
                                                    int             output_padding,
                                                    JdTensor       *dst,
                                                    GError        **error);
/* Executes the primitive once with the backend's thread count and waits for it. */
gboolean      jd_cpu_raw_dnnl_run                  (JdCpuRawDnnl   *raw,
                                                    GError        **error);
void          jd_cpu_raw_dnnl_free                 (JdCpuRawDnnl   *raw);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdCpuRawDnnl, jd_cpu_raw_dnnl_free)

G_END_DECLS
