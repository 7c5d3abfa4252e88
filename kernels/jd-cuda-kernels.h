/* jd-cuda-kernels.h — the launchers of the CUDA backend's own kernels (the .cu files of kernels/).
 *
 * Plain C types only, so the host side (C, GLib) and the device side (CUDA C++) share it. Every
 * launcher queues its kernels on `stream` and returns the launch status (cudaGetLastError); it
 * never synchronises. Sizes are int64_t: full-scale activations exceed 2^31 elements. Pointers
 * are device pointers of F32 data unless said otherwise.
 */
#pragma once

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JD_CUDA_MAX_DIMS 5
#define JD_CUDA_MAX_SEGMENTS 8
#define JD_CUDA_ROPE_MAX_PAIRS 256

/* The unary kinds of jd-op.h (same numbering; checked by a static assertion in the backend). */
enum {
  JD_CUDA_UNARY_IDENTITY,
  JD_CUDA_UNARY_SILU,
  JD_CUDA_UNARY_GELU,
  JD_CUDA_UNARY_GELU_TANH,
  JD_CUDA_UNARY_LEAKY_RELU,
  JD_CUDA_UNARY_TANH,
  JD_CUDA_UNARY_SIGMOID,
  JD_CUDA_UNARY_AFFINE,
};

/* --- jd-cuda-convert.cu --- */
/* dst[i] = bf16(src[i]) (round to nearest even); dst is a __nv_bfloat16 array. */
cudaError_t jd_cuda_launch_f32_to_bf16 (const float *src, void *dst, int64_t n,
                                        cudaStream_t stream);
/* dst (N, inner, C) = bf16(src (N, C, inner)): an NCHW activation (inner = H·W) to cuDNN's
 * NHWC, or a (K, C, R, S) filter to KRSC (N = K, inner = R·S). */
cudaError_t jd_cuda_launch_nchw_f32_to_nhwc_bf16 (const float *src, void *dst, int64_t n,
                                                  int64_t c, int64_t inner, cudaStream_t stream);
/* dst (N, C, inner) = float(src (N, inner, C)): an NHWC BF16 result back to NCHW F32. */
cudaError_t jd_cuda_launch_nhwc_bf16_to_nchw_f32 (const void *src, float *dst, int64_t n,
                                                  int64_t c, int64_t inner, cudaStream_t stream);
/* dst[n, c, i] += bias[c] for a (N, C, inner) tensor. */
cudaError_t jd_cuda_launch_add_channel_bias (float *dst, const float *bias, int64_t n,
                                             int64_t c, int64_t inner, cudaStream_t stream);
/* dst[i] = value for i < n (poisoning outputs in tests, clearing buffers). */
cudaError_t jd_cuda_launch_fill (float *dst, float value, int64_t n, cudaStream_t stream);

/* --- jd-cuda-elementwise.cu --- */
cudaError_t jd_cuda_launch_unary (const float *x, float *y, int64_t n, int kind, float alpha,
                                  float beta, cudaStream_t stream);
/* Broadcasting: every shape is given with ndim dims (right-aligned, padded with 1 at the left
 * by the caller); a_strides/b_strides are element strides with 0 on broadcast dims.
 * kind 0: y = alpha·a + beta·b; kind 1: y = a·b. b may be NULL for a plain broadcast copy of a
 * (then kind/alpha/beta are ignored). */
typedef struct {
  int     ndim;
  int64_t shape[JD_CUDA_MAX_DIMS];
  int64_t a_strides[JD_CUDA_MAX_DIMS];
  int64_t b_strides[JD_CUDA_MAX_DIMS];
} JdCudaBroadcast;
cudaError_t jd_cuda_launch_binary (const float *a, const float *b, float *y,
                                   const JdCudaBroadcast *shape, int kind, float alpha,
                                   float beta, cudaStream_t stream);

/* --- jd-cuda-norm.cu --- */
/* Group norm of x (N, C, inner): statistics per (n, group); gamma/beta may be NULL;
 * silu != 0 applies SiLU after the affine transform. */
cudaError_t jd_cuda_launch_group_norm (const float *x, const float *gamma, const float *beta,
                                       float *y, int64_t n, int64_t c, int64_t inner,
                                       int groups, float eps, int silu, cudaStream_t stream);
/* Layer norm over the last dim c of rows × c. */
cudaError_t jd_cuda_launch_layer_norm (const float *x, const float *gamma, const float *beta,
                                       float *y, int64_t rows, int64_t c, float eps,
                                       cudaStream_t stream);

/* --- jd-cuda-layout.cu --- */
/* Copies a (outer, src_cols) block into the columns [col_offset, col_offset + src_cols) of a
 * (outer, dst_cols) array: concat is one call per input, slice the mirror image. */
cudaError_t jd_cuda_launch_copy_columns (const float *src, int64_t src_cols, int64_t src_offset,
                                         float *dst, int64_t dst_cols, int64_t dst_offset,
                                         int64_t outer, int64_t cols, cudaStream_t stream);
