/* jd-cuda-attention-tiles.cuh — how the attention kernels find their work: block x is
 * (batch, head) (up to 2^31 of them: temporal attention has pixels × heads), block y a tile of
 * queries of one segment (tiles never straddle a segment, so a tile sees one contiguous key
 * range; at most 65535 tiles). */
#pragma once

#include "jd-cuda-kernels.h"

typedef struct {
  int64_t q_begin, q_end;   /* the tile's queries */
  int64_t k_begin, k_end;   /* the keys they see */
} JdCudaAttentionTile;

static __device__ __forceinline__ JdCudaAttentionTile
jd_cuda_attention_tile (const JdCudaAttention &a, int64_t tile, int tile_size)
{
  int s = 0;
  while (s + 1 < a.n_segments && tile >= a.tile_start[s + 1])
    s++;
  JdCudaAttentionTile t;
  t.q_begin = a.q_start[s] + (tile - a.tile_start[s]) * tile_size;
  const int64_t q_stop = a.q_start[s] + a.q_len[s];
  t.q_end = t.q_begin + tile_size < q_stop ? t.q_begin + tile_size : q_stop;
  t.k_begin = a.k_start[s];
  t.k_end = a.k_start[s] + a.k_len[s];
  return t;
}
