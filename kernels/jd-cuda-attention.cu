/* Attention in F32 for any head dims: the exact path (F32 parity with the CPU, TF32 never
 * involved) and the one for heads too wide for the tensor-core kernel (the VAE's 512).
 *
 * One warp per query, four per block. The warp walks the keys 32 at a time: lane t scores key
 * t of the chunk against the query (kept in shared memory), the chunk's maximum and sum update
 * the online softmax, then the 32 probabilities are broadcast in turn and every lane adds
 * p · v to its own dv / 32 output dims, reading v rows coalesced. Nothing of size Lq × Lk is
 * ever stored.
 */
#include "jd-cuda-attention-tiles.cuh"

#define WARPS 4

template <int DV_PER_LANE>
static __global__ void
attention_f32_kernel (const float *__restrict__ q, const float *__restrict__ k,
                      const float *__restrict__ v, float *__restrict__ out, JdCudaAttention a)
{
  extern __shared__ float q_shared[];  /* WARPS × dqk */
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int b = blockIdx.x / a.heads, h = blockIdx.x % a.heads;
  const JdCudaAttentionTile tile = jd_cuda_attention_tile (a, blockIdx.y, WARPS);
  const int64_t i = tile.q_begin + warp;
  if (i >= tile.q_end)
    return;  /* no __syncthreads below: warps are independent */

  const int64_t q_row_stride = (int64_t) a.heads * a.dqk;
  const int64_t v_row_stride = (int64_t) a.heads * a.dv;
  float *qs = q_shared + warp * a.dqk;
  const float *q_row = q + ((int64_t) b * a.lq + i) * q_row_stride + (int64_t) h * a.dqk;
  for (int d = lane; d < a.dqk; d += 32)
    qs[d] = q_row[d];
  __syncwarp ();

  const float *k_base = k + (int64_t) b * a.lk * q_row_stride + (int64_t) h * a.dqk;
  const float *v_base = v + (int64_t) b * a.lk * v_row_stride + (int64_t) h * a.dv;
  float m = -INFINITY, l = 0.0f;
  float o[DV_PER_LANE];
#pragma unroll
  for (int j = 0; j < DV_PER_LANE; j++)
    o[j] = 0.0f;

  for (int64_t chunk = tile.k_begin; chunk < tile.k_end; chunk += 32)
    {
      const int64_t key = chunk + lane;
      const bool valid = key < tile.k_end;
      float s = -INFINITY;
      if (valid)
        {
          const float *k_row = k_base + key * q_row_stride;
          float dot = 0.0f;
          for (int d = 0; d < a.dqk; d++)
            dot = fmaf (qs[d], k_row[d], dot);
          s = dot * a.scale;
        }
      float chunk_max = s;
      for (int off = 16; off > 0; off >>= 1)
        chunk_max = fmaxf (chunk_max, __shfl_xor_sync (0xffffffffu, chunk_max, off));
      const float m_new = fmaxf (m, chunk_max);  /* finite: the chunk has a valid key */
      const float alpha = expf (m - m_new);      /* 0 on the first chunk (m = −inf) */
      const float p = valid ? expf (s - m_new) : 0.0f;
      float p_sum = p;
      for (int off = 16; off > 0; off >>= 1)
        p_sum += __shfl_xor_sync (0xffffffffu, p_sum, off);
      l = l * alpha + p_sum;
      m = m_new;
#pragma unroll
      for (int j = 0; j < DV_PER_LANE; j++)
        o[j] *= alpha;
      const int n_keys = (int) (tile.k_end - chunk < 32 ? tile.k_end - chunk : 32);
      for (int t = 0; t < n_keys; t++)
        {
          const float pt = __shfl_sync (0xffffffffu, p, t);
          const float *v_row = v_base + (chunk + t) * v_row_stride;
#pragma unroll
          for (int j = 0; j < DV_PER_LANE; j++)
            {
              const int d = lane + 32 * j;
              if (d < a.dv)
                o[j] = fmaf (pt, v_row[d], o[j]);
            }
        }
    }

  float *out_row = out + ((int64_t) b * a.lq + i) * v_row_stride + (int64_t) h * a.dv;
  const float inv_l = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
  for (int j = 0; j < DV_PER_LANE; j++)
    {
      const int d = lane + 32 * j;
      if (d < a.dv)
        out_row[d] = o[j] * inv_l;
    }
}

template <int DV_PER_LANE>
static cudaError_t
launch (const float *q, const float *k, const float *v, float *out, const JdCudaAttention *a,
        cudaStream_t stream)
{
  const int64_t tiles = a->tile_start[a->n_segments];
  const size_t shared = (size_t) WARPS * a->dqk * sizeof (float);
  if (shared > 48 * 1024)
    {
      cudaError_t status = cudaFuncSetAttribute (attention_f32_kernel<DV_PER_LANE>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 (int) shared);
      if (status != cudaSuccess)
        return status;
    }
  dim3 grid ((unsigned) (a->batch * a->heads), (unsigned) tiles);
  attention_f32_kernel<DV_PER_LANE><<<grid, WARPS * 32, shared, stream>>> (q, k, v, out, *a);
  return cudaGetLastError ();
}

extern "C" cudaError_t
jd_cuda_launch_attention_f32 (const float *q, const float *k, const float *v, float *out,
                              const JdCudaAttention *a, cudaStream_t stream)
{
  const int64_t tiles = a->tile_start[a->n_segments];
  if (tiles <= 0 || a->batch <= 0 || a->heads <= 0)
    return cudaSuccess;
  if (tiles > 65535 || (int64_t) a->batch * a->heads > 2147483647LL
      || a->dv > JD_CUDA_ATTENTION_F32_MAX_DIM || a->dqk > 12 * 1024)
    return cudaErrorInvalidConfiguration;
  if (a->dv <= 64)
    return launch<2> (q, k, v, out, a, stream);
  if (a->dv <= 128)
    return launch<4> (q, k, v, out, a, stream);
  if (a->dv <= 256)
    return launch<8> (q, k, v, out, a, stream);
  if (a->dv <= 512)
    return launch<16> (q, k, v, out, a, stream);
  return launch<32> (q, k, v, out, a, stream);
}
