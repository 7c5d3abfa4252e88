/* jd-cpu-dnnl.c — linear layers and convolutions on the CPU through oneDNN.
 *
 * Every tensor stays in PyTorch's plain layout and is handed to oneDNN in place; nothing is
 * copied or reordered on our side:
 *   linear            matmul of x viewed as (M, K) with the weight (N, K) described as a
 *                     (K, N) matrix of strides {1, K}, i.e. its transpose, read where it lies;
 *   conv2d            2-D convolution, nchw / oihw;
 *   conv_temporal     2-D convolution of x viewed as (N, Cin, T, H·W) with a (kt, 1) kernel.
 *                     The bytes of NCDHW with a (kt, 1, 1) kernel are exactly those of this
 *                     NCHW problem, and oneDNN's 2-D paths are its most tuned, so there is
 *                     no reason to go through a 3-D primitive;
 *   conv1d            1-D convolution, ncw / oiw, dilation;
 *   conv_transpose1d  1-D deconvolution; PyTorch's (Cin, Cout, k) weight is oneDNN's (OC, IC,
 *                     KW) weight in the permuted order "bac" (oneDNN's iow), output_padding
 *                     becomes a smaller right padding.
 *
 * Building a primitive costs far more than a small op, so primitives are cached by (op,
 * shapes, parameters, bias present, thread count) — never by data pointers, which change from
 * call to call — together with their memory objects and scratchpad, so a repeated call only
 * re-points the memory objects and executes. The thread count is in the key because oneDNN
 * fixes its work split when it builds a primitive.
 *
 * Thread safety: the cache belongs to one JdCpuBackend and is neither locked nor shared; a
 * backend is used from one thread at a time (jd-backend.h), which is what makes this safe.
 */
#include "jd-cpu-dnnl-private.h"

#include <string.h>

#include "jd-op.h"

enum { ARG_SRC, ARG_WEIGHTS, ARG_BIAS, ARG_DST, ARG_SCRATCHPAD, N_ARGS };

struct _JdCpuDnnlPrimitive {
  dnnl_primitive_t primitive;
  dnnl_memory_t    memory[N_ARGS];  /* NULL where the op has no such argument */
};

struct _JdCpuDnnlCache {
  GHashTable *primitives;  /* key string -> JdCpuDnnlPrimitive */
};

void
jd_cpu_dnnl_primitive_free (JdCpuDnnlPrimitive *primitive)
{
  if (primitive == NULL)
    return;
  for (int i = 0; i < N_ARGS; i++)
    if (primitive->memory[i] != NULL)
      dnnl_memory_destroy (primitive->memory[i]);
  if (primitive->primitive != NULL)
    dnnl_primitive_destroy (primitive->primitive);
  g_free (primitive);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdCpuDnnlPrimitive, jd_cpu_dnnl_primitive_free)

JdCpuDnnlCache *
jd_cpu_dnnl_cache_new (void)
{
  JdCpuDnnlCache *cache = g_new0 (JdCpuDnnlCache, 1);
  cache->primitives = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) jd_cpu_dnnl_primitive_free);
  return cache;
}

void
jd_cpu_dnnl_cache_free (JdCpuDnnlCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_destroy (cache->primitives);
  g_free (cache);
}

/* The descriptors of one op, filled per kind, then turned into a primitive. */
typedef struct {
  dnnl_memory_desc_t src, weights, bias, dst;
  gboolean           has_bias;
  int                spatial;  /* convolution: 1 or 2 spatial dims; 0 for matmul */
  gboolean           transposed;
  dnnl_dims_t        strides, dilates, padding_l, padding_r;
} DnnlProblem;

static gboolean
init_plain (dnnl_memory_desc_t *md,
            int                 ndims,
            const int64_t      *dims,
            GError            **error)
{
  static const dnnl_format_tag_t plain_tags[] = { 0, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd };
  dnnl_dims_t d;
  for (int i = 0; i < ndims; i++)
    d[i] = dims[i];
  return jd_cpu_dnnl_check (dnnl_memory_desc_init_by_tag (md, ndims, d, dnnl_f32,
                                                          plain_tags[ndims]),
                            "describing a plain tensor", error);
}