typedef struct {
  int     ndim;
  int64_t dst_shape[JD_CUDA_MAX_DIMS];
  int64_t src_strides[JD_CUDA_MAX_DIMS]; /* stride in src of dst's dim i */
} JdCudaPermute;
cudaError_t jd_cuda_launch_permute (const float *src, float *dst, const JdCudaPermute *p,
                                    cudaStream_t stream);
cudaError_t jd_cuda_launch_upsample_nearest (const float *x, float *y, int64_t planes,
                                             int64_t h_in, int64_t w_in, int64_t h_out,
                                             int64_t w_out, cudaStream_t stream);

/* --- jd-cuda-position.cu --- */
typedef struct {
  int    n_pairs;
  int    n_axes;
  unsigned char axis_of_pair[JD_CUDA_ROPE_MAX_PAIRS];
  double inv_freq[JD_CUDA_ROPE_MAX_PAIRS];
} JdCudaRope;
/* x, y (B, L, H·D); positions (L, n_axes); table: scratch of L · n_pairs float2. */
cudaError_t jd_cuda_launch_rope (const float *x, float *y, const float *positions,
                                 void *table, int64_t batch, int64_t length, int heads,
                                 int64_t head_dim, const JdCudaRope *rope, cudaStream_t stream);
cudaError_t jd_cuda_launch_timestep_embedding (const float *timesteps, float *y, int64_t n,
                                               int dim, int flip_sin_to_cos,
                                               float downscale_freq_shift, float scale,
                                               float max_period, cudaStream_t stream);

/* --- jd-cuda-noise.cu --- */
cudaError_t jd_cuda_launch_normal_noise (float *dst, int64_t n, uint64_t seed, uint64_t offset,
                                         cudaStream_t stream);

/* --- jd-cuda-attention.cu, jd-cuda-attention-mma.cu --- */
/* Query segment s covers queries [q_start[s], q_start[s] + q_len[s]) and sees the keys
 * [k_start[s], k_start[s] + k_len[s]); tile_start[s] is the first tile (of the kernel's query
 * tile size) of segment s, tile_start[n_segments] the total. Full attention: one segment. */
typedef struct {
  int     batch;
  int     heads;
  int64_t lq, lk;
  int     dqk, dv;
  float   scale;
  int     n_segments;
  int64_t q_start[JD_CUDA_MAX_SEGMENTS];
  int64_t q_len[JD_CUDA_MAX_SEGMENTS];
  int64_t k_start[JD_CUDA_MAX_SEGMENTS];
  int64_t k_len[JD_CUDA_MAX_SEGMENTS];
  int64_t tile_start[JD_CUDA_MAX_SEGMENTS + 1];
} JdCudaAttention;

/* The query tile of each kernel (the caller fills tile_start with it). */
#define JD_CUDA_ATTENTION_F32_TILE 4   /* one warp per query, 4 warps per block */
#define JD_CUDA_ATTENTION_MMA_TILE 64
/* Largest head dims of the tensor-core kernel (after padding to 16). */
#define JD_CUDA_ATTENTION_MMA_MAX_DIM 128
/* Largest head dim of the F32 kernel (registers per lane: dv / 32). */
#define JD_CUDA_ATTENTION_F32_MAX_DIM 1024

/* F32, any head dims up to JD_CUDA_ATTENTION_F32_MAX_DIM. */
cudaError_t jd_cuda_launch_attention_f32 (const float *q, const float *k, const float *v,
                                          float *out, const JdCudaAttention *a,
                                          cudaStream_t stream);
/* BF16 tensor cores (wmma), F32 softmax and accumulation; dqk, dv ≤ 128. */
cudaError_t jd_cuda_launch_attention_mma (const float *q, const float *k, const float *v,
                                          float *out, const JdCudaAttention *a,
                                          cudaStream_t stream);

/* --- jd-cuda-attention-short.cu (unverified on a GPU) --- */
/* Longest sequence (queries and keys) and widest head of the short-sequence kernel. */
#define JD_CUDA_ATTENTION_SHORT_MAX_LEN 32
#define JD_CUDA_ATTENTION_SHORT_MAX_DIM 128
/* Nonzero when the short-sequence kernel takes a: full attention (no segments, or one that
 * covers everything), lq and lk ≤ JD_CUDA_ATTENTION_SHORT_MAX_LEN, head dims between 1 and
 * JD_CUDA_ATTENTION_SHORT_MAX_DIM. */
int         jd_cuda_attention_short_fits   (const JdCudaAttention *a);
/* F32 throughout, one warp per (batch, head) with its keys and values in shared memory: for
 * temporal attention (length = frames). Ignores tile_start. cudaErrorInvalidValue when a does
 * not fit. */
cudaError_t jd_cuda_launch_attention_short (const float *q, const float *k, const float *v,
                                            float *out, const JdCudaAttention *a,
                                            cudaStream_t stream);

#ifdef __cplusplus
}
#endif
