/* Attention on tensor cores: BF16 products (wmma 16×16×16), F32 scores, softmax and output.
 *
 * A block of four warps owns 64 queries of one (batch, head); each warp owns 16 of them. The
 * block walks the keys of its segment in tiles of 32: K and V tiles are converted to BF16 into
 * shared memory once for all four warps, each warp computes its 16 × 32 scores S = Q Kᵀ, turns
 * them into probabilities with the online softmax (running maximum m and sum l per row; the
 * partial output is rescaled by exp(m_old − m_new) whenever the maximum grows), and adds P V to
 * its output rows, which live in shared memory in F32 so they can be rescaled row by row
 * (wmma's accumulator layout is opaque). No Lq × Lk matrix ever exists.
 *
 * Head dims are padded with zeros to D, a multiple of 16 (48 and 80 are their own sizes;
 * others go up to the next instantiated size): zero dims add nothing to q·k, and the padded
 * output columns are never written back.
 */
#include <cuda_bf16.h>
#include <mma.h>

#include "jd-cuda-attention-tiles.cuh"

using namespace nvcuda;

#define WARPS 4
#define Q_TILE (16 * WARPS)
#define K_TILE 32

static_assert (Q_TILE == JD_CUDA_ATTENTION_MMA_TILE, "the host fills tiles of this size");

template <int D>
struct Layout
{
  /* Byte offsets into dynamic shared memory; every region is a multiple of 32 bytes, as
   * wmma's loads and stores need 256-bit aligned pointers. */
  static constexpr size_t q = 0;
  static constexpr size_t k = q + (size_t) Q_TILE * D * 2;
  static constexpr size_t v = k + (size_t) K_TILE * D * 2;
  static constexpr size_t s = v + (size_t) K_TILE * D * 2;
  static constexpr size_t p = s + (size_t) WARPS * 16 * K_TILE * 4;
  static constexpr size_t o = p + (size_t) WARPS * 16 * K_TILE * 2;
  static constexpr size_t m = o + (size_t) WARPS * 16 * D * 4;
  static constexpr size_t l = m + (size_t) WARPS * 16 * 4;
  static constexpr size_t total = l + (size_t) WARPS * 16 * 4;
};

