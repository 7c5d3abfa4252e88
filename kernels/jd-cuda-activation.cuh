/* jd-cuda-activation.cuh — the unary functions of jd-op.h as device functions, written in the
 * numerically careful forms the CPU backend uses (jd-cpu-activation.c). */
#pragma once

#include "jd-cuda-kernels.h"

static __device__ __forceinline__ float
jd_cuda_sigmoid (float x)
{
  /* exp of a non-positive argument only: no overflow for large |x|. */
  float e = expf (-fabsf (x));
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

static __device__ __forceinline__ float
jd_cuda_unary (int kind, float x, float alpha, float beta)
{
  switch (kind)
    {
    case JD_CUDA_UNARY_SILU:
      return x * jd_cuda_sigmoid (x);
    case JD_CUDA_UNARY_GELU:
      return 0.5f * x * erfcf (-x * 0.70710678118654752f);
    case JD_CUDA_UNARY_GELU_TANH:
      {
        /* 0.5·(1 + tanh u) = σ(2u) avoids the cancellation of 1 + tanh u for negative x. */
        float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
        return x * jd_cuda_sigmoid (2.0f * u);
      }
    case JD_CUDA_UNARY_LEAKY_RELU:
      return x >= 0.0f ? x : alpha * x;
    case JD_CUDA_UNARY_TANH:
      return tanhf (x);
    case JD_CUDA_UNARY_SIGMOID:
      return jd_cuda_sigmoid (x);
    case JD_CUDA_UNARY_AFFINE:
      return alpha * x + beta;
    case JD_CUDA_UNARY_IDENTITY:
    default:
      return x;
    }
}
