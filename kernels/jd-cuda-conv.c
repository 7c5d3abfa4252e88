/* Convolutions through cuDNN's convolution API, all as 2-D NCHW problems:
 *   conv2d              as is;
 *   conv1d              (N, C, 1, L) with a (Cout, Cin, 1, k) filter;
 *   temporal conv       (N, C, T, H·W) with a (Cout, Cin, kt, 1) filter: a (kt, 1, 1) kernel
 *                       mixes frames only, so the pixels of a frame flatten into one axis;
 *   transposed conv1d   the backward-data pass of the conv1d that maps dst to x: PyTorch's
 *                       (Cin, Cout, k) ConvTranspose weight is exactly that conv's filter.
 * The bias is added by a small kernel afterwards.
 *
 * F32 precision runs the direct-sum algorithms (implicit GEMM, GEMM, direct; no FFT or
 * Winograd) with CUDNN_FMA_MATH, which excludes TF32 and tensor cores (parity with the CPU to
 * ~1e-6); BF16 precision takes whatever cuDNN ranks first, TF32 tensor
 * cores on Ampere and newer. The algorithm (and its math type) cuDNN's heuristics rank first
 * among those whose workspace fits is remembered per shape.
 *
 * With JD_CUDA_CONV_NHWC=1 (BF16 precision, forward convolutions), the convolution runs in BF16
 * on tensor cores in cuDNN's preferred layout instead: the input converted to an NHWC BF16 copy,
 * the filter to a KRSC BF16 copy (cached for constant weights), the result (NHWC BF16, F32
 * accumulation) converted back to the op's NCHW F32. UNVERIFIED ON A GPU, hence opt-in:
 * tests/gpu/run-gpu-checks.sh checks and times it beside the default.
 */
#include "jd-cuda-private.h"

#include <limits.h>

#define MAX_WORKSPACE_BYTES ((size_t) 1 << 30)

typedef struct {
  int n, c, h, w;          /* input */
  int k, r, s;             /* filter: output channels, height, width */
  int pad[2], stride[2], dilation[2];
  int ho, wo;              /* output */
} ConvShape;

typedef struct {
  int             algo;
  cudnnMathType_t math;
  size_t          workspace;
} ConvChoice;

typedef struct {
  cudnnTensorDescriptor_t      x, y;
  cudnnFilterDescriptor_t      w;
  cudnnConvolutionDescriptor_t conv;
} ConvDescriptors;

static void
conv_descriptors_clear (ConvDescriptors *d)
{
  if (d->conv)
    cudnnDestroyConvolutionDescriptor (d->conv);
  if (d->w)
    cudnnDestroyFilterDescriptor (d->w);
  if (d->y)
    cudnnDestroyTensorDescriptor (d->y);
  if (d->x)
    cudnnDestroyTensorDescriptor (d->x);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ConvDescriptors, conv_descriptors_clear)

void
jd_cuda_conv_cache_free (GHashTable *cache)
{
  g_hash_table_unref (cache);
}

#define DNN(call, what) JD_TRY_FALSE (jd_cuda_check_cudnn ((call), (what), error))

static gboolean
fits_int (const char *op, int64_t value, int *out, GError **error)
{
  if (value < 0 || value > INT_MAX)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "%s: a dimension of %" G_GINT64_FORMAT " is beyond cuDNN's int range", op,
                   value);
      return FALSE;
    }
  *out = (int) value;
  return TRUE;
}

/* nhwc: BF16 data in NHWC (activations) and KRSC (filter) instead of F32 NCHW; the
 * convolution accumulates in F32 either way. */
