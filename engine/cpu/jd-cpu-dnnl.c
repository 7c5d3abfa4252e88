/* jd-cpu-dnnl.c — linear layers and convolutions on the CPU through oneDNN.
 *
 * Tensors are PyTorch-shaped and plain (jd-op.h); oneDNN reads and writes them in place:
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
 * Layouts. For plain nchw tensors oneDNN 2.6 on AVX2 only has its im2col + GEMM convolution;
 * letting it choose the layout ("any") gives its direct JIT kernels on channel-blocked tensors
 * (nChw8c), which measured mostly 1.2× to 2× faster on the development machine *including*
 * reordering x, the weight and the output on every call (docs/PERFORMANCE.md has the runs). So
 * convolutions take oneDNN's choice and reorder around it where that differs from plain; the
 * per-call blocked copies and every primitive's scratchpad live in one arena per backend, grown
 * to the largest op, not one per shape.
 * Linear stays plain: oneDNN's GEMM packs its operands itself.
 *
 * Constant weights (JdTensor.constant, set by the model loader) are reordered once: the
 * blocked copy is kept on the weight tensor itself (JdTensor.backend_cache, freed with the
 * tensor) and the per-call weight reorder is skipped. Weights that are not marked constant
 * are reordered on every call, since their data may change between calls.
 *
 * Building a primitive costs far more than a small op, so primitives are cached by (op,
 * shapes, parameters, bias present, thread count) — never by data pointers, which change from
 * call to call — together with their memory objects and reorders, so a repeated
 * call only re-points memory objects and executes. The thread count is in the key because
 * oneDNN fixes its work split when it builds a primitive.
 *
 * Thread safety: the cache and its arena belong to one JdCpuBackend and are neither locked nor
 * shared; a backend is used from one thread at a time (jd-backend.h), which is what makes
 * this safe.
 */
#include "jd-cpu-dnnl-private.h"

#include <stdlib.h>
#include <string.h>

#include "jd-op.h"

enum { ARG_SRC, ARG_WEIGHTS, ARG_DST, ARG_BIAS, ARG_SCRATCHPAD, N_ARGS };

/* src, weights and dst may each need a reorder between the tensor and oneDNN's layout. */
#define N_REORDERED (ARG_DST + 1)
/* Arena slots: one per reordered argument (same index), then the scratchpad. */
enum { SLOT_SCRATCHPAD = N_REORDERED, N_SLOTS };

struct _JdCpuDnnlPrimitive {
  dnnl_primitive_t primitive;
  dnnl_memory_t    memory[N_ARGS];           /* what the primitive reads and writes */
  /* Where an argument's layout is not plain: the tensor as given, the reorder between it and
   * memory[arg] (tensor -> blocked for src and weights, blocked -> tensor for dst), and the
   * size of the blocked copy. NULL / 0 where the primitive uses the tensor directly. */
  dnnl_memory_t    user[N_REORDERED];
  dnnl_primitive_t reorder[N_REORDERED];
  size_t           blocked_size[N_REORDERED];
  size_t           scratchpad_size;          /* 0: the primitive needs none */
  /* Set by bind when memory[ARG_WEIGHTS] points at a cached blocked copy of a constant weight,
   * so execute skips the weight reorder. */
  gboolean         weights_prebuilt;
};

struct _JdCpuDnnlArena {
  void  *buffer[N_SLOTS];
  size_t size[N_SLOTS];
};

struct _JdCpuDnnlCache {
  GHashTable     *primitives;  /* key string -> JdCpuDnnlPrimitive */
  JdCpuDnnlArena *arena;
};

JdCpuDnnlArena *
jd_cpu_dnnl_arena_new (void)
{
  return g_new0 (JdCpuDnnlArena, 1);
}

void
jd_cpu_dnnl_arena_free (JdCpuDnnlArena *arena)
{
  if (arena == NULL)
    return;
  for (int i = 0; i < N_SLOTS; i++)
    free (arena->buffer[i]);
  g_free (arena);
}

