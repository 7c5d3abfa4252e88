/* jd-cpu-bench.h — oneDNN used directly, without the engine, for `jointdit bench ops`.
 *
 * Each constructor describes the op as a user of oneDNN's C API would for the engine's job
 * (PyTorch-shaped, plain tensors in and out, PyTorch-layout weights), builds the primitive
 * itself — none of the engine's primitive cache, arena or reorder code — and prepares what a
 * careful user would prepare once: the weight reordered into the primitive's layout (weights
 * are constant), memory objects, the scratchpad. jd_cpu_raw_dnnl_run then executes, per mode:
 *
 *   JD_CPU_RAW_SEQUENCE        the whole job: reorder x into the layout the primitive chose,
 *                              the primitive, reorder its output back into dst. Where oneDNN
 *                              keeps the plain layouts (linear, conv1d, transposed conv1d)
 *                              this is the primitive alone. The engine is measured against it.
 *   JD_CPU_RAW_PRIMITIVE_ONLY  the primitive alone on operands already in its layouts: the
 *                              floor, showing what the reorders cost.
 *   JD_CPU_RAW_PLAIN           the primitive built on the PyTorch layouts as given (no
 *                              reorders at all), to justify the layouts the engine chooses.
 *
 * Linear is always a matmul on the plain layouts (oneDNN's GEMM packs its operands itself),
 * whatever the mode. The arguments must be ones the op front end accepts; the tensors must
 * outlive the returned object and keep their data pointers.
 */
#pragma once

#include "jd-backend.h"

G_BEGIN_DECLS

typedef struct _JdCpuRawDnnl JdCpuRawDnnl;

typedef enum {
  JD_CPU_RAW_SEQUENCE,
  JD_CPU_RAW_PRIMITIVE_ONLY,
  JD_CPU_RAW_PLAIN,
} JdCpuRawMode;

JdCpuRawDnnl *jd_cpu_raw_dnnl_new_linear           (JdBackend      *backend,
                                                    JdCpuRawMode    mode,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv2d           (JdBackend      *backend,
                                                    JdCpuRawMode    mode,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    int             stride,
                                                    int             padding,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv_temporal    (JdBackend      *backend,
                                                    JdCpuRawMode    mode,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv1d           (JdBackend      *backend,
                                                    JdCpuRawMode    mode,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    int             stride,
                                                    int             padding,
                                                    int             dilation,
                                                    JdTensor       *dst,
                                                    GError        **error);
JdCpuRawDnnl *jd_cpu_raw_dnnl_new_conv_transpose1d (JdBackend      *backend,
                                                    JdCpuRawMode    mode,
                                                    const JdTensor *x,
                                                    const JdTensor *weight,
                                                    const JdTensor *bias,
                                                    int             stride,
                                                    int             padding,
                                                    int             output_padding,
                                                    JdTensor       *dst,
                                                    GError        **error);
/* TRUE when the primitive chose a layout other than the tensors' for x or dst, i.e. when the
 * SEQUENCE mode reorders (and PRIMITIVE_ONLY differs from it). */
gboolean      jd_cpu_raw_dnnl_reorders             (const JdCpuRawDnnl *raw);
/* Executes the mode's sequence once with the backend's thread count and waits for it. */
gboolean      jd_cpu_raw_dnnl_run                  (JdCpuRawDnnl   *raw,
                                                    GError        **error);
void          jd_cpu_raw_dnnl_free                 (JdCpuRawDnnl   *raw);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdCpuRawDnnl, jd_cpu_raw_dnnl_free)

G_END_DECLS