static gboolean
describe (JdCudaBackend *self, const ConvShape *s, gboolean nhwc, ConvDescriptors *d,
          GError **error)
{
  const cudnnTensorFormat_t format = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  const cudnnDataType_t type = nhwc ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  DNN (cudnnCreateTensorDescriptor (&d->x), "creating a tensor descriptor");
  DNN (cudnnCreateTensorDescriptor (&d->y), "creating a tensor descriptor");
  DNN (cudnnCreateFilterDescriptor (&d->w), "creating a filter descriptor");
  DNN (cudnnCreateConvolutionDescriptor (&d->conv), "creating a convolution descriptor");
  DNN (cudnnSetTensor4dDescriptor (d->x, format, type, s->n, s->c, s->h, s->w),
       "describing the input");
  DNN (cudnnSetTensor4dDescriptor (d->y, format, type, s->n, s->k, s->ho, s->wo),
       "describing the output");
  DNN (cudnnSetFilter4dDescriptor (d->w, type, format, s->k, s->c, s->r, s->s),
       "describing the filter");
  /* PyTorch's convolutions are cross-correlations. */
  DNN (cudnnSetConvolution2dDescriptor (d->conv, s->pad[0], s->pad[1], s->stride[0],
                                        s->stride[1], s->dilation[0], s->dilation[1],
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
       "describing the convolution");
  DNN (cudnnSetConvolutionMathType (d->conv, self->precision == JD_CUDA_PRECISION_F32
                                               ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH),
       "setting the convolution's math type");
  return TRUE;
}

static char *
shape_key (const JdCudaBackend *self, const ConvShape *s, gboolean transposed, gboolean nhwc)
{
  return g_strdup_printf ("%c%d%s %d,%d,%d,%d k%d,%d,%d p%d,%d s%d,%d d%d,%d o%d,%d",
                          transposed ? 'T' : 'F', (int) self->precision, nhwc ? "nhwc" : "",
                          s->n, s->c, s->h, s->w,
                          s->k, s->r, s->s, s->pad[0], s->pad[1], s->stride[0], s->stride[1],
                          s->dilation[0], s->dilation[1], s->ho, s->wo);
}

/* One entry of cuDNN's ranking, forward and backward-data alike: the two APIs return different
 * structs with the same fields, so the choice among them is written once (pick_ranked). */
typedef struct {
  int             algo;
  cudnnStatus_t   status;
  size_t          memory;
  cudnnMathType_t math;
  gboolean        direct_sum;
} RankedAlgo;

#define MAX_RANKED \
  MAX ((int) CUDNN_CONVOLUTION_FWD_ALGO_COUNT, (int) CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)

/* In F32 precision no tensor-op entries; the chosen algorithm then runs with CUDNN_FMA_MATH
 * (see math_for), since CUDNN_DEFAULT_MATH lets cuDNN use TF32 for float data on Ampere and
 * newer. */
static gboolean
acceptable (const JdCudaBackend *self, const RankedAlgo *r)
{
  if (r->status != CUDNN_STATUS_SUCCESS || r->memory > MAX_WORKSPACE_BYTES)
    return FALSE;
  if (self->precision != JD_CUDA_PRECISION_F32)
    return TRUE;
  /* F32 parity also rules out the FFT and Winograd transforms, whose rounding differs from a
   * direct sum by more than the 1e-5 the F32 path promises. */
  return r->direct_sum && (r->math == CUDNN_FMA_MATH || r->math == CUDNN_DEFAULT_MATH);
}

static gboolean
forward_is_direct_sum (cudnnConvolutionFwdAlgo_t algo)
{
  return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM
         || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM
         || algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM
         || algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

static gboolean
backward_data_is_direct_sum (cudnnConvolutionBwdDataAlgo_t algo)
{
  return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}

static cudnnMathType_t
math_for (const JdCudaBackend *self, cudnnMathType_t ranked)
{
  return self->precision == JD_CUDA_PRECISION_F32 ? CUDNN_FMA_MATH : ranked;
}

/* cuDNN's ranking of the algorithms for the conv (forward) or its backward-data pass
 * (transposed), best first, into ranked[0 .. *n_ranked). */
static gboolean
rank_algorithms (JdCudaBackend *self, gboolean transposed, const ConvDescriptors *d,
                 RankedAlgo ranked[MAX_RANKED], int *n_ranked, GError **error)
{
  int returned = 0;
  if (!transposed)
    {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      DNN (cudnnGetConvolutionForwardAlgorithm_v7 (self->cudnn, d->x, d->w, d->conv, d->y,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned,
                                                   perf),
           "ranking convolution algorithms");
      for (int i = 0; i < returned; i++)
        ranked[i] = (RankedAlgo) { perf[i].algo, perf[i].status, perf[i].memory,
                                   perf[i].mathType, forward_is_direct_sum (perf[i].algo) };
    }
  else
    {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      /* Backward data: w, dy (our x) → dx (our dst); d->x describes dx here. */
      DNN (cudnnGetConvolutionBackwardDataAlgorithm_v7 (self->cudnn, d->w, d->y, d->conv, d->x,
                                                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                        &returned, perf),
           "ranking transposed-convolution algorithms");
      for (int i = 0; i < returned; i++)
        ranked[i] = (RankedAlgo) { perf[i].algo, perf[i].status, perf[i].memory,
                                   perf[i].mathType,
                                   backward_data_is_direct_sum (perf[i].algo) };
    }
  *n_ranked = returned;
  return TRUE;
}

/* The first acceptable entry of the ranking (cuDNN's order), or FALSE when none is. */
static gboolean
pick_ranked (const JdCudaBackend *self, const RankedAlgo *ranked, int n_ranked,
             ConvChoice *choice)
{
  for (int i = 0; i < n_ranked; i++)
    if (acceptable (self, &ranked[i]))
      {
        choice->algo = ranked[i].algo;
        choice->math = math_for (self, ranked[i].math);
        choice->workspace = ranked[i].memory;
        return TRUE;
      }
  return FALSE;
}

static gboolean
choose_algorithm (JdCudaBackend *self, const ConvShape *s, gboolean transposed, gboolean nhwc,
                  const ConvDescriptors *d, ConvChoice *choice, GError **error)
{
  g_autofree char *key = shape_key (self, s, transposed, nhwc);
  const ConvChoice *known = g_hash_table_lookup (self->conv_algos, key);
  if (known != NULL)
    {
      *choice = *known;
      return TRUE;
    }
  RankedAlgo ranked[MAX_RANKED];
  int n_ranked = 0;
  JD_TRY_FALSE (rank_algorithms (self, transposed, d, ranked, &n_ranked, error));
  if (!pick_ranked (self, ranked, n_ranked, choice))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                   "cuDNN offers no algorithm for the convolution %s within %zu MiB of "
                   "workspace%s", key, MAX_WORKSPACE_BYTES >> 20,
                   self->precision == JD_CUDA_PRECISION_F32 ? " without TF32" : "");
      return FALSE;
    }
  /* Query the exact workspace for the chosen algorithm and math type (the ranking's figure is
   * an estimate). */
  DNN (cudnnSetConvolutionMathType (d->conv, choice->math), "setting the convolution's math type");
  size_t workspace = 0;
  if (!transposed)
    DNN (cudnnGetConvolutionForwardWorkspaceSize (self->cudnn, d->x, d->w, d->conv, d->y,
                                                  (cudnnConvolutionFwdAlgo_t) choice->algo,
                                                  &workspace),
         "sizing the convolution workspace");
  else
    DNN (cudnnGetConvolutionBackwardDataWorkspaceSize (self->cudnn, d->w, d->y, d->conv, d->x,
                                                       (cudnnConvolutionBwdDataAlgo_t)
                                                         choice->algo,
                                                       &workspace),
         "sizing the transposed-convolution workspace");
  choice->workspace = MAX (choice->workspace, workspace);
  g_hash_table_insert (self->conv_algos, g_steal_pointer (&key), g_memdup2 (choice,
                                                                             sizeof *choice));
  return TRUE;
}