/* Buffer `slot` of at least size bytes, 64-byte aligned as oneDNN prefers. */
static void *
arena_reserve (JdCpuDnnlArena *arena,
               int             slot,
               size_t          size,
               GError        **error)
{
  if (arena->size[slot] >= size)
    return arena->buffer[slot];
  free (arena->buffer[slot]);
  arena->buffer[slot] = NULL;
  arena->size[slot] = 0;
  if (posix_memalign (&arena->buffer[slot], 64, size) != 0)
    {
      arena->buffer[slot] = NULL;
      g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                   "Out of memory: %zu bytes of oneDNN working memory could not be allocated",
                   size);
      return NULL;
    }
  arena->size[slot] = size;
  return arena->buffer[slot];
}

void
jd_cpu_dnnl_primitive_free (JdCpuDnnlPrimitive *primitive)
{
  if (primitive == NULL)
    return;
  for (int i = 0; i < N_ARGS; i++)
    if (primitive->memory[i] != NULL)
      dnnl_memory_destroy (primitive->memory[i]);
  for (int i = 0; i < N_REORDERED; i++)
    {
      if (primitive->user[i] != NULL)
        dnnl_memory_destroy (primitive->user[i]);
      if (primitive->reorder[i] != NULL)
        dnnl_primitive_destroy (primitive->reorder[i]);
    }
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
  cache->arena = jd_cpu_dnnl_arena_new ();
  return cache;
}

void
jd_cpu_dnnl_cache_free (JdCpuDnnlCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_destroy (cache->primitives);
  jd_cpu_dnnl_arena_free (cache->arena);
  g_free (cache);
}