static gboolean
describe_linear (const JdOp  *op,
                 DnnlProblem *p,
                 GError     **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1];
  int64_t k = w->shape[1], n = w->shape[0];
  int64_t m = jd_tensor_numel (x) / k;
  /* The weight (N, K) read as its transpose (K, N): element (k, n) at n·K + k. */
  dnnl_dims_t wdims = { k, n }, wstrides = { 1, k };
  if (!init_plain (&p->src, 2, (int64_t[]) { m, k }, error)
      || !jd_cpu_dnnl_check (dnnl_memory_desc_init_by_strides (&p->weights, 2, wdims, dnnl_f32,
                                                               wstrides),
                             "describing the linear weight", error)
      || !init_plain (&p->dst, 2, (int64_t[]) { m, n }, error))
    return FALSE;
  /* matmul wants the bias with the dst's rank, broadcast over rows. */
  if (p->has_bias && !init_plain (&p->bias, 2, (int64_t[]) { 1, n }, error))
    return FALSE;
  return TRUE;
}

static gboolean
describe_conv (const JdOp  *op,
               DnnlProblem *p,
               GError     **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1], *dst = op->dst;
  const JdConvParams *conv = &op->params.conv;
  int64_t xdims[4], wdims[4], ddims[4];
  int ndims;

  switch (op->kind)
    {
    case JD_OP_CONV2D:
      ndims = 4;
      memcpy (xdims, x->shape, sizeof xdims);
      memcpy (wdims, w->shape, sizeof wdims);
      memcpy (ddims, dst->shape, sizeof ddims);
      for (int i = 0; i < 2; i++)
        {
          p->strides[i] = conv->stride[i];
          p->dilates[i] = conv->dilation[i] - 1;  /* oneDNN counts the gaps */
          p->padding_l[i] = p->padding_r[i] = conv->padding[i];
        }
      break;
    case JD_OP_CONV_TEMPORAL:
      /* (N, C, T, H, W) as (N, C, T, H·W); (Cout, Cin, kt, 1, 1) as (Cout, Cin, kt, 1). */
      ndims = 4;
      xdims[0] = x->shape[0], xdims[1] = x->shape[1], xdims[2] = x->shape[2];
      xdims[3] = x->shape[3] * x->shape[4];
      wdims[0] = w->shape[0], wdims[1] = w->shape[1], wdims[2] = w->shape[2], wdims[3] = 1;
      ddims[0] = dst->shape[0], ddims[1] = dst->shape[1], ddims[2] = dst->shape[2];
      ddims[3] = dst->shape[3] * dst->shape[4];
      p->strides[0] = p->strides[1] = 1;
      p->dilates[0] = p->dilates[1] = 0;
      p->padding_l[0] = p->padding_r[0] = conv->padding[0];
      p->padding_l[1] = p->padding_r[1] = 0;
      break;
    case JD_OP_CONV1D:
    case JD_OP_CONV_TRANSPOSE1D:
      ndims = 3;
      memcpy (xdims, x->shape, 3 * sizeof (int64_t));
      memcpy (ddims, dst->shape, 3 * sizeof (int64_t));
      p->strides[0] = conv->stride[0];
      p->dilates[0] = conv->dilation[0] - 1;
      p->padding_l[0] = p->padding_r[0] = conv->padding[0];
      if (op->kind == JD_OP_CONV1D)
        memcpy (wdims, w->shape, 3 * sizeof (int64_t));
      else
        {
          /* oneDNN's logical weight is (OC, IC, KW); ours is stored (IC, OC, KW). */
          wdims[0] = w->shape[1], wdims[1] = w->shape[0], wdims[2] = w->shape[2];
          p->padding_r[0] -= conv->output_padding;
          p->transposed = TRUE;
        }
      break;
    default:
      g_assert_not_reached ();
    }
  p->spatial = ndims - 2;

  if (!init_plain (&p->src, ndims, xdims, error) || !init_plain (&p->dst, ndims, ddims, error))
    return FALSE;
  if (p->transposed)
    {
      dnnl_dims_t d = { wdims[0], wdims[1], wdims[2] };
      if (!jd_cpu_dnnl_check (dnnl_memory_desc_init_by_tag (&p->weights, 3, d, dnnl_f32,
                                                            dnnl_bac),
                              "describing the transposed-convolution weight", error))
        return FALSE;
    }
  else if (!init_plain (&p->weights, ndims, wdims, error))
    return FALSE;
  if (p->has_bias && !init_plain (&p->bias, 1, (int64_t[]) { ddims[1] }, error))
    return FALSE;
  return TRUE;
}

static gboolean
create_memory (JdCpuBackend       *self,
               JdCpuDnnlPrimitive *primitive,
               int                 arg,
               const dnnl_memory_desc_t *md,
               void               *handle,
               GError            **error)
{
  return jd_cpu_dnnl_check (dnnl_memory_create (&primitive->memory[arg], md, self->dnnl_engine,
                                                handle),
                            "creating a memory object", error);
}

