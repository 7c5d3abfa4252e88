/* Nearest upsampling, concat, slice and permute against references built index by index. */
#include <math.h>

#include "test-ops-common.h"

/* PyTorch's nearest source index for a given output size (see jd-cpu-layout.c); checked
 * against indices recorded from PyTorch in test_upsample_pytorch_indices. */
static int64_t
reference_nearest (int64_t o, int64_t in, int64_t out)
{
  if (in == out)
    return o;
  if (out == 2 * in)
    return o / 2;
  float scale = (float) in / (float) out;
  int64_t src = (int64_t) floorf ((float) o * scale);
  return MIN (src, in - 1);
}

static void
run_upsample (const JdTensor *x, JdTensor *y)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_upsample_nearest (jd_test_backend (), x, y, &error));
  g_assert_no_error (error);
}

static void
test_upsample_pytorch_indices (void)
{
  /* Source indices printed by torch.nn.functional.interpolate(x, size=..., mode='nearest')
   * (PyTorch 1.13) for x = arange(in). The last rows are where PyTorch's float arithmetic
   * differs from the exact floor(o · in / out). */
  static const struct { int in, out, first, count; int64_t idx[9]; } facts[] = {
    { 5, 9, 0, 9, { 0, 0, 1, 1, 2, 2, 3, 3, 4 } },
    { 9, 5, 0, 5, { 0, 1, 3, 5, 7 } },
    { 3, 7, 0, 7, { 0, 0, 0, 1, 1, 2, 2 } },
    { 7, 3, 0, 3, { 0, 2, 4 } },
    { 10, 7, 0, 7, { 0, 1, 2, 4, 5, 7, 8 } },
    { 4, 8, 0, 8, { 0, 0, 1, 1, 2, 2, 3, 3 } },
    { 3, 1, 0, 1, { 0 } },
    { 1, 4, 0, 4, { 0, 0, 0, 0 } },
    { 2, 82, 40, 3, { 0, 0, 1 } },        /* exact floor would give 0, 1, 1 */
    { 6, 74, 36, 3, { 2, 2, 3 } },        /* exact: 2, 3, 3 */
    { 3, 123, 40, 3, { 0, 0, 1 } },       /* exact: 0, 1, 1 */
  };
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize f = 0; f < G_N_ELEMENTS (facts); f++)
    {
      const int in = facts[f].in, out = facts[f].out;
      /* Along W and along H at once: x (1, 2, in, in) -> (1, 2, out, out). */
      g_autoptr (JdTensor) x = test_random (rng, 1.0f, 2.0f, TEST_SHAPE (1, 2, in, in));
      g_autoptr (JdTensor) y = test_poisoned (TEST_SHAPE (1, 2, out, out));
      run_upsample (x, y);
      const float *xs = x->data, *ys = y->data;
      for (int k = 0; k < facts[f].count; k++)
        {
          int64_t o = facts[f].first + k, src = facts[f].idx[k];
          g_assert_cmpint (reference_nearest (o, in, out), ==, src);
          for (int c = 0; c < 2; c++)
            {
              g_assert_cmpfloat (ys[(c * out + 0) * out + o], ==, xs[(c * in + 0) * in + src]);
              g_assert_cmpfloat (ys[(c * out + o) * out + 0], ==, xs[(c * in + src) * in + 0]);
            }
        }
    }
}

static void
test_upsample_shapes (void)
{
  const struct { TestShape in; int64_t ho, wo; } cases[] = {
    { { 4, { 2, 3, 5, 7 } }, 10, 14 },    /* ×2 */
    { { 4, { 1, 4, 5, 9 } }, 9, 5 },      /* odd sizes both ways */
    { { 4, { 1, 1, 1, 1 } }, 3, 2 },
    { { 4, { 2, 3, 4, 4 } }, 4, 4 },      /* identity */
    { { 4, { 1, 2, 17, 13 } }, 33, 27 },
    { { 4, { 1, 2, 17, 13 } }, 34, 26 },  /* ×2 with odd input */
    { { 4, { 1, 8, 64, 64 } }, 128, 128 },
    { { 4, { 3, 2, 6, 6 } }, 74, 5 },
  };
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const TestShape in = cases[c].in;
      const TestShape out = TEST_SHAPE (in.d[0], in.d[1], cases[c].ho, cases[c].wo);
      g_autoptr (JdTensor) x = test_random (rng, -1.0f, 1.0f, in);
      g_autoptr (JdTensor) y = test_poisoned (out);
      run_upsample (x, y);
      const int64_t n = test_shape_numel (out);
      g_autofree double *ref = test_doubles (n);
      const float *xs = x->data;
      for (int64_t i = 0; i < n; i++)
        {
          int64_t wo = i % out.d[3], ho = (i / out.d[3]) % out.d[2];
          int64_t plane = i / (out.d[2] * out.d[3]);
          int64_t hi = reference_nearest (ho, in.d[2], out.d[2]);
          int64_t wi = reference_nearest (wo, in.d[3], out.d[3]);
          ref[i] = xs[(plane * in.d[2] + hi) * in.d[3] + wi];
        }
      jd_test_assert_close (y->data, ref, n, 0.0);
    }
}