/* Forward: x → dst. Transposed: the conv maps dst's shape to x's shape, run backwards; then
 * ConvShape describes that forward conv (input = dst, output = x). */
static gboolean
run_conv (JdCudaBackend *self, const ConvShape *s, gboolean transposed, const float *x,
          const JdTensor *w, const float *bias, float *dst, int64_t dst_channels,
          int64_t dst_inner, GError **error)
{
  const gboolean nhwc = !transposed && self->conv_bf16_nhwc
                        && self->precision == JD_CUDA_PRECISION_BF16;
  g_auto (ConvDescriptors) d = { 0 };
  JD_TRY_FALSE (describe (self, s, nhwc, &d, error));
  if (!transposed)
    {
      int n, c, h, wo;
      DNN (cudnnGetConvolution2dForwardOutputDim (d.conv, d.x, d.w, &n, &c, &h, &wo),
           "computing the output size");
      if (n != s->n || c != s->k || h != s->ho || wo != s->wo)
        {
          g_set_error (error, JD_ERROR, JD_ERROR_BACKEND,
                       "cuDNN computes a %d × %d × %d × %d output where the op expects "
                       "%d × %d × %d × %d", n, c, h, wo, s->n, s->k, s->ho, s->wo);
          return FALSE;
        }
    }
  ConvChoice choice;
  JD_TRY_FALSE (choose_algorithm (self, s, transposed, nhwc, &d, &choice, error));
  DNN (cudnnSetConvolutionMathType (d.conv, choice.math), "setting the convolution's math type");
  /* Scratch: [BF16 NHWC input | BF16 NHWC output | BF16 KRSC filter unless cached] (NHWC
   * only), then the workspace. */
  const int64_t x_n = (int64_t) s->n * s->c * s->h * s->w;
  const int64_t y_n = (int64_t) s->n * s->k * s->ho * s->wo;
  const gsize x_bytes = nhwc ? jd_cuda_bf16_bytes (x_n) : 0;
  const gsize y_bytes = nhwc ? jd_cuda_bf16_bytes (y_n) : 0;
  const gsize w_bytes = nhwc ? jd_cuda_bf16_bytes (jd_tensor_numel (w)) : 0;
  char *scratch = NULL;
  if (x_bytes + y_bytes + w_bytes + choice.workspace > 0)
    {
      scratch = jd_cuda_scratch (self, x_bytes + y_bytes + w_bytes + choice.workspace, error);
      if (scratch == NULL)
        return FALSE;
    }
  void *workspace = choice.workspace > 0 ? scratch + x_bytes + y_bytes + w_bytes : NULL;
  const float one = 1.0f, zero = 0.0f;
  if (nhwc)
    {
      void *x16 = scratch, *y16 = scratch + x_bytes;
      char *w_at = scratch + x_bytes + y_bytes;
      JD_TRY_FALSE (jd_cuda_check (jd_cuda_launch_nchw_f32_to_nhwc_bf16 (
                                     x, x16, s->n, s->c, (int64_t) s->h * s->w, self->stream),
                                   "converting the input to NHWC BF16", error));
      const void *w16 = jd_cuda_weight_bf16_krsc (self, w, &w_at, error);
      if (w16 == NULL)
        return FALSE;
      DNN (cudnnConvolutionForward (self->cudnn, &one, d.x, x16, d.w, w16, d.conv,
                                    (cudnnConvolutionFwdAlgo_t) choice.algo, workspace,
                                    choice.workspace, &zero, d.y, y16),
           "running the BF16 NHWC convolution (cudnnConvolutionForward)");
      JD_TRY_FALSE (jd_cuda_check (jd_cuda_launch_nhwc_bf16_to_nchw_f32 (
                                     y16, dst, s->n, s->k, (int64_t) s->ho * s->wo,
                                     self->stream),
                                   "converting the result back to NCHW F32", error));
    }
  else if (!transposed)
    DNN (cudnnConvolutionForward (self->cudnn, &one, d.x, x, d.w, w->data, d.conv,
                                  (cudnnConvolutionFwdAlgo_t) choice.algo, workspace,
                                  choice.workspace, &zero, d.y, dst),
         "running the convolution (cudnnConvolutionForward)");
  else
    DNN (cudnnConvolutionBackwardData (self->cudnn, &one, d.w, w->data, d.y, x, d.conv,
                                       (cudnnConvolutionBwdDataAlgo_t) choice.algo, workspace,
                                       choice.workspace, &zero, d.x, dst),
         "running the transposed convolution (cudnnConvolutionBackwardData)");
  if (bias != NULL)
    {
      JD_TRY_FALSE (jd_cuda_check (jd_cuda_launch_add_channel_bias (dst, bias, s->n, dst_channels,
                                                                    dst_inner, self->stream),
                                   "adding the bias", error));
    }
  return TRUE;
}

