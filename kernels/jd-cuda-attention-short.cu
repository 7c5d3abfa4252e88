/* Attention over short sequences in F32: the video UNet's temporal attention, where every pixel
 * of every sample is its own sequence along the frames (length = frames, 14 or 25; batch =
 * pixels, tens of thousands of sequences × heads). UNVERIFIED ON A GPU: written and compiled
 * on a machine without one; tests/gpu/test-cuda-attention-short.c checks it against the CPU
 * backend where a GPU is present.
 *
 * The tiled kernels waste such sequences: the tensor-core kernel's 64-query tile holds 14–25
 * queries, and the F32 kernel reads the same ≤ 32 key and value rows again for every query.
 * Here one warp owns one (sequence, head): it copies that head's keys and values (≤ 32 rows of
 * ≤ 128) into shared memory once, then for each query lane j scores key j against the query,
 * the softmax's maximum and sum are two warp reductions (exact, no online rescaling: every key
 * is in view at once), and the probabilities are broadcast in turn while every lane adds p · v
 * to its own dv / 32 output dims. Inputs are read once and outputs written once, coalesced;
 * everything is F32 with F32 accumulation, in either backend precision (no TF32, no BF16).
 */
#include "jd-cuda-kernels.h"

#include <math.h>

/* Warps (sequences × heads) per block, at most; fewer when the heads are wide enough that
 * their shared memory would pass the 48 KiB a block gets without opting in. */
#define MAX_WARPS 4
#define SHARED_BYTES_PER_BLOCK (48 * 1024)

/* Row stride of the keys in shared memory: odd, so lane j reading element d of row j hits
 * bank (j · stride + d) mod 32, a different bank for every lane. */
static __host__ __device__ __forceinline__ int
key_stride (int dqk)
{
  return dqk | 1;
}

/* Floats of shared memory one warp uses: its query, its keys (padded rows), its values. */
static __host__ __device__ __forceinline__ int64_t
floats_per_warp (const JdCudaAttention &a)
{
  return (int64_t) a.dqk + a.lk * key_stride (a.dqk) + a.lk * a.dv;
}

template <int DV_PER_LANE>
static __global__ void
attention_short_kernel (const float *__restrict__ q, const float *__restrict__ k,
                        const float *__restrict__ v, float *__restrict__ out, JdCudaAttention a,
                        int warps_per_block)
{
  extern __shared__ float shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t pair = (int64_t) blockIdx.x * warps_per_block + warp;
  if (pair >= (int64_t) a.batch * a.heads)
    return;  /* no __syncthreads below: warps are independent */
  const int64_t b = pair / a.heads;
  const int h = (int) (pair % a.heads);
  const int lk = (int) a.lk, dqk = a.dqk, dv = a.dv, ks_stride = key_stride (dqk);

  float *qs = shared + warp * floats_per_warp (a);
  float *ks = qs + dqk;
  float *vs = ks + lk * ks_stride;

  const int64_t q_row_stride = (int64_t) a.heads * dqk;
  const int64_t v_row_stride = (int64_t) a.heads * dv;
  const float *k_base = k + b * a.lk * q_row_stride + (int64_t) h * dqk;
  const float *v_base = v + b * a.lk * v_row_stride + (int64_t) h * dv;
  /* Consecutive lanes read consecutive elements of a row: coalesced. */
  for (int e = lane; e < lk * dqk; e += 32)
    {
      const int j = e / dqk, d = e % dqk;
      ks[j * ks_stride + d] = k_base[j * q_row_stride + d];
    }
  for (int e = lane; e < lk * dv; e += 32)
    {
      const int j = e / dv, d = e % dv;
      vs[j * dv + d] = v_base[j * v_row_stride + d];
    }

  for (int64_t i = 0; i < a.lq; i++)
    {
      const float *q_row = q + (b * a.lq + i) * q_row_stride + (int64_t) h * dqk;
      for (int d = lane; d < dqk; d += 32)
        qs[d] = q_row[d];
      __syncwarp ();  /* the keys and values (first query) and this query are in place */

      float s = -INFINITY;
      if (lane < lk)
        {
          const float *k_row = ks + lane * ks_stride;
          float dot = 0.0f;
          for (int d = 0; d < dqk; d++)
            dot = fmaf (qs[d], k_row[d], dot);
          s = dot * a.scale;
        }
      float m = s;
      for (int off = 16; off > 0; off >>= 1)
        m = fmaxf (m, __shfl_xor_sync (0xffffffffu, m, off));
      const float p = lane < lk ? expf (s - m) : 0.0f;
      float l = p;
      for (int off = 16; off > 0; off >>= 1)
        l += __shfl_xor_sync (0xffffffffu, l, off);

      float o[DV_PER_LANE];
#pragma unroll
      for (int j = 0; j < DV_PER_LANE; j++)
        o[j] = 0.0f;
      for (int t = 0; t < lk; t++)
        {
          const float pt = __shfl_sync (0xffffffffu, p, t);
          const float *v_row = vs + t * dv;
#pragma unroll
          for (int j = 0; j < DV_PER_LANE; j++)
            {
              const int d = lane + 32 * j;
              if (d < dv)
                o[j] = fmaf (pt, v_row[d], o[j]);
            }
        }

      float *out_row = out + (b * a.lq + i) * v_row_stride + (int64_t) h * dv;
      const float inv_l = l > 0.0f ? 1.0f / l : 0.0f;  /* l = 0 only without keys */
#pragma unroll
      for (int j = 0; j < DV_PER_LANE; j++)
        {
          const int d = lane + 32 * j;
          if (d < dv)
            out_row[d] = o[j] * inv_l;
        }
      __syncwarp ();  /* every lane has read qs before the next query overwrites it */
    }
}