template <int D>
static __global__ void __launch_bounds__ (WARPS * 32)
attention_mma_kernel (const float *__restrict__ q, const float *__restrict__ k,
                      const float *__restrict__ v, float *__restrict__ out, JdCudaAttention a)
{
  extern __shared__ __align__ (128) unsigned char smem[];
  typedef Layout<D> L;
  __nv_bfloat16 *qs = (__nv_bfloat16 *) (smem + L::q);
  __nv_bfloat16 *ks = (__nv_bfloat16 *) (smem + L::k);
  __nv_bfloat16 *vs = (__nv_bfloat16 *) (smem + L::v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float *s_w = (float *) (smem + L::s) + warp * 16 * K_TILE;
  __nv_bfloat16 *p_w = (__nv_bfloat16 *) (smem + L::p) + warp * 16 * K_TILE;
  float *o_w = (float *) (smem + L::o) + warp * 16 * D;
  float *m_w = (float *) (smem + L::m) + warp * 16;
  float *l_w = (float *) (smem + L::l) + warp * 16;

  const int b = blockIdx.x / a.heads, h = blockIdx.x % a.heads;
  const JdCudaAttentionTile tile = jd_cuda_attention_tile (a, blockIdx.y, Q_TILE);
  const int64_t qk_stride = (int64_t) a.heads * a.dqk;
  const int64_t v_stride = (int64_t) a.heads * a.dv;
  const float *q_base = q + (int64_t) b * a.lq * qk_stride + (int64_t) h * a.dqk;
  const float *k_base = k + (int64_t) b * a.lk * qk_stride + (int64_t) h * a.dqk;
  const float *v_base = v + (int64_t) b * a.lk * v_stride + (int64_t) h * a.dv;

  for (int idx = threadIdx.x; idx < Q_TILE * D; idx += blockDim.x)
    {
      const int r = idx / D, d = idx % D;
      const int64_t i = tile.q_begin + r;
      const float x = (i < tile.q_end && d < a.dqk) ? q_base[i * qk_stride + d] : 0.0f;
      qs[idx] = __float2bfloat16_rn (x);
    }
  for (int idx = lane; idx < 16 * D; idx += 32)
    o_w[idx] = 0.0f;
  if (lane < 16)
    {
      m_w[lane] = -INFINITY;
      l_w[lane] = 0.0f;
    }

  const int row = lane >> 1, half = lane & 1;
  for (int64_t kt = tile.k_begin; kt < tile.k_end; kt += K_TILE)
    {
      __syncthreads ();  /* the previous K/V tile is no longer read; Q is written */
      for (int idx = threadIdx.x; idx < K_TILE * D; idx += blockDim.x)
        {
          const int r = idx / D, d = idx % D;
          const int64_t key = kt + r;
          const bool valid = key < tile.k_end;
          ks[idx] = __float2bfloat16_rn (valid && d < a.dqk ? k_base[key * qk_stride + d] : 0.0f);
          vs[idx] = __float2bfloat16_rn (valid && d < a.dv ? v_base[key * v_stride + d] : 0.0f);
        }
      __syncthreads ();

      /* S (16 × 32) = Q_w (16 × D) · Kᵀ (D × 32); K row-major is Kᵀ column-major. */
#pragma unroll
      for (int n = 0; n < K_TILE / 16; n++)
        {
          wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
          wmma::fill_fragment (acc, 0.0f);
#pragma unroll
          for (int kk = 0; kk < D / 16; kk++)
            {
              wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
              wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
              wmma::load_matrix_sync (fa, qs + warp * 16 * D + kk * 16, D);
              wmma::load_matrix_sync (fb, ks + n * 16 * D + kk * 16, D);
              wmma::mma_sync (acc, fa, fb, acc);
            }
          wmma::store_matrix_sync (s_w + n * 16, acc, K_TILE, wmma::mem_row_major);
        }
      __syncwarp ();

      /* Online softmax: lanes 2r and 2r+1 share row r, 16 columns each. */
      float sv[16];
      float tile_max = -INFINITY;
#pragma unroll
      for (int c = 0; c < 16; c++)
        {
          const int col = half * 16 + c;
          sv[c] = kt + col < tile.k_end ? s_w[row * K_TILE + col] * a.scale : -INFINITY;
          tile_max = fmaxf (tile_max, sv[c]);
        }
      tile_max = fmaxf (tile_max, __shfl_xor_sync (0xffffffffu, tile_max, 1));
      const float m_old = m_w[row], l_old = l_w[row];
      const float m_new = fmaxf (m_old, tile_max);  /* finite: key kt is valid */
      const float alpha = expf (m_old - m_new);
      float sum = 0.0f;
#pragma unroll
      for (int c = 0; c < 16; c++)
        {
          const float pv = expf (sv[c] - m_new);  /* 0 for masked keys */
          sum += pv;
          p_w[row * K_TILE + half * 16 + c] = __float2bfloat16_rn (pv);
        }
      sum += __shfl_xor_sync (0xffffffffu, sum, 1);
      __syncwarp ();  /* both lanes of a row have read m_w, l_w */
      if (half == 0)
        {
          m_w[row] = m_new;
          l_w[row] = l_old * alpha + sum;
        }
      for (int d = half * (D / 2); d < (half + 1) * (D / 2); d++)
        o_w[row * D + d] *= alpha;
      __syncwarp ();

      /* O_w (16 × D) += P (16 × 32) · V (32 × D). */
#pragma unroll
      for (int n = 0; n < D / 16; n++)
        {
          wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
          wmma::load_matrix_sync (acc, o_w + n * 16, D, wmma::mem_row_major);
#pragma unroll
          for (int kk = 0; kk < K_TILE / 16; kk++)
            {
              wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
              wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> fb;
              wmma::load_matrix_sync (fa, p_w + kk * 16, K_TILE);
              wmma::load_matrix_sync (fb, vs + kk * 16 * D + n * 16, D);
              wmma::mma_sync (acc, fa, fb, acc);
            }
          wmma::store_matrix_sync (o_w + n * 16, acc, D, wmma::mem_row_major);
        }
      __syncwarp ();
    }

  /* Write back the real rows and dims, divided by the softmax sums. */
  const int64_t i = tile.q_begin + warp * 16 + row;
  if (i < tile.q_end)
    {
      const float l_row = l_w[row];
      const float inv_l = l_row > 0.0f ? 1.0f / l_row : 0.0f;
      float *out_row = out + ((int64_t) b * a.lq + i) * v_stride + (int64_t) h * a.dv;
      for (int d = half; d < a.dv; d += 2)
        out_row[d] = o_w[row * D + d] * inv_l;
    }
}

template <int D>
static cudaError_t
launch (const float *q, const float *k, const float *v, float *out, const JdCudaAttention *a,
        cudaStream_t stream)
{
  const size_t shared = Layout<D>::total;
  cudaError_t status = cudaFuncSetAttribute (attention_mma_kernel<D>,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int) shared);
  if (status != cudaSuccess)
    return status;
  dim3 grid ((unsigned) ((int64_t) a->batch * a->heads), (unsigned) a->tile_start[a->n_segments]);
  attention_mma_kernel<D><<<grid, WARPS * 32, shared, stream>>> (q, k, v, out, *a);
  return cudaGetLastError ();
}

extern "C" cudaError_t
jd_cuda_launch_attention_mma (const float *q, const float *k, const float *v, float *out,
                              const JdCudaAttention *a, cudaStream_t stream)
{
  const int64_t tiles = a->tile_start[a->n_segments];
  if (tiles <= 0 || a->batch <= 0 || a->heads <= 0)
    return cudaSuccess;
  if (tiles > 65535 || (int64_t) a->batch * a->heads > 2147483647LL)
    return cudaErrorInvalidConfiguration;
  const int d = a->dqk > a->dv ? a->dqk : a->dv;
  if (d <= 32)
    return launch<32> (q, k, v, out, a, stream);
  if (d <= 48)
    return launch<48> (q, k, v, out, a, stream);
  if (d <= 64)
    return launch<64> (q, k, v, out, a, stream);
  if (d <= 80)
    return launch<80> (q, k, v, out, a, stream);
  if (d <= JD_CUDA_ATTENTION_MMA_MAX_DIM)
    return launch<128> (q, k, v, out, a, stream);
  return cudaErrorInvalidValue;
}