/* --- concat, slice --- */

static void
test_concat (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  const TestShape bases[] = {
    { 1, { 5 } }, { 2, { 3, 4 } }, { 3, { 2, 1, 7 } }, { 4, { 2, 3, 5, 9 } },
    { 5, { 2, 1, 3, 4, 5 } }, { 3, { 3, 40, 300 } },
  };
  for (gsize b = 0; b < G_N_ELEMENTS (bases); b++)
    for (int axis = 0; axis < bases[b].ndim; axis++)
      for (int n_src = 1; n_src <= JD_OP_MAX_SRC; n_src += (n_src < 3 ? 1 : 5))
        {
          JdTensor *src[JD_OP_MAX_SRC];
          TestShape out = bases[b];
          out.d[axis] = 0;
          for (int k = 0; k < n_src; k++)
            {
              TestShape s = bases[b];
              /* sizes along the axis vary, one input is empty when there are several */
              s.d[axis] = (k == 1 && n_src > 2) ? 0 : 1 + (k * 3 + b) % 4;
              out.d[axis] += s.d[axis];
              src[k] = test_random (rng, -1.0f, 1.0f, s);
            }
          g_autoptr (JdTensor) dst = test_poisoned (out);
          g_autoptr (GError) error = NULL;
          g_assert_true (jd_concat (be, n_src, (const JdTensor *const *) src, axis, dst, &error));
          g_assert_no_error (error);

          /* Reference: walk dst, find the input each index along the axis comes from. */
          const int64_t n = test_shape_numel (out);
          g_autofree double *ref = test_doubles (n);
          int64_t inner = 1;
          for (int i = axis + 1; i < out.ndim; i++)
            inner *= out.d[i];
          for (int64_t i = 0; i < n; i++)
            {
              int64_t a = (i / inner) % out.d[axis], outer = i / (inner * out.d[axis]);
              int k = 0;
              while (a >= src[k]->shape[axis])
                a -= src[k++]->shape[axis];
              const float *s = src[k]->data;
              ref[i] = s[(outer * src[k]->shape[axis] + a) * inner + i % inner];
            }
          jd_test_assert_close (dst->data, ref, n, 0.0);
          for (int k = 0; k < n_src; k++)
            jd_tensor_free (src[k]);
        }
}

static void
test_slice (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  const TestShape shapes[] = {
    { 1, { 9 } }, { 2, { 5, 7 } }, { 4, { 2, 3, 5, 9 } }, { 5, { 2, 1, 3, 4, 5 } },
    { 3, { 4, 50, 301 } },
  };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int axis = 0; axis < shapes[s].ndim; axis++)
      {
        const int64_t len = shapes[s].d[axis];
        g_autoptr (JdTensor) src = test_random (rng, -1.0f, 1.0f, shapes[s]);
        /* Split into pieces of 2 (and a shorter last one), plus the whole and a single element
         * at the end; each piece against the reference. */
        for (int64_t offset = 0; offset <= len; offset += 2)
          for (int variant = 0; variant < 3; variant++)
            {
              int64_t size = variant == 0 ? MIN (2, len - offset)
                             : variant == 1 ? len - offset : (offset < len ? 1 : 0);
              TestShape out = shapes[s];
              out.d[axis] = size;
              g_autoptr (JdTensor) dst = test_poisoned (out);
              g_autoptr (GError) error = NULL;
              g_assert_true (jd_slice (be, src, axis, offset, dst, &error));
              g_assert_no_error (error);
              const int64_t n = test_shape_numel (out);
              if (n == 0)
                continue;
              g_autofree double *ref = test_doubles (n);
              int64_t inner = 1;
              for (int i = axis + 1; i < out.ndim; i++)
                inner *= out.d[i];
              const float *xs = src->data;
              for (int64_t i = 0; i < n; i++)
                {
                  int64_t a = (i / inner) % size, outer = i / (inner * size);
                  ref[i] = xs[(outer * len + offset + a) * inner + i % inner];
                }
              jd_test_assert_close (dst->data, ref, n, 0.0);
            }
      }
}

