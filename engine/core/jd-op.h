/* jd-op.h — the op table: every computation a backend performs, described as data.
 *
 * Callers do not build JdOp values by hand: the functions of engine/nn/jd-ops.h validate shapes
 * once, for every backend, then fill a JdOp and hand it to jd_backend_run(). A backend may
 * therefore assume that an op it receives is well-formed: all tensors F32 unless the op says
 * otherwise, contiguous, on that backend, with the shapes documented below.
 *
 * Shapes use PyTorch's order and layouts, so weights from diffusers checkpoints are used as-is.
 */
#pragma once

#include <stdint.h>

#include "jd-tensor.h"

G_BEGIN_DECLS

#define JD_OP_MAX_SRC 8
#define JD_MAX_SEGMENTS 8
#define JD_ROPE_MAX_AXES 3

typedef enum {
  /* x (..., K), w (N, K), bias (N) or NULL -> dst (..., N). */
  JD_OP_LINEAR,
  /* x (N, Cin, H, W), w (Cout, Cin, kh, kw), bias (Cout) or NULL -> dst (N, Cout, Ho, Wo);
   * params.conv: stride, padding (symmetric), dilation. A strided conv is the downsampler. */
  JD_OP_CONV2D,
  /* Conv3d with kernel (kt, 1, 1) as SVD's temporal res blocks use it:
   * x (N, Cin, T, H, W), w (Cout, Cin, kt, 1, 1), bias (Cout) or NULL -> dst (N, Cout, T, H, W);
   * params.conv.padding[0] pads T on both sides (kt / 2 for "same"). */
  JD_OP_CONV_TEMPORAL,
  /* x (N, Cin, L), w (Cout, Cin, k), bias (Cout) or NULL -> dst (N, Cout, Lo);
   * params.conv: stride[0], padding[0], dilation[0]. */
  JD_OP_CONV1D,
  /* x (N, Cin, L), w (Cin, Cout, k) (PyTorch's ConvTranspose1d layout), bias (Cout) or NULL ->
   * dst (N, Cout, Lo), Lo = (L-1)·stride - 2·padding + dilation·(k-1) + output_padding + 1. */
  JD_OP_CONV_TRANSPOSE1D,
  /* x (N, C, ...) with ndim >= 2, gamma (C) or NULL, beta (C) or NULL -> dst of x's shape.
   * Statistics per (n, group) over C/groups channels and all trailing dims.
   * params.norm: groups, eps, and activation applied after the affine transform. */
  JD_OP_GROUP_NORM,
  /* x (..., C), gamma (C) or NULL, beta (C) or NULL -> dst of x's shape; params.norm.eps. */
  JD_OP_LAYER_NORM,
  /* dst = f(x), same shape; dst may be x. params.unary. */
  JD_OP_UNARY,
  /* dst = a ∘ b with NumPy broadcasting (dims aligned at the right, 1 broadcasts);
   * dst has the broadcast shape; dst may be a (when a already has that shape). params.binary. */
  JD_OP_BINARY,
  /* x (N, C, H, W) -> dst (N, C, Ho, Wo): PyTorch's 'nearest' (its float formula for the source
   * index, which differs from floor(o · in / out) for some sizes: see jd-cpu-layout.c). */
  JD_OP_UPSAMPLE_NEAREST,
  /* Multi-head softmax attention, heads interleaved in the last dim as a Linear produces them:
   * q (B, Lq, H·Dqk), k (B, Lk, H·Dqk), v (B, Lk, H·Dv) -> dst (B, Lq, H·Dv).
   * params.attention: heads, scale, optional block-diagonal mask. Never holds the Lq × Lk
   * score matrix: tiled with an online softmax. */
  JD_OP_ATTENTION,
  /* Rotary position embedding on q or k laid out as for JD_OP_ATTENTION: x (B, L, H·D),
   * positions (L, n_axes) F32 -> dst of x's shape (dst may be x). params.rope. */
  JD_OP_ROPE,
  /* timesteps (N) -> dst (N, dim): diffusers' get_timestep_embedding. params.timestep. */
  JD_OP_TIMESTEP_EMBEDDING,
  /* src[0..n_src-1] concatenated along params.axis -> dst. */
  JD_OP_CONCAT,
  /* dst = src[0] narrowed along params.slice.axis, starting at params.slice.offset, with
   * dst->shape[axis] elements. Several slices make a split. */
  JD_OP_SLICE,
  /* dst = src[0] with dims reordered: dst->shape[i] = src->shape[params.permute.perm[i]]. */
  JD_OP_PERMUTE,
  /* dst = src[0] broadcast (NumPy rules) to dst's shape, materialised. */
  JD_OP_BROADCAST,
  /* dst filled with standard-normal noise from Philox 4x32-10 keyed by params.noise.seed, the
   * element with flat index i drawing from counter (params.noise.offset + i); see jd-philox.h.
   * Bit-identical on every backend. */
  JD_OP_NORMAL_NOISE,
  JD_OP_COUNT
} JdOpKind;