gboolean
jd_cuda_run_conv2d (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1];
  const JdConvParams *p = &op->params.conv;
  ConvShape s = { 0 };
  const char *name = "conv2d";
  JD_TRY_FALSE (fits_int (name, x->shape[0], &s.n, error) && fits_int (name, x->shape[1], &s.c, error)
                && fits_int (name, x->shape[2], &s.h, error) && fits_int (name, x->shape[3], &s.w, error)
                && fits_int (name, w->shape[0], &s.k, error) && fits_int (name, w->shape[2], &s.r, error)
                && fits_int (name, w->shape[3], &s.s, error)
                && fits_int (name, op->dst->shape[2], &s.ho, error)
                && fits_int (name, op->dst->shape[3], &s.wo, error));
  for (int i = 0; i < 2; i++)
    {
      s.pad[i] = p->padding[i];
      s.stride[i] = MAX (p->stride[i], 1);
      s.dilation[i] = MAX (p->dilation[i], 1);
    }
  if (jd_tensor_numel (op->dst) == 0)
    return TRUE;
  return run_conv (self, &s, FALSE, x->data, w, op->src[2] ? op->src[2]->data : NULL,
                   op->dst->data, s.k, (int64_t) s.ho * s.wo, error);
}

gboolean
jd_cuda_run_conv_temporal (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1];
  const JdConvParams *p = &op->params.conv;
  ConvShape s = { 0 };
  const char *name = "temporal conv";
  JD_TRY_FALSE (fits_int (name, x->shape[0], &s.n, error) && fits_int (name, x->shape[1], &s.c, error)
                && fits_int (name, x->shape[2], &s.h, error)
                && fits_int (name, x->shape[3] * x->shape[4], &s.w, error)
                && fits_int (name, w->shape[0], &s.k, error) && fits_int (name, w->shape[2], &s.r, error)
                && fits_int (name, op->dst->shape[2], &s.ho, error));
  s.s = 1;
  s.wo = s.w;
  s.pad[0] = p->padding[0];
  s.pad[1] = 0;
  s.stride[0] = MAX (p->stride[0], 1);
  s.stride[1] = 1;
  s.dilation[0] = MAX (p->dilation[0], 1);
  s.dilation[1] = 1;
  if (jd_tensor_numel (op->dst) == 0)
    return TRUE;
  return run_conv (self, &s, FALSE, x->data, w, op->src[2] ? op->src[2]->data : NULL,
                   op->dst->data, s.k, (int64_t) s.ho * s.wo, error);
}