/* The descriptors of one op, filled per kind, then turned into a primitive. */
typedef struct {
  dnnl_memory_desc_t src, weights, bias, dst;
  gboolean           has_bias;
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
create_memory (JdCpuBackend             *self,
               dnnl_memory_t            *memory,
               const dnnl_memory_desc_t *md,
               void                     *handle,
               GError                  **error)
{
  return jd_cpu_dnnl_check (dnnl_memory_create (memory, md, self->dnnl_engine, handle),
                            "creating a memory object", error);
}

/* The same dims in whatever layout oneDNN prefers. */
static gboolean
any_layout (const dnnl_memory_desc_t *plain,
            dnnl_memory_desc_t       *any,
            GError                  **error)
{
  return jd_cpu_dnnl_check (dnnl_memory_desc_init_by_tag (any, plain->ndims, plain->dims,
                                                          dnnl_f32, dnnl_format_tag_any),
                            "describing a convolution operand", error);
}

/* Memory for argument arg in the layout the primitive chose; when that is not the plain
 * layout of the tensor, also a memory object for the tensor and the reorder between them. */
static gboolean
prepare_argument (JdCpuBackend             *self,
                  JdCpuDnnlPrimitive       *primitive,
                  int                       arg,
                  const dnnl_memory_desc_t *plain,
                  const dnnl_memory_desc_t *chosen,
                  GError                  **error)
{
  if (dnnl_memory_desc_equal (plain, chosen))
    return create_memory (self, &primitive->memory[arg], plain, DNNL_MEMORY_NONE, error);

  if (!create_memory (self, &primitive->memory[arg], chosen, DNNL_MEMORY_NONE, error)
      || !create_memory (self, &primitive->user[arg], plain, DNNL_MEMORY_NONE, error))
    return FALSE;
  primitive->blocked_size[arg] = dnnl_memory_desc_get_size (chosen);
  const dnnl_memory_desc_t *from = arg == ARG_DST ? chosen : plain;
  const dnnl_memory_desc_t *to = arg == ARG_DST ? plain : chosen;
  dnnl_primitive_desc_t pd = NULL;
  if (!jd_cpu_dnnl_check (dnnl_reorder_primitive_desc_create (&pd, from, self->dnnl_engine, to,
                                                              self->dnnl_engine, NULL),
                          "describing a reorder", error))
    return FALSE;
  dnnl_status_t status = dnnl_primitive_create (&primitive->reorder[arg], pd);
  dnnl_primitive_desc_destroy (pd);
  return jd_cpu_dnnl_check (status, "creating a reorder", error);
}

JdCpuDnnlPrimitive *
jd_cpu_dnnl_primitive_new (JdCpuBackend *self,
                           const JdOp   *op,
                           GError      **error)
{
  DnnlProblem p = { 0 };
  p.has_bias = op->src[2] != NULL;
  const char *name = jd_op_kind_name (op->kind);
  gboolean is_linear = op->kind == JD_OP_LINEAR;

  if (is_linear ? !describe_linear (op, &p, error) : !describe_conv (op, &p, error))
    return NULL;
  /* Convolutions let oneDNN pick the layouts (see the top of this file). */
  dnnl_memory_desc_t src = p.src, weights = p.weights, dst = p.dst;
  if (!is_linear
      && (!any_layout (&p.src, &src, error) || !any_layout (&p.weights, &weights, error)
          || !any_layout (&p.dst, &dst, error)))
    return NULL;

  /* One descriptor union for whichever kind, so the rest is shared. */
  union {
    dnnl_matmul_desc_t        matmul;
    dnnl_convolution_desc_t   conv;
    dnnl_deconvolution_desc_t deconv;
  } desc;
  const dnnl_memory_desc_t *bias = p.has_bias ? &p.bias : NULL;
  dnnl_status_t status;
  if (is_linear)
    status = dnnl_matmul_desc_init (&desc.matmul, &src, &weights, bias, &dst);
  else if (p.transposed)
    status = dnnl_dilated_deconvolution_forward_desc_init (
      &desc.deconv, dnnl_forward_inference, dnnl_deconvolution_direct, &src, &weights, bias,
      &dst, p.strides, p.dilates, p.padding_l, p.padding_r);
  else
    status = dnnl_dilated_convolution_forward_desc_init (
      &desc.conv, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights, bias, &dst,
      p.strides, p.dilates, p.padding_l, p.padding_r);
  if (status != dnnl_success)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_BACKEND,
                   "%s: oneDNN refused the op's description (status %d)", name, (int) status);
      return NULL;
    }

  /* The scratchpad comes from the arena: no allocation inside a call, and one buffer for all
   * cached primitives (GEMM-based convolutions ask for im2col buffers of tens of MB). */
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
    && prepare_argument (self, primitive, ARG_SRC, &p.src,
                         dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0), error)
    && prepare_argument (self, primitive, ARG_WEIGHTS, &p.weights,
                         dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0), error)
    && prepare_argument (self, primitive, ARG_DST, &p.dst,
                         dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0), error)
    && (!p.has_bias
        || create_memory (self, &primitive->memory[ARG_BIAS], &p.bias, DNNL_MEMORY_NONE, error))
    && (scratchpad_md == NULL || dnnl_memory_desc_get_size (scratchpad_md) == 0
        || create_memory (self, &primitive->memory[ARG_SCRATCHPAD], scratchpad_md,
                          DNNL_MEMORY_NONE, error));
  if (ok && primitive->memory[ARG_SCRATCHPAD] != NULL)
    primitive->scratchpad_size = dnnl_memory_desc_get_size (scratchpad_md);
  dnnl_primitive_desc_destroy (pd);
  return ok ? g_steal_pointer (&primitive) : NULL;
}

static gboolean
set_handle (dnnl_memory_t memory,
            void         *handle,
            GError      **error)
{
  return jd_cpu_dnnl_check (dnnl_memory_set_data_handle (memory, handle),
                            "pointing a memory object at a tensor", error);
}

/* Blocked copies of one constant weight tensor, one per layout some primitive chose for it
 * (the same weight could meet two primitives that block it differently; in the models each
 * weight meets one). Kept in the tensor's backend_cache slot. */
typedef struct {
  dnnl_memory_desc_t md;      /* the blocked layout */
  const void        *source;  /* the tensor data it was reordered from */
  void              *data;    /* dnnl_memory_desc_get_size (&md) bytes, 64-byte aligned */
} BlockedWeight;

typedef struct {
  GArray *copies;             /* BlockedWeight */
} WeightCache;

