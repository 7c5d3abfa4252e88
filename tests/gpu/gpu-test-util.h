/* gpu-test-util.h — what the GPU tests share: the skip when no GPU is usable (exit 77, which
 * meson counts as skipped), copies between the CPU test backend and the CUDA backend, NaN
 * poisoning on the device, and the error measure against the CPU's result. */
#pragma once

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "jd-cuda-backend.h"
#include "jd-error.h"
#include "jointdit.h"
#include "test-util.h"

#define GPU_TEST_SKIP 77

/* Exits with 77 (skipped) and the runtime's reason when there is no usable GPU. */
static inline void
gpu_test_require_device (void)
{
  char *reason = NULL;
  if (jd_cuda_device_count (&reason) == 0)
    {
      printf ("SKIP: %s\n", reason ? reason : "no GPU");
      free (reason);  /* g_strdup'd: g_free and free are the same allocator since GLib 2.46 */
      exit (GPU_TEST_SKIP);
    }
}

static inline JdBackend *
gpu_test_backend (JdCudaPrecision precision)
{
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_cuda_backend_new (0, precision, &error);
  if (backend == NULL)
    {
      /* A GPU the runtime lists but this build cannot use (too old) is a skip too. */
      if (g_error_matches (error, JD_ERROR, JD_ERROR_UNSUPPORTED))
        {
          printf ("SKIP: %s\n", error->message);
          exit (GPU_TEST_SKIP);
        }
      g_error ("%s", error->message);
    }
  return backend;
}

/* The F32 and the BF16 backend, each pinned to its precision: the environment's
 * JD_CUDA_PRECISION must not override what each one tests. */
static inline void
gpu_test_backends (JdBackend **f32, JdBackend **bf16)
{
  *f32 = gpu_test_backend (JD_CUDA_PRECISION_F32);
  *bf16 = gpu_test_backend (JD_CUDA_PRECISION_BF16);
  jd_cuda_backend_set_precision (*f32, JD_CUDA_PRECISION_F32);
  jd_cuda_backend_set_precision (*bf16, JD_CUDA_PRECISION_BF16);
}

/* A copy of host tensor t on the GPU backend. */
static inline JdTensor *
gpu_test_upload (JdBackend *gpu, const JdTensor *t)
{
  g_autoptr (GError) error = NULL;
  JdTensor *copy = jd_tensor_new (gpu, JD_DTYPE_F32, t->ndim, t->shape, &error);
  g_assert_no_error (error);
  g_assert_true (jd_tensor_upload_f32 (copy, t->data, &error));
  g_assert_no_error (error);
  return copy;
}

/* An output on the GPU filled with NaN, so elements the op does not write show. */
static inline JdTensor *
gpu_test_poisoned (JdBackend *gpu, int ndim, const int64_t *shape)
{
  g_autoptr (GError) error = NULL;
  JdTensor *t = jd_tensor_new (gpu, JD_DTYPE_F32, ndim, shape, &error);
  g_assert_no_error (error);
  const gsize n = (gsize) jd_tensor_numel (t);
  g_autofree float *nan = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    nan[i] = NAN;
  g_assert_true (jd_tensor_upload_f32 (t, nan, &error));
  g_assert_no_error (error);
  return t;
}

/* The GPU tensor's values, downloaded (free with g_free). */
static inline float *
gpu_test_download (const JdTensor *t)
{
  g_autoptr (GError) error = NULL;
  float *host = g_new (float, MAX (jd_tensor_numel (t), 1));
  g_assert_true (jd_tensor_download_f32 (t, host, &error));
  g_assert_no_error (error);
  return host;
}

/* ‖gpu − cpu‖ / ‖cpu‖ for a GPU tensor against the CPU's result. */
static inline double
gpu_test_error (const JdTensor *gpu_out, const float *cpu, gsize n)
{
  g_autofree float *got = gpu_test_download (gpu_out);
  g_autofree double *want = g_new (double, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    want[i] = cpu[i];
  return jd_test_rel_error (got, want, n);
}

/* A `steps`-step joint-star generation (ω 1 / 1.5, seed 11) of the parity bundle on `device`,
 * from a smooth picture: a random one would make CPU/GPU comparisons hinge on noise. */
static inline JdResult *
gpu_test_generate_parity (JdDevice device, int steps)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference",
                                                 "parity.safetensors", NULL);
  g_autoptr (JdEngine) engine = jd_engine_open (path, device, 2, &error);
  g_assert_no_error (error);
  const JdModelInfo *info = jd_engine_get_info (engine);
  g_assert_cmpstr (info->backend, ==, device == JD_DEVICE_CUDA ? "cuda" : "cpu");
  const gsize stride = (gsize) info->width * 3;
  g_autofree guint8 *rgb = g_new (guint8, stride * info->height);
  for (int y = 0; y < info->height; y++)
    for (int x = 0; x < info->width; x++)
      for (int ch = 0; ch < 3; ch++)
        rgb[y * stride + x * 3 + ch] = (guint8) ((x * 255 / MAX (info->width - 1, 1)
                                                  + y * 97 / MAX (info->height, 1) + ch * 60)
                                                 % 256);
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  jd_guidance_set_mode (guidance, JD_GUIDANCE_JOINT_STAR);
  g_assert_true (jd_guidance_set_omega (guidance, 1.0, 1.5, NULL));
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.steps = steps;
  params.seed = 11;
  params.guidance = guidance;
  JdResult *result = NULL;
  g_assert_true (jd_engine_generate (engine, rgb, info->width, info->height, stride, &params,
                                     &result, &error));
  g_assert_no_error (error);
  return result;
}