/* A 1-D convolution as a 2-D one of height 1: the op's 1-D padding, stride and dilation go on
 * the width axis. */
static void
set_1d_geometry (ConvShape *s, const JdConvParams *p)
{
  s->h = s->r = s->ho = 1;
  s->pad[0] = 0;
  s->pad[1] = p->padding[0];
  s->stride[0] = 1;
  s->stride[1] = MAX (p->stride[0], 1);
  s->dilation[0] = 1;
  s->dilation[1] = MAX (p->dilation[0], 1);
}

gboolean
jd_cuda_run_conv1d (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1];
  const JdConvParams *p = &op->params.conv;
  ConvShape s = { 0 };
  const char *name = "conv1d";
  JD_TRY_FALSE (fits_int (name, x->shape[0], &s.n, error) && fits_int (name, x->shape[1], &s.c, error)
                && fits_int (name, x->shape[2], &s.w, error)
                && fits_int (name, w->shape[0], &s.k, error) && fits_int (name, w->shape[2], &s.s, error)
                && fits_int (name, op->dst->shape[2], &s.wo, error));
  set_1d_geometry (&s, p);
  if (jd_tensor_numel (op->dst) == 0)
    return TRUE;
  return run_conv (self, &s, FALSE, x->data, w, op->src[2] ? op->src[2]->data : NULL,
                   op->dst->data, s.k, s.wo, error);
}

gboolean
jd_cuda_run_conv_transpose1d (JdCudaBackend *self, const JdOp *op, GError **error)
{
  const JdTensor *x = op->src[0], *w = op->src[1];
  const JdConvParams *p = &op->params.conv;
  /* The forward conv whose backward-data pass this is: input dst (N, Cout, Lo), filter
   * (Cin, Cout, k) with Cin its output channels, output x (N, Cin, L). */
  ConvShape s = { 0 };
  const char *name = "transposed conv1d";
  JD_TRY_FALSE (fits_int (name, x->shape[0], &s.n, error)
                && fits_int (name, op->dst->shape[1], &s.c, error)
                && fits_int (name, op->dst->shape[2], &s.w, error)
                && fits_int (name, w->shape[0], &s.k, error) && fits_int (name, w->shape[2], &s.s, error)
                && fits_int (name, x->shape[2], &s.wo, error));
  set_1d_geometry (&s, p);
  if (jd_tensor_numel (op->dst) == 0)
    return TRUE;
  return run_conv (self, &s, TRUE, x->data, w, op->src[2] ? op->src[2]->data : NULL,
                   op->dst->data, s.c, s.w, error);
}