JdCpuDnnlPrimitive *
jd_cpu_dnnl_primitive_new (JdCpuBackend *self,
                           const JdOp   *op,
                           GError      **error)
{
  DnnlProblem p = { 0 };
  p.has_bias = op->src[2] != NULL;
  const char *name = jd_op_kind_name (op->kind);

  if (op->kind == JD_OP_LINEAR ? !describe_linear (op, &p, error) : !describe_conv (op, &p, error))
    return NULL;

  /* One descriptor union for whichever kind, so the rest is shared. */
  union {
    dnnl_matmul_desc_t        matmul;
    dnnl_convolution_desc_t   conv;
    dnnl_deconvolution_desc_t deconv;
  } desc;
  const dnnl_memory_desc_t *bias = p.has_bias ? &p.bias : NULL;
  dnnl_status_t status;
  if (op->kind == JD_OP_LINEAR)
    status = dnnl_matmul_desc_init (&desc.matmul, &p.src, &p.weights, bias, &p.dst);
  else if (p.transposed)
    status = dnnl_dilated_deconvolution_forward_desc_init (
      &desc.deconv, dnnl_forward_inference, dnnl_deconvolution_direct, &p.src, &p.weights, bias,
      &p.dst, p.strides, p.dilates, p.padding_l, p.padding_r);
  else
    status = dnnl_dilated_convolution_forward_desc_init (
      &desc.conv, dnnl_forward_inference, dnnl_convolution_direct, &p.src, &p.weights, bias,
      &p.dst, p.strides, p.dilates, p.padding_l, p.padding_r);
  if (status != dnnl_success)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_BACKEND,
                   "%s: oneDNN refused the op's description (status %d)", name, (int) status);
      return NULL;
    }

  /* Our own scratchpad per cached primitive: no allocation inside a call. */
  dnnl_primitive_attr_t attr = NULL;
  if (!jd_cpu_dnnl_check (dnnl_primitive_attr_create (&attr), "creating attributes", error))
    return NULL;
  status = dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
  dnnl_primitive_desc_t pd = NULL;
  if (status == dnnl_success)
    status = dnnl_primitive_desc_create (&pd, &desc, attr, self->dnnl_engine, NULL);
  dnnl_primitive_attr_destroy (attr);
  if (status != dnnl_success)
    {
      g_set_error (error, JD_ERROR, status == dnnl_out_of_memory ? JD_ERROR_OUT_OF_MEMORY
                                                                 : JD_ERROR_UNSUPPORTED,
                   "%s: oneDNN has no implementation for this shape (status %d)", name,
                   (int) status);
      return NULL;
    }

  g_autoptr (JdCpuDnnlPrimitive) primitive = g_new0 (JdCpuDnnlPrimitive, 1);
  status = dnnl_primitive_create (&primitive->primitive, pd);
  const dnnl_memory_desc_t *scratchpad_md
    = dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0);
  gboolean ok = jd_cpu_dnnl_check (status, "creating a primitive", error)
    && create_memory (self, primitive, ARG_SRC, &p.src, DNNL_MEMORY_NONE, error)
    && create_memory (self, primitive, ARG_WEIGHTS, &p.weights, DNNL_MEMORY_NONE, error)
    && create_memory (self, primitive, ARG_DST, &p.dst, DNNL_MEMORY_NONE, error)
    && (!p.has_bias || create_memory (self, primitive, ARG_BIAS, &p.bias, DNNL_MEMORY_NONE, error))
    && (scratchpad_md == NULL || dnnl_memory_desc_get_size (scratchpad_md) == 0
        || create_memory (self, primitive, ARG_SCRATCHPAD, scratchpad_md, DNNL_MEMORY_ALLOCATE,
                          error));
  dnnl_primitive_desc_destroy (pd);
  return ok ? g_steal_pointer (&primitive) : NULL;
}

gboolean
jd_cpu_dnnl_primitive_bind (JdCpuDnnlPrimitive *primitive,
                            const JdOp         *op,
                            GError            **error)
{
  /* oneDNN never writes src, weights or bias; its API simply has no const handles. */
  void *handles[ARG_DST + 1] = {
    [ARG_SRC] = op->src[0]->data,
    [ARG_WEIGHTS] = op->src[1]->data,
    [ARG_BIAS] = op->src[2] ? op->src[2]->data : NULL,
    [ARG_DST] = op->dst->data,
  };
  for (int i = 0; i <= ARG_DST; i++)
    if (primitive->memory[i] != NULL
        && !jd_cpu_dnnl_check (dnnl_memory_set_data_handle (primitive->memory[i], handles[i]),
                               "pointing a memory object at a tensor", error))
      return FALSE;
  return TRUE;
}