static void
weight_cache_free (gpointer data)
{
  WeightCache *cache = data;
  for (guint i = 0; i < cache->copies->len; i++)
    free (g_array_index (cache->copies, BlockedWeight, i).data);
  g_array_unref (cache->copies);
  g_free (cache);
}

/* The cache lives on tensors, which several backends (threads) may share, so lookups and
 * fills are serialised; the lock is uncontended in the usual one-backend case. */
static GMutex weight_cache_lock;

/* Points memory[ARG_WEIGHTS] at the blocked copy of the constant weight, making it first
 * (one reorder) when this layout has not been seen. *prebuilt is FALSE, with no error, when
 * the tensor's cache slot holds another backend's data: the caller then reorders per call. */
static gboolean
bind_constant_weight (JdCpuBackend       *self,
                      JdCpuDnnlPrimitive *primitive,
                      const JdTensor     *weight,
                      gboolean           *prebuilt,
                      GError            **error)
{
  *prebuilt = FALSE;
  /* Writing the cache slot of a const tensor: backend_cache is a cache of a form derived from
   * data that never changes (weight->constant), not part of the tensor's value, which stays
   * untouched. */
  JdTensor *owner = (JdTensor *) weight;
  const dnnl_memory_desc_t *md = NULL;
  if (!jd_cpu_dnnl_check (dnnl_memory_get_memory_desc (primitive->memory[ARG_WEIGHTS], &md),
                          "querying the weight layout", error))
    return FALSE;

  g_mutex_lock (&weight_cache_lock);
  gboolean ok = TRUE;
  if (owner->backend_cache == NULL)
    {
      WeightCache *cache = g_new0 (WeightCache, 1);
      cache->copies = g_array_new (FALSE, FALSE, sizeof (BlockedWeight));
      owner->backend_cache = cache;
      owner->backend_cache_free = weight_cache_free;
    }
  if (owner->backend_cache_free != weight_cache_free)
    goto out;  /* someone else's cache: leave it alone */

  WeightCache *cache = owner->backend_cache;
  BlockedWeight *copy = NULL;
  for (guint i = 0; i < cache->copies->len && copy == NULL; i++)
    {
      BlockedWeight *candidate = &g_array_index (cache->copies, BlockedWeight, i);
      if (dnnl_memory_desc_equal (&candidate->md, md))
        copy = candidate;
    }
  if (copy == NULL)
    {
      BlockedWeight fresh = { .md = *md };
      g_array_append_val (cache->copies, fresh);
      copy = &g_array_index (cache->copies, BlockedWeight, cache->copies->len - 1);
    }
  if (copy->data == NULL || copy->source != weight->data)
    {
      /* New layout, or (defensively) the tensor was re-pointed at other memory. */
      size_t size = dnnl_memory_desc_get_size (md);
      if (copy->data == NULL && posix_memalign (&copy->data, 64, size) != 0)
        {
          copy->data = NULL;
          g_set_error (error, JD_ERROR, JD_ERROR_OUT_OF_MEMORY,
                       "Out of memory: %zu bytes for a reordered weight could not be "
                       "allocated", size);
          ok = FALSE;
          goto out;
        }
      copy->source = NULL;
      dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, primitive->user[ARG_WEIGHTS] },
                                  { DNNL_ARG_TO, primitive->memory[ARG_WEIGHTS] } };
      ok = jd_cpu_dnnl_check (dnnl_memory_set_data_handle (primitive->user[ARG_WEIGHTS],
                                                           weight->data),
                              "pointing a memory object at a tensor", error)
        && jd_cpu_dnnl_check (dnnl_memory_set_data_handle (primitive->memory[ARG_WEIGHTS],
                                                           copy->data),
                              "pointing a memory object at a tensor", error)
        && jd_cpu_dnnl_check (dnnl_primitive_execute (primitive->reorder[ARG_WEIGHTS],
                                                      self->dnnl_stream, 2, args),
                              "reordering a constant weight", error)
        && jd_cpu_dnnl_check (dnnl_stream_wait (self->dnnl_stream),
                              "waiting for a reorder", error);
      if (!ok)
        goto out;
      copy->source = weight->data;
    }
  ok = jd_cpu_dnnl_check (dnnl_memory_set_data_handle (primitive->memory[ARG_WEIGHTS],
                                                       copy->data),
                          "pointing a memory object at a tensor", error);
  *prebuilt = ok;