/* --- permute --- */

static void
check_permute (GRand *rng, TestShape in, const int *perm)
{
  TestShape out = in;
  for (int i = 0; i < in.ndim; i++)
    out.d[i] = in.d[perm[i]];
  g_autoptr (JdTensor) src = test_random (rng, -1.0f, 1.0f, in);
  g_autoptr (JdTensor) dst = test_poisoned (out);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_permute (jd_test_backend (), src, perm, dst, &error));
  g_assert_no_error (error);
  const int64_t n = test_shape_numel (out);
  g_autofree double *ref = test_doubles (n);
  int64_t in_stride[JD_MAX_DIMS], s = 1;
  for (int i = in.ndim - 1; i >= 0; i--)
    {
      in_stride[i] = s;
      s *= in.d[i];
    }
  const float *xs = src->data;
  for (int64_t i = 0; i < n; i++)
    {
      int64_t rest = i, offset = 0;
      for (int d = out.ndim - 1; d >= 0; d--)
        {
          offset += (rest % out.d[d]) * in_stride[perm[d]];
          rest /= out.d[d];
        }
      ref[i] = xs[offset];
    }
  jd_test_assert_close (dst->data, ref, n, 0.0);
}

/* Checks every permutation of perm[0..k-1] (Heap's algorithm). */
static void
each_permutation (int n, int *perm, int k, GRand *rng, TestShape shape)
{
  if (k == 1)
    {
      check_permute (rng, shape, perm);
      return;
    }
  for (int i = 0; i < k; i++)
    {
      each_permutation (n, perm, k - 1, rng, shape);
      int j = k % 2 == 0 ? i : 0;
      int t = perm[j];
      perm[j] = perm[k - 1];
      perm[k - 1] = t;
    }
}

static void
test_permute_all (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  const TestShape shapes[] = {
    { 1, { 7 } }, { 2, { 3, 5 } }, { 3, { 2, 3, 4 } }, { 4, { 3, 1, 5, 2 } },
    { 5, { 2, 3, 1, 5, 7 } }, { 5, { 3, 2, 4, 1, 33 } },
  };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      int perm[JD_MAX_DIMS] = { 0, 1, 2, 3, 4 };
      each_permutation (shapes[s].ndim, perm, shapes[s].ndim, rng, shapes[s]);
    }
}

static void
test_permute_large (void)
{
  /* Sizes past the transpose tile, odd and not multiples of it. */
  g_autoptr (GRand) rng = jd_test_rng ();
  check_permute (rng, TEST_SHAPE (1, 300, 257), (int[]) { 0, 2, 1 });
  check_permute (rng, TEST_SHAPE (2, 65, 3, 97), (int[]) { 0, 2, 3, 1 });   /* NCHW -> NHWC */
  check_permute (rng, TEST_SHAPE (2, 3, 97, 65), (int[]) { 0, 3, 1, 2 });   /* NHWC -> NCHW */
  check_permute (rng, TEST_SHAPE (1000, 3), (int[]) { 1, 0 });
  check_permute (rng, TEST_SHAPE (3, 1000), (int[]) { 1, 0 });
  check_permute (rng, TEST_SHAPE (2, 40, 8, 33), (int[]) { 0, 2, 1, 3 });  /* heads split */
  check_permute (rng, TEST_SHAPE (33, 34, 35), (int[]) { 2, 1, 0 });
}