gboolean
jd_cpu_dnnl_primitive_execute (JdCpuBackend       *self,
                               JdCpuDnnlPrimitive *primitive,
                               GError            **error)
{
  static const int arg_ids[N_ARGS] = {
    [ARG_SRC] = DNNL_ARG_SRC,
    [ARG_WEIGHTS] = DNNL_ARG_WEIGHTS,
    [ARG_BIAS] = DNNL_ARG_BIAS,
    [ARG_DST] = DNNL_ARG_DST,
    [ARG_SCRATCHPAD] = DNNL_ARG_SCRATCHPAD,
  };
  dnnl_exec_arg_t args[N_ARGS];
  int n_args = 0;
  for (int i = 0; i < N_ARGS; i++)
    if (primitive->memory[i] != NULL)
      args[n_args++] = (dnnl_exec_arg_t) { arg_ids[i], primitive->memory[i] };
  return jd_cpu_dnnl_check (dnnl_primitive_execute (primitive->primitive, self->dnnl_stream,
                                                    n_args, args),
                            "executing a primitive", error)
    && jd_cpu_dnnl_check (dnnl_stream_wait (self->dnnl_stream), "waiting for a primitive",
                          error);
}

/* Everything that makes two ops need different primitives, and nothing else. */
static char *
cache_key (JdCpuBackend *self,
           const JdOp   *op)
{
  GString *key = g_string_sized_new (128);
  g_string_append_printf (key, "%d t%d", (int) op->kind,
                          jd_thread_pool_get_n_threads (self->pool));
  const JdTensor *tensors[] = { op->src[0], op->src[1], op->dst };
  for (gsize i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      g_string_append_c (key, '|');
      for (int d = 0; d < tensors[i]->ndim; d++)
        g_string_append_printf (key, "%" G_GINT64_FORMAT ",", tensors[i]->shape[d]);
    }
  g_string_append (key, op->src[2] ? "|bias" : "|nobias");
  if (op->kind != JD_OP_LINEAR)
    {
      const JdConvParams *c = &op->params.conv;
      for (int i = 0; i < 3; i++)
        g_string_append_printf (key, "|s%d p%d d%d", c->stride[i], c->padding[i],
                                c->dilation[i]);
      g_string_append_printf (key, "|op%d", c->output_padding);
    }
  return g_string_free (key, FALSE);
}

static gboolean
run_cached (JdCpuBackend *self,
            const JdOp   *op,
            GError      **error)
{
  if (jd_tensor_numel (op->dst) == 0)
    return TRUE;  /* nothing to write; oneDNN would refuse the empty shapes */
  g_autofree char *key = cache_key (self, op);
  JdCpuDnnlPrimitive *primitive = g_hash_table_lookup (self->dnnl_cache->primitives, key);
  if (primitive == NULL)
    {
      primitive = jd_cpu_dnnl_primitive_new (self, op, error);
      if (primitive == NULL)
        return FALSE;
      g_hash_table_insert (self->dnnl_cache->primitives, g_steal_pointer (&key), primitive);
    }
  return jd_cpu_dnnl_primitive_bind (primitive, op, error)
    && jd_cpu_dnnl_primitive_execute (self, primitive, error);
}

gboolean
jd_cpu_run_linear (JdCpuBackend *self,
                   const JdOp   *op,
                   GError      **error)
{
  return run_cached (self, op, error);
}

gboolean
jd_cpu_run_conv2d (JdCpuBackend *self,
                   const JdOp   *op,
                   GError      **error)
{
  return run_cached (self, op, error);
}

gboolean
jd_cpu_run_conv_temporal (JdCpuBackend *self,
                          const JdOp   *op,
                          GError      **error)
{
  return run_cached (self, op, error);
}

gboolean
jd_cpu_run_conv1d (JdCpuBackend *self,
                   const JdOp   *op,
                   GError      **error)
{
  return run_cached (self, op, error);
}

gboolean
jd_cpu_run_conv_transpose1d (JdCpuBackend *self,
                             const JdOp   *op,
                             GError      **error)
{
  return run_cached (self, op, error);
}
