/* jd-cpu-bench.c — oneDNN's C API used directly, as the benchmark's reference (see the header).
 *
 * Deliberately independent of jd-cpu-dnnl.c: the descriptions are written again here from the
 * op's definition, and nothing of the engine's primitive cache or arena is used, only its
 * oneDNN engine and stream (so both sides run on the same OpenMP setup).
 */
#include "jd-cpu-bench.h"

#include <stdlib.h>
#include <string.h>

#include "jd-cpu-private.h"
#include "jd-op.h"

/* Operands; the blocked ones exist only where the primitive's layout differs from plain. */
enum { SRC, WEIGHTS, DST, BIAS, SCRATCHPAD, N_OPERANDS };

struct _JdCpuRawDnnl {
  JdCpuBackend    *backend;
  JdCpuRawMode     mode;
  dnnl_primitive_t primitive;
  dnnl_memory_t    memory[N_OPERANDS];  /* what the primitive reads and writes */
  dnnl_memory_t    user[DST + 1];       /* the tensors as given, where memory[] is blocked */
  void            *owned[N_OPERANDS];   /* buffers of blocked copies and the scratchpad */
  dnnl_primitive_t src_reorder, dst_reorder;  /* run per call in the SEQUENCE mode */
};

/* What a user would write down for the op: logical dims, plain layouts, parameters. */
typedef struct {
  gboolean           linear, transposed;
  dnnl_memory_desc_t src, weights, bias, dst;
  gboolean           has_bias;
  dnnl_dims_t        strides, dilates, padding_l, padding_r;
} Problem;

static gboolean
check (dnnl_status_t status, const char *what, GError **error)
{
  if (status == dnnl_success)
    return TRUE;
  g_set_error (error, JD_ERROR, JD_ERROR_BACKEND, "raw oneDNN benchmark: %s failed (status %d)",
               what, (int) status);
  return FALSE;
}

static gboolean
plain_md (dnnl_memory_desc_t *md, int ndims, const int64_t *dims, GError **error)
{
  static const dnnl_format_tag_t tags[] = { 0, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd };
  dnnl_dims_t d;
  for (int i = 0; i < ndims; i++)
    d[i] = dims[i];
  return check (dnnl_memory_desc_init_by_tag (md, ndims, d, dnnl_f32, tags[ndims]),
                "describing a tensor", error);
}

static void
free_buffers_and_objects (JdCpuRawDnnl *raw)
{
  for (int i = 0; i < N_OPERANDS; i++)
    {
      if (raw->memory[i] != NULL)
        dnnl_memory_destroy (raw->memory[i]);
      free (raw->owned[i]);
    }
  for (int i = 0; i <= DST; i++)
    if (raw->user[i] != NULL)
      dnnl_memory_destroy (raw->user[i]);
  if (raw->src_reorder != NULL)
    dnnl_primitive_destroy (raw->src_reorder);
  if (raw->dst_reorder != NULL)
    dnnl_primitive_destroy (raw->dst_reorder);
  if (raw->primitive != NULL)
    dnnl_primitive_destroy (raw->primitive);
}

void
jd_cpu_raw_dnnl_free (JdCpuRawDnnl *raw)
{
  if (raw == NULL)
    return;
  free_buffers_and_objects (raw);
  g_free (raw);
}

static gboolean
make_reorder (JdCpuRawDnnl *raw, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
              dnnl_primitive_t *reorder, GError **error)
{
  dnnl_engine_t engine = raw->backend->dnnl_engine;
  dnnl_primitive_desc_t pd = NULL;
  if (!check (dnnl_reorder_primitive_desc_create (&pd, from, engine, to, engine, NULL),
              "describing a reorder", error))
    return FALSE;
  dnnl_status_t status = dnnl_primitive_create (reorder, pd);
  dnnl_primitive_desc_destroy (pd);
  return check (status, "creating a reorder", error);
}

static gboolean
run_reorder (JdCpuRawDnnl *raw, dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to,
             GError **error)
{
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };
  return check (dnnl_primitive_execute (reorder, raw->backend->dnnl_stream, 2, args),
                "a reorder", error);
}

/* Memory for operand i in the primitive's layout `chosen`, on `data` when that is the plain
 * layout, else on a buffer of its own plus a memory object on `data`; returns through
 * *reorder (when not NULL) the reorder plain → chosen (dst: chosen → plain). */
