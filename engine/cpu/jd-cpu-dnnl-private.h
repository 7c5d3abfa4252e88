/* jd-cpu-dnnl-private.h — one oneDNN primitive for one op shape, as jd-cpu-dnnl.c caches it,
 * with its reorders and the arena its working copies live in.
 *
 * (The benchmark's "raw oneDNN" figures do not use these: jd-cpu-bench.c calls oneDNN's C API
 * itself, so the engine's wrapping is measured against an independent plain use of oneDNN.)
 */
#pragma once

#include "jd-cpu-private.h"

G_BEGIN_DECLS

typedef struct _JdCpuDnnlPrimitive JdCpuDnnlPrimitive;
/* oneDNN's working memory: the reordered (channel-blocked) copies of a convolution's operands
 * and the primitives' scratchpads, each buffer grown to the largest op bound to it. One per
 * backend; primitives bound to the same arena must run one at a time. */
typedef struct _JdCpuDnnlArena JdCpuDnnlArena;

JdCpuDnnlArena     *jd_cpu_dnnl_arena_new         (void);
void                jd_cpu_dnnl_arena_free        (JdCpuDnnlArena     *arena);

/* Builds the primitive for op (JD_OP_LINEAR, CONV2D, CONV_TEMPORAL, CONV1D or
 * CONV_TRANSPOSE1D), whose tensors give the shapes; the data pointers are not kept. */
JdCpuDnnlPrimitive *jd_cpu_dnnl_primitive_new     (JdCpuBackend       *self,
                                                   const JdOp         *op,
                                                   GError            **error);
void                jd_cpu_dnnl_primitive_free    (JdCpuDnnlPrimitive *primitive);
/* Points the primitive's memory objects at op's tensors, and its reordered copies and
 * scratchpad (if any) at the arena. A constant weight (JdTensor.constant) that needs a
 * reorder is bound to its blocked copy cached on the tensor, made on first use. */
gboolean            jd_cpu_dnnl_primitive_bind    (JdCpuBackend       *self,
                                                   JdCpuDnnlPrimitive *primitive,
                                                   JdCpuDnnlArena     *arena,
                                                   const JdOp         *op,
                                                   GError            **error);
/* Runs the op on the bound tensors: reorders in (the weight's only when it was not bound to a
 * cached copy), the primitive, reorder out; waits for it. */
gboolean            jd_cpu_dnnl_primitive_execute (JdCpuBackend       *self,
                                                   JdCpuDnnlPrimitive *primitive,
                                                   GError            **error);

G_END_DECLS
