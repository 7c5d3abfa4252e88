#include "jd-cpu-bench.h"

#include "jd-cpu-dnnl-private.h"

struct _JdCpuRawDnnl {
  JdCpuBackend       *backend;
  JdCpuDnnlPrimitive *primitive;
  JdCpuDnnlArena     *arena;      /* its own, so the engine's calls cannot disturb it */
};

/* The op is described exactly as the front ends of jd-ops-conv.c describe it. */
static JdCpuRawDnnl *
raw_new (JdBackend *backend,
         gboolean   plain_layouts,
         JdOp      *op,
         GError   **error)
{
  if (!jd_backend_is_cpu (backend))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "%s: the raw oneDNN benchmark runs only on the CPU backend",
                   jd_op_kind_name (op->kind));
      return NULL;
    }
  op->n_src = 3;
  for (int i = 0; i < 3; i++)
    {
      if (op->params.conv.stride[i] == 0)
        op->params.conv.stride[i] = 1;
      if (op->params.conv.dilation[i] == 0)
        op->params.conv.dilation[i] = 1;
    }
  JdCpuBackend *self = (JdCpuBackend *) backend;
  jd_thread_pool_enter (self->pool);
  g_autoptr (JdCpuRawDnnl) raw = g_new0 (JdCpuRawDnnl, 1);
  raw->backend = self;
  raw->arena = jd_cpu_dnnl_arena_new ();
  raw->primitive = jd_cpu_dnnl_primitive_new_with_layouts (self, op, plain_layouts, error);
  /* One full run fills the primitive's own-layout copies with the op's real data. */
  if (raw->primitive == NULL || !jd_cpu_dnnl_primitive_bind (raw->primitive, raw->arena, op, error)
      || !jd_cpu_dnnl_primitive_execute (self, raw->primitive, error))
    return NULL;
  return g_steal_pointer (&raw);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_linear (JdBackend      *backend,
                            gboolean        plain_layouts,
                            const JdTensor *x,
                            const JdTensor *weight,
                            const JdTensor *bias,
                            JdTensor       *dst,
                            GError        **error)
{
  JdOp op = { .kind = JD_OP_LINEAR, .src = { x, weight, bias }, .dst = dst };
  return raw_new (backend, plain_layouts, &op, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv2d (JdBackend      *backend,
                            gboolean        plain_layouts,
                            const JdTensor *x,
                            const JdTensor *weight,
                            const JdTensor *bias,
                            int             stride,
                            int             padding,
                            JdTensor       *dst,
                            GError        **error)
{
  JdOp op = { .kind = JD_OP_CONV2D, .src = { x, weight, bias }, .dst = dst };
  op.params.conv = (JdConvParams) { .stride = { stride, stride }, .padding = { padding, padding } };
  return raw_new (backend, plain_layouts, &op, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv_temporal (JdBackend      *backend,
                                   gboolean        plain_layouts,
                                   const JdTensor *x,
                                   const JdTensor *weight,
                                   const JdTensor *bias,
                                   JdTensor       *dst,
                                   GError        **error)
{
  JdOp op = { .kind = JD_OP_CONV_TEMPORAL, .src = { x, weight, bias }, .dst = dst };
  op.params.conv.padding[0] = (int) (weight->shape[2] / 2);
  return raw_new (backend, plain_layouts, &op, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv1d (JdBackend      *backend,
                            gboolean        plain_layouts,
                            const JdTensor *x,
                            const JdTensor *weight,
                            const JdTensor *bias,
                            int             stride,
                            int             padding,
                            int             dilation,
                            JdTensor       *dst,
                            GError        **error)
{
  JdOp op = { .kind = JD_OP_CONV1D, .src = { x, weight, bias }, .dst = dst };
  op.params.conv = (JdConvParams) { .stride = { stride }, .padding = { padding },
                                    .dilation = { dilation } };
  return raw_new (backend, plain_layouts, &op, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv_transpose1d (JdBackend      *backend,
                                      gboolean        plain_layouts,
                                      const JdTensor *x,
                                      const JdTensor *weight,
                                      const JdTensor *bias,
                                      int             stride,
                                      int             padding,
                                      int             output_padding,
                                      JdTensor       *dst,
                                      GError        **error)
{
  JdOp op = { .kind = JD_OP_CONV_TRANSPOSE1D, .src = { x, weight, bias }, .dst = dst };
  op.params.conv = (JdConvParams) { .stride = { stride }, .padding = { padding },
                                    .output_padding = output_padding };
  return raw_new (backend, plain_layouts, &op, error);
}

gboolean
jd_cpu_raw_dnnl_run (JdCpuRawDnnl *raw,
                     GError      **error)
{
  /* The same thread count the backend would set; omp_set_num_threads is a store, not work. */
  jd_thread_pool_enter (raw->backend->pool);
  return jd_cpu_dnnl_primitive_execute_core (raw->backend, raw->primitive, error);
}

void
jd_cpu_raw_dnnl_free (JdCpuRawDnnl *raw)
{
  if (raw == NULL)
    return;
  jd_cpu_dnnl_primitive_free (raw->primitive);
  jd_cpu_dnnl_arena_free (raw->arena);
  g_free (raw);
}