static gboolean
prepare_operand (JdCpuRawDnnl *raw, int i, const dnnl_memory_desc_t *plain,
                 const dnnl_memory_desc_t *chosen, void *data, dnnl_primitive_t *reorder,
                 GError **error)
{
  dnnl_engine_t engine = raw->backend->dnnl_engine;
  if (dnnl_memory_desc_equal (plain, chosen))
    return check (dnnl_memory_create (&raw->memory[i], plain, engine, data),
                  "creating a memory object", error);
  if (posix_memalign (&raw->owned[i], 64, dnnl_memory_desc_get_size (chosen)) != 0)
    {
      raw->owned[i] = NULL;
      g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                   "raw oneDNN benchmark: out of memory for a reordered operand");
      return FALSE;
    }
  return check (dnnl_memory_create (&raw->memory[i], chosen, engine, raw->owned[i]),
                "creating a memory object", error)
    && check (dnnl_memory_create (&raw->user[i], plain, engine, data),
              "creating a memory object", error)
    && make_reorder (raw, i == DST ? chosen : plain, i == DST ? plain : chosen, reorder, error);
}

static JdCpuRawDnnl *
raw_new (JdBackend *backend, JdCpuRawMode mode, Problem *p, const JdTensor *x,
         const JdTensor *weight, const JdTensor *bias, JdTensor *dst, GError **error)
{
  if (!jd_backend_is_cpu (backend))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "the raw oneDNN benchmark runs only on the CPU backend");
      return NULL;
    }
  g_autoptr (JdCpuRawDnnl) raw = g_new0 (JdCpuRawDnnl, 1);
  raw->backend = (JdCpuBackend *) backend;
  raw->mode = mode;
  jd_thread_pool_enter (raw->backend->pool);

  /* Convolutions let oneDNN choose the layouts unless plain ones are asked for. */
  dnnl_memory_desc_t src = p->src, weights = p->weights, out = p->dst;
  if (!p->linear && mode != JD_CPU_RAW_PLAIN)
    for (int i = 0; i < 3; i++)
      {
        dnnl_memory_desc_t *md = i == 0 ? &src : i == 1 ? &weights : &out;
        if (!check (dnnl_memory_desc_init_by_tag (md, md->ndims, md->dims, dnnl_f32,
                                                  dnnl_format_tag_any),
                    "describing an operand", error))
          return NULL;
      }
  union {
    dnnl_matmul_desc_t        matmul;
    dnnl_convolution_desc_t   conv;
    dnnl_deconvolution_desc_t deconv;
  } desc;
  const dnnl_memory_desc_t *bias_md = p->has_bias ? &p->bias : NULL;
  dnnl_status_t status;
  if (p->linear)
    status = dnnl_matmul_desc_init (&desc.matmul, &src, &weights, bias_md, &out);
  else if (p->transposed)
    status = dnnl_dilated_deconvolution_forward_desc_init (
      &desc.deconv, dnnl_forward_inference, dnnl_deconvolution_direct, &src, &weights, bias_md,
      &out, p->strides, p->dilates, p->padding_l, p->padding_r);
  else
    status = dnnl_dilated_convolution_forward_desc_init (
      &desc.conv, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights, bias_md,
      &out, p->strides, p->dilates, p->padding_l, p->padding_r);
  if (!check (status, "describing the op", error))
    return NULL;

  /* A user scratchpad allocated once: no allocation inside the timed calls. */
  dnnl_primitive_attr_t attr = NULL;
  if (!check (dnnl_primitive_attr_create (&attr), "creating attributes", error))
    return NULL;
  status = dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
  dnnl_primitive_desc_t pd = NULL;
  if (status == dnnl_success)
    status = dnnl_primitive_desc_create (&pd, &desc, attr, raw->backend->dnnl_engine, NULL);
  dnnl_primitive_attr_destroy (attr);
  if (!check (status, "creating the primitive descriptor", error))
    return NULL;

  dnnl_primitive_t weight_reorder = NULL;
  const dnnl_memory_desc_t *scratchpad = dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0);
  size_t scratchpad_size = scratchpad ? dnnl_memory_desc_get_size (scratchpad) : 0;
  /* oneDNN never writes x, the weight or the bias; its API just has no const handles. */
  gboolean ok = check (dnnl_primitive_create (&raw->primitive, pd), "creating the primitive",
                       error)
    && prepare_operand (raw, SRC, &p->src, dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0),
                        x->data, &raw->src_reorder, error)
    && prepare_operand (raw, WEIGHTS, &p->weights,
                        dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0),
                        weight->data, &weight_reorder, error)
    && prepare_operand (raw, DST, &p->dst, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0),
                        dst->data, &raw->dst_reorder, error)
    && (bias == NULL
        || check (dnnl_memory_create (&raw->memory[BIAS], &p->bias, raw->backend->dnnl_engine,
                                      bias->data), "creating a memory object", error));
  if (ok && scratchpad_size > 0)
    {
      if (posix_memalign (&raw->owned[SCRATCHPAD], 64, scratchpad_size) != 0)
        {
          raw->owned[SCRATCHPAD] = NULL;
          g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                       "raw oneDNN benchmark: out of memory for a scratchpad");
          ok = FALSE;
        }
      else
        ok = check (dnnl_memory_create (&raw->memory[SCRATCHPAD], scratchpad,
                                        raw->backend->dnnl_engine, raw->owned[SCRATCHPAD]),
                    "creating a memory object", error);
    }
  dnnl_primitive_desc_destroy (pd);

  /* Once, outside any timing: the (constant) weight, and for the primitive-only mode x too,
   * into the primitive's layouts. */
  if (ok && weight_reorder != NULL)
    ok = run_reorder (raw, weight_reorder, raw->user[WEIGHTS], raw->memory[WEIGHTS], error);
  if (weight_reorder != NULL)
    dnnl_primitive_destroy (weight_reorder);
  if (ok && raw->src_reorder != NULL)
    ok = run_reorder (raw, raw->src_reorder, raw->user[SRC], raw->memory[SRC], error);
  if (ok)
    ok = check (dnnl_stream_wait (raw->backend->dnnl_stream), "waiting", error);
  /* One full run: pages touched, dst written with real data. */
  if (ok)
    ok = jd_cpu_raw_dnnl_run (raw, error);
  return ok ? g_steal_pointer (&raw) : NULL;
}