template <int DV_PER_LANE>
static cudaError_t
launch (const float *q, const float *k, const float *v, float *out, const JdCudaAttention *a,
        cudaStream_t stream)
{
  const int64_t warp_bytes = floats_per_warp (*a) * (int64_t) sizeof (float);
  int warps = (int) (SHARED_BYTES_PER_BLOCK / warp_bytes);
  if (warps > MAX_WARPS)
    warps = MAX_WARPS;
  if (warps < 1)
    return cudaErrorInvalidConfiguration;  /* not within jd_cuda_attention_short_fits */
  const int64_t pairs = (int64_t) a->batch * a->heads;
  const int64_t blocks = (pairs + warps - 1) / warps;
  if (blocks > 2147483647LL)
    return cudaErrorInvalidConfiguration;
  attention_short_kernel<DV_PER_LANE><<<(unsigned) blocks, warps * 32,
                                         (size_t) (warps * warp_bytes), stream>>> (q, k, v, out,
                                                                                  *a, warps);
  return cudaGetLastError ();
}

extern "C" int
jd_cuda_attention_short_fits (const JdCudaAttention *a)
{
  /* Full attention only: the kernel gives every query every key. */
  const int full = a->n_segments == 0
                   || (a->n_segments == 1 && a->q_start[0] == 0 && a->q_len[0] == a->lq
                       && a->k_start[0] == 0 && a->k_len[0] == a->lk);
  return full && a->lq <= JD_CUDA_ATTENTION_SHORT_MAX_LEN
         && a->lk <= JD_CUDA_ATTENTION_SHORT_MAX_LEN && a->dqk >= 1 && a->dv >= 1
         && a->dqk <= JD_CUDA_ATTENTION_SHORT_MAX_DIM && a->dv <= JD_CUDA_ATTENTION_SHORT_MAX_DIM;
}

extern "C" cudaError_t
jd_cuda_launch_attention_short (const float *q, const float *k, const float *v, float *out,
                                const JdCudaAttention *a, cudaStream_t stream)
{
  if (!jd_cuda_attention_short_fits (a))
    return cudaErrorInvalidValue;
  if (a->batch <= 0 || a->heads <= 0 || a->lq <= 0)
    return cudaSuccess;
  if (a->dv <= 32)
    return launch<1> (q, k, v, out, a, stream);
  if (a->dv <= 64)
    return launch<2> (q, k, v, out, a, stream);
  return launch<4> (q, k, v, out, a, stream);
}