static void
test_invalid_arguments (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *be = jd_test_backend ();
  g_autoptr (JdTensor) x4 = test_random (rng, -1, 1, TEST_SHAPE (2, 3, 4, 5));
  g_autoptr (JdTensor) x3 = test_random (rng, -1, 1, TEST_SHAPE (2, 3, 4));
  g_autoptr (JdTensor) y4 = test_poisoned (TEST_SHAPE (2, 3, 8, 10));
  g_autoptr (JdTensor) y4c = test_poisoned (TEST_SHAPE (2, 4, 8, 10));
  g_autoptr (JdTensor) y4e = test_poisoned (TEST_SHAPE (2, 3, 0, 10));
  g_autoptr (JdTensor) y3 = test_poisoned (TEST_SHAPE (2, 3, 8));
  g_autoptr (JdTensor) cat = test_poisoned (TEST_SHAPE (2, 6, 4));
  g_autoptr (JdTensor) other = test_random (rng, -1, 1, TEST_SHAPE (2, 3, 5));
  g_autoptr (JdTensor) s2 = test_poisoned (TEST_SHAPE (2, 2, 4));
  g_autoptr (JdTensor) s2d = test_poisoned (TEST_SHAPE (2, 2));
  g_autoptr (JdTensor) p = test_poisoned (TEST_SHAPE (4, 2, 3));

  const char *up = "nearest upsample", *cc = "concat", *sl = "slice", *pm = "permute";
  test_assert_refused (jd_upsample_nearest (be, x3, y3, error_out), up);
  test_assert_refused (jd_upsample_nearest (be, x3, y4, error_out), up);
  test_assert_refused (jd_upsample_nearest (be, x4, y4c, error_out), up);
  test_assert_refused (jd_upsample_nearest (be, x4, y4e, error_out), up);
  test_assert_refused (jd_upsample_nearest (be, x4, NULL, error_out), up);

  const JdTensor *pair[2] = { x3, x3 }, *mismatched[2] = { x3, other }, *nine[9];
  const JdTensor *with_null[2] = { x3, NULL }, *ranks[2] = { x3, x4 };
  for (int i = 0; i < 9; i++)
    nine[i] = x3;
  test_assert_refused (jd_concat (be, 0, pair, 1, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 9, nine, 1, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 2, pair, 3, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 2, pair, -1, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 2, pair, 0, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 2, mismatched, 1, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 2, with_null, 1, cat, error_out), cc);
  test_assert_refused (jd_concat (be, 2, ranks, 1, cat, error_out), cc);
  g_autoptr (JdTensor) overlay = jd_tensor_new_view (be, JD_DTYPE_F32, 3, cat->shape, x3->data);
  test_assert_refused (jd_concat (be, 2, pair, 1, overlay, error_out), cc);

  test_assert_refused (jd_slice (be, x3, 1, 2, s2, error_out), sl);    /* 2..4 of 3 */
  test_assert_refused (jd_slice (be, x3, 1, -1, s2, error_out), sl);
  test_assert_refused (jd_slice (be, x3, 3, 0, s2, error_out), sl);
  test_assert_refused (jd_slice (be, x3, 0, 0, s2, error_out), sl);    /* other dims differ */
  test_assert_refused (jd_slice (be, x3, 1, 0, s2d, error_out), sl);
  test_assert_refused (jd_slice (be, x3, 1, G_MAXINT64, s2, error_out), sl);

  test_assert_refused (jd_permute (be, x3, (int[]) { 0, 0, 1 }, p, error_out), pm);
  test_assert_refused (jd_permute (be, x3, (int[]) { 0, 1, 3 }, p, error_out), pm);
  test_assert_refused (jd_permute (be, x3, (int[]) { 2, 1, -1 }, p, error_out), pm);
  test_assert_refused (jd_permute (be, x3, (int[]) { 2, 0, 1 }, s2, error_out), pm);
  test_assert_refused (jd_permute (be, x3, NULL, p, error_out), pm);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layout/upsample/pytorch-indices", test_upsample_pytorch_indices);
  g_test_add_func ("/layout/upsample/shapes", test_upsample_shapes);
  g_test_add_func ("/layout/concat", test_concat);
  g_test_add_func ("/layout/slice", test_slice);
  g_test_add_func ("/layout/permute/all", test_permute_all);
  g_test_add_func ("/layout/permute/large", test_permute_large);
  g_test_add_func ("/layout/invalid-arguments", test_invalid_arguments);
  return g_test_run ();
}