gboolean
jd_cpu_raw_dnnl_reorders (const JdCpuRawDnnl *raw)
{
  return raw->src_reorder != NULL || raw->dst_reorder != NULL;
}

gboolean
jd_cpu_raw_dnnl_run (JdCpuRawDnnl *raw,
                     GError      **error)
{
  static const int arg_ids[N_OPERANDS] = {
    [SRC] = DNNL_ARG_SRC, [WEIGHTS] = DNNL_ARG_WEIGHTS, [DST] = DNNL_ARG_DST,
    [BIAS] = DNNL_ARG_BIAS, [SCRATCHPAD] = DNNL_ARG_SCRATCHPAD,
  };
  /* The thread count the backend would set; omp_set_num_threads is a store, not work. */
  jd_thread_pool_enter (raw->backend->pool);
  gboolean sequence = raw->mode == JD_CPU_RAW_SEQUENCE;
  dnnl_exec_arg_t args[N_OPERANDS];
  int n_args = 0;
  for (int i = 0; i < N_OPERANDS; i++)
    if (raw->memory[i] != NULL)
      args[n_args++] = (dnnl_exec_arg_t) { arg_ids[i], raw->memory[i] };
  /* The stream is in order: no waits between the steps. */
  return (!sequence || raw->src_reorder == NULL
          || run_reorder (raw, raw->src_reorder, raw->user[SRC], raw->memory[SRC], error))
    && check (dnnl_primitive_execute (raw->primitive, raw->backend->dnnl_stream, n_args, args),
              "executing the primitive", error)
    && (!sequence || raw->dst_reorder == NULL
        || run_reorder (raw, raw->dst_reorder, raw->memory[DST], raw->user[DST], error))
    && check (dnnl_stream_wait (raw->backend->dnnl_stream), "waiting", error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_linear (JdBackend      *backend,
                            JdCpuRawMode    mode,
                            const JdTensor *x,
                            const JdTensor *weight,
                            const JdTensor *bias,
                            JdTensor       *dst,
                            GError        **error)
{
  /* x as (M, K) times the transpose of the (N, K) weight, read in place with strides {1, K}. */
  Problem p = { .linear = TRUE, .has_bias = bias != NULL };
  int64_t n = weight->shape[0], k = weight->shape[1], m = jd_tensor_numel (x) / k;
  dnnl_dims_t wdims = { k, n }, wstrides = { 1, k };
  if (!plain_md (&p.src, 2, (int64_t[]) { m, k }, error)
      || !check (dnnl_memory_desc_init_by_strides (&p.weights, 2, wdims, dnnl_f32, wstrides),
                 "describing the weight", error)
      || !plain_md (&p.dst, 2, (int64_t[]) { m, n }, error)
      || (bias != NULL && !plain_md (&p.bias, 2, (int64_t[]) { 1, n }, error)))
    return NULL;
  return raw_new (backend, mode, &p, x, weight, bias, dst, error);
}

/* A convolution of rank ndims (3 or 4) with the same stride, dilation and padding on every
 * spatial axis unless given per axis. */
static JdCpuRawDnnl *
conv_new (JdBackend *backend, JdCpuRawMode mode, Problem *p, int ndims, const int64_t *xdims,
          const int64_t *wdims, const int64_t *ddims, const JdTensor *x, const JdTensor *weight,
          const JdTensor *bias, JdTensor *dst, GError **error)
{
  p->has_bias = bias != NULL;
  if (!plain_md (&p->src, ndims, xdims, error) || !plain_md (&p->dst, ndims, ddims, error)
      || (bias != NULL && !plain_md (&p->bias, 1, &ddims[1], error)))
    return NULL;
  if (p->transposed)
    {
      /* PyTorch's (Cin, Cout, k) is oneDNN's logical (OC, IC, KW) stored as "bac". */
      dnnl_dims_t d = { wdims[0], wdims[1], wdims[2] };
      if (!check (dnnl_memory_desc_init_by_tag (&p->weights, 3, d, dnnl_f32, dnnl_bac),
                  "describing the weight", error))
        return NULL;
    }
  else if (!plain_md (&p->weights, ndims, wdims, error))
    return NULL;
  return raw_new (backend, mode, p, x, weight, bias, dst, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv2d (JdBackend      *backend,
                            JdCpuRawMode    mode,
                            const JdTensor *x,
                            const JdTensor *weight,
                            const JdTensor *bias,
                            int             stride,
                            int             padding,
                            JdTensor       *dst,
                            GError        **error)
{
  Problem p = { .strides = { stride, stride }, .padding_l = { padding, padding },
                .padding_r = { padding, padding } };
  return conv_new (backend, mode, &p, 4, x->shape, weight->shape, dst->shape, x, weight, bias,
                   dst, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv_temporal (JdBackend      *backend,
                                   JdCpuRawMode    mode,
                                   const JdTensor *x,
                                   const JdTensor *weight,
                                   const JdTensor *bias,
                                   JdTensor       *dst,
                                   GError        **error)
{
  /* The (kt, 1, 1) kernel over (N, C, T, H, W) is a (kt, 1) kernel over (N, C, T, H·W): the
   * same bytes, and oneDNN's 2-D kernels are its most tuned, so a user would write this. */
  int64_t kt = weight->shape[2];
  Problem p = { .strides = { 1, 1 }, .padding_l = { kt / 2, 0 }, .padding_r = { kt / 2, 0 } };
  const int64_t xdims[4] = { x->shape[0], x->shape[1], x->shape[2], x->shape[3] * x->shape[4] };
  const int64_t wdims[4] = { weight->shape[0], weight->shape[1], kt, 1 };
  const int64_t ddims[4] = { dst->shape[0], dst->shape[1], dst->shape[2],
                             dst->shape[3] * dst->shape[4] };
  return conv_new (backend, mode, &p, 4, xdims, wdims, ddims, x, weight, bias, dst, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv1d (JdBackend      *backend,
                            JdCpuRawMode    mode,
                            const JdTensor *x,
                            const JdTensor *weight,
                            const JdTensor *bias,
                            int             stride,
                            int             padding,
                            int             dilation,
                            JdTensor       *dst,
                            GError        **error)
{
  Problem p = { .strides = { stride }, .dilates = { dilation - 1 }, .padding_l = { padding },
                .padding_r = { padding } };
  return conv_new (backend, mode, &p, 3, x->shape, weight->shape, dst->shape, x, weight, bias,
                   dst, error);
}

JdCpuRawDnnl *
jd_cpu_raw_dnnl_new_conv_transpose1d (JdBackend      *backend,
                                      JdCpuRawMode    mode,
                                      const JdTensor *x,
                                      const JdTensor *weight,
                                      const JdTensor *bias,
                                      int             stride,
                                      int             padding,
                                      int             output_padding,
                                      JdTensor       *dst,
                                      GError        **error)
{
  /* output_padding extends the output on the right: less right padding. */
  Problem p = { .transposed = TRUE, .strides = { stride }, .padding_l = { padding },
                .padding_r = { padding - output_padding } };
  const int64_t wdims[3] = { weight->shape[1], weight->shape[0], weight->shape[2] };
  return conv_new (backend, mode, &p, 3, x->shape, wdims, dst->shape, x, weight, bias, dst,
                   error);
}