out:
  g_mutex_unlock (&weight_cache_lock);
  return ok;
}

gboolean
jd_cpu_dnnl_primitive_bind (JdCpuBackend       *self,
                            JdCpuDnnlPrimitive *primitive,
                            JdCpuDnnlArena     *arena,
                            const JdOp         *op,
                            GError            **error)
{
  primitive->weights_prebuilt = FALSE;
  if (op->src[1]->constant && primitive->reorder[ARG_WEIGHTS] != NULL
      && !bind_constant_weight (self, primitive, op->src[1], &primitive->weights_prebuilt,
                                error))
    return FALSE;
  /* oneDNN never writes src, weights or bias; its API simply has no const handles. */
  void *tensors[ARG_BIAS + 1] = {
    [ARG_SRC] = op->src[0]->data,
    [ARG_WEIGHTS] = op->src[1]->data,
    [ARG_DST] = op->dst->data,
    [ARG_BIAS] = op->src[2] ? op->src[2]->data : NULL,
  };
  for (int i = 0; i <= ARG_BIAS; i++)
    {
      if (primitive->memory[i] == NULL || (i == ARG_WEIGHTS && primitive->weights_prebuilt))
        continue;
      if (i < N_REORDERED && primitive->user[i] != NULL)
        {
          void *blocked = arena_reserve (arena, i, primitive->blocked_size[i], error);
          if (blocked == NULL || !set_handle (primitive->user[i], tensors[i], error)
              || !set_handle (primitive->memory[i], blocked, error))
            return FALSE;
        }
      else if (!set_handle (primitive->memory[i], tensors[i], error))
        return FALSE;
    }
  if (primitive->scratchpad_size > 0)
    {
      void *scratchpad = arena_reserve (arena, SLOT_SCRATCHPAD, primitive->scratchpad_size,
                                        error);
      if (scratchpad == NULL || !set_handle (primitive->memory[ARG_SCRATCHPAD], scratchpad, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
run_reorder (JdCpuBackend       *self,
             JdCpuDnnlPrimitive *primitive,
             int                 arg,
             GError            **error)
{
  if (primitive->reorder[arg] == NULL)
    return TRUE;
  dnnl_memory_t from = arg == ARG_DST ? primitive->memory[arg] : primitive->user[arg];
  dnnl_memory_t to = arg == ARG_DST ? primitive->user[arg] : primitive->memory[arg];
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };
  return jd_cpu_dnnl_check (dnnl_primitive_execute (primitive->reorder[arg], self->dnnl_stream,
                                                    2, args),
                            "reordering a convolution operand", error);
}

/* Only the primitive, on the copies in the layouts it chose. */
static gboolean
primitive_execute_core (JdCpuBackend       *self,
                                    JdCpuDnnlPrimitive *primitive,
                                    GError            **error)
{
  static const int arg_ids[N_ARGS] = {
    [ARG_SRC] = DNNL_ARG_SRC,
    [ARG_WEIGHTS] = DNNL_ARG_WEIGHTS,
    [ARG_DST] = DNNL_ARG_DST,
    [ARG_BIAS] = DNNL_ARG_BIAS,
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

gboolean
jd_cpu_dnnl_primitive_execute (JdCpuBackend       *self,
                               JdCpuDnnlPrimitive *primitive,
                               GError            **error)
{
  return run_reorder (self, primitive, ARG_SRC, error)
    && (primitive->weights_prebuilt || run_reorder (self, primitive, ARG_WEIGHTS, error))
    && primitive_execute_core (self, primitive, error)
    && run_reorder (self, primitive, ARG_DST, error)
    && jd_cpu_dnnl_check (dnnl_stream_wait (self->dnnl_stream), "waiting for a reorder", error);
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
  return jd_cpu_dnnl_primitive_bind (self, primitive, self->dnnl_cache->arena, op, error)
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