typedef enum {
  JD_UNARY_IDENTITY,
  JD_UNARY_SILU,
  JD_UNARY_GELU,        /* exact, with erf */
  JD_UNARY_GELU_TANH,   /* tanh approximation */
  JD_UNARY_LEAKY_RELU,  /* slope in params.unary.alpha */
  JD_UNARY_TANH,
  JD_UNARY_SIGMOID,
  JD_UNARY_AFFINE,      /* alpha · x + beta */
  JD_UNARY_COUNT
} JdUnaryKind;

typedef enum {
  JD_BINARY_ADD,        /* alpha · a + beta · b */
  JD_BINARY_MUL,        /* a · b */
  JD_BINARY_COUNT
} JdBinaryKind;

typedef struct {
  int stride[3];    /* per spatial dim, outermost first (H then W; T for temporal) */
  int padding[3];
  int dilation[3];
  int output_padding; /* transposed conv only */
} JdConvParams;

typedef struct {
  int          groups;     /* group norm only */
  float        eps;
  JdUnaryKind  activation; /* JD_UNARY_IDENTITY or JD_UNARY_SILU, fused after the affine */
} JdNormParams;

typedef struct {
  JdUnaryKind kind;
  float       alpha;
  float       beta;
} JdUnaryParams;

typedef struct {
  JdBinaryKind kind;
  float        alpha;
  float        beta;
} JdBinaryParams;

typedef struct {
  int   heads;
  float scale;        /* multiplies q·k; 1/sqrt(Dqk) normally */
  /* Block-diagonal mask: when n_segments > 0, the queries are cut into consecutive segments of
   * q_segments[i] tokens and the keys into k_segments[i] tokens (each list sums to Lq / Lk), and
   * a query of segment i attends only to keys of segment i. n_segments == 0: full attention. */
  int     n_segments;
  int64_t q_segments[JD_MAX_SEGMENTS];
  int64_t k_segments[JD_MAX_SEGMENTS];
} JdAttentionParams;

typedef struct {
  int   heads;
  int   n_axes;                       /* 1, 2 or 3 */
  /* Each axis rotates a consecutive run of axis_dims[a] dimensions of every head (even
   * counts, axis 0 first, starting at head dim 0); dims beyond the sum are left unchanged.
   * Within an axis's run of d dims, pair j = (2j, 2j+1) turns by angle
   * position · base^(-2j / d). */
  int   axis_dims[JD_ROPE_MAX_AXES];
  float base;
} JdRopeParams;

typedef struct {
  int      dim;
  gboolean flip_sin_to_cos;
  float    downscale_freq_shift;
  float    scale;
  float    max_period;
} JdTimestepParams;

typedef struct {
  int     axis;
  int64_t offset;
} JdSliceParams;

typedef struct {
  int perm[JD_MAX_DIMS];
} JdPermuteParams;

typedef struct {
  uint64_t seed;
  uint64_t offset;
} JdNoiseParams;

typedef struct {
  JdOpKind        kind;
  int             n_src;
  const JdTensor *src[JD_OP_MAX_SRC]; /* inputs in the order documented per kind; NULL = absent */
  JdTensor       *dst;
  union {
    JdConvParams      conv;
    JdNormParams      norm;
    JdUnaryParams     unary;
    JdBinaryParams    binary;
    JdAttentionParams attention;
    JdRopeParams      rope;
    JdTimestepParams  timestep;
    int               axis;           /* concat */
    JdSliceParams     slice;
    JdPermuteParams   permute;
    JdNoiseParams     noise;
  } params;
} JdOp;

/* "linear", "conv2d", ... for messages and benchmark tables. */
const char *jd_op_kind_name (JdOpKind kind);

G_END_DECLS
