/* Tiled multi-head attention against a float64 softmax-attention reference. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "jd-cpu-attention-kernels.h"
#include "jd-error.h"
#include "jd-ops.h"
#include "test-util.h"

typedef struct {
  int64_t batch, lq, lk;
  int     heads, dqk, dv;
  int     n_segments;
  int64_t q_segments[JD_MAX_SEGMENTS];
  int64_t k_segments[JD_MAX_SEGMENTS];
} Shape;

/* Naive attention in double: for each query, the logits of the keys of its segment, their
 * softmax, the weighted sum of values. Returns the largest |logit| seen. */
static double
reference_attention (const Shape *s, const float *q, const float *k, const float *v, float scale,
                     double *out)
{
  int n_seg = s->n_segments > 0 ? s->n_segments : 1;
  double max_logit = 0.0;
  g_autofree double *logits = g_new (double, MAX (s->lk, 1));
  for (int64_t b = 0; b < s->batch; b++)
    for (int h = 0; h < s->heads; h++)
      {
        int64_t q0 = 0, k0 = 0;
        for (int seg = 0; seg < n_seg; seg++)
          {
            int64_t nq = s->n_segments > 0 ? s->q_segments[seg] : s->lq;
            int64_t nk = s->n_segments > 0 ? s->k_segments[seg] : s->lk;
            for (int64_t i = q0; i < q0 + nq; i++)
              {
                const float *qi = q + ((b * s->lq + i) * s->heads + h) * s->dqk;
                double m = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j < nk; j++)
                  {
                    const float *kj = k + ((b * s->lk + k0 + j) * s->heads + h) * s->dqk;
                    double dot = 0.0;
                    for (int c = 0; c < s->dqk; c++)
                      dot += (double) qi[c] * kj[c];
                    logits[j] = dot * scale;
                    m = MAX (m, logits[j]);
                    max_logit = MAX (max_logit, fabs (logits[j]));
                  }
                for (int64_t j = 0; j < nk; j++)
                  {
                    logits[j] = exp (logits[j] - m);
                    sum += logits[j];
                  }
                double *oi = out + ((b * s->lq + i) * s->heads + h) * s->dv;
                for (int c = 0; c < s->dv; c++)
                  oi[c] = 0.0;
                for (int64_t j = 0; j < nk; j++)
                  {
                    const float *vj = v + ((b * s->lk + k0 + j) * s->heads + h) * s->dv;
                    for (int c = 0; c < s->dv; c++)
                      oi[c] += logits[j] / sum * vj[c];
                  }
              }
            q0 += nq;
            k0 += nk;
          }
      }
  return max_logit;
}

static JdTensor *
run_attention (const Shape *s, const JdTensor *q, const JdTensor *k, const JdTensor *v,
               float scale)
{
  g_autoptr (GError) error = NULL;
  int64_t dst_shape[3] = { s->batch, s->lq, (int64_t) s->heads * s->dv };
  JdTensor *dst = jd_test_tensor_poisoned (3, dst_shape);
  gboolean ok = jd_attention (jd_test_backend (), q, k, v, s->heads, scale, s->n_segments,
                              s->q_segments, s->k_segments, dst, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  return dst;
}

/* Random q, k in [-amp, amp], v in [-1, 1]; checks the op against the reference and returns
 * the largest |logit| so callers can assert the range they meant to cover. */
static double
check_shape (GRand *rng, const Shape *s, float amp)
{
  int64_t q_shape[3] = { s->batch, s->lq, (int64_t) s->heads * s->dqk };
  int64_t k_shape[3] = { s->batch, s->lk, (int64_t) s->heads * s->dqk };
  int64_t v_shape[3] = { s->batch, s->lk, (int64_t) s->heads * s->dv };
  g_autoptr (JdTensor) q = jd_test_tensor_random (rng, -amp, amp, 3, q_shape);
  g_autoptr (JdTensor) k = jd_test_tensor_random (rng, -amp, amp, 3, k_shape);
  g_autoptr (JdTensor) v = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, v_shape);
  float scale = 1.0f / sqrtf ((float) s->dqk);
  g_autoptr (JdTensor) dst = run_attention (s, q, k, v, scale);
  gsize n = (gsize) jd_tensor_numel (dst);
  g_autofree double *want = g_new (double, MAX (n, 1));
  double max_logit = reference_attention (s, q->data, k->data, v->data, scale, want);
  jd_test_assert_close ((const float *) dst->data, want, n, 1e-4);
  return max_logit;
}

static void
test_exp2 (void)
{
  /* Every kernel set's 2^x against libm in double over the softmax's whole range, x ≤ 0. */
  g_autoptr (GRand) rng = jd_test_rng ();
  const JdAttentionKernels *sets[] = { jd_cpu_attention_kernels_scalar (),
                                       jd_cpu_attention_kernels_avx2 () };
  const int n = 100003; /* not a multiple of the vector width */
  g_autofree float *x = g_new (float, n);
  g_autofree float *y = g_new (float, n);
  for (int i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rng, i % 2 ? -2.0 : -126.0, 0.0);
  x[0] = 0.0f;
  x[1] = -126.0f;
  x[2] = -1e-8f;
  x[3] = -0.5f;
  x[4] = -0.49999997f;
  x[5] = -1.5f;
  for (gsize set = 0; set < G_N_ELEMENTS (sets); set++)
    {
      if (sets[set] == NULL)
        {
          g_test_message ("no AVX2 on this CPU: its exp2 is not tested");
          continue;
        }
      sets[set]->exp2 (x, y, n);
      double worst = 0.0;
      for (int i = 0; i < n; i++)
        worst = MAX (worst, fabs (y[i] - exp2 ((double) x[i])) / exp2 ((double) x[i]));
      g_test_message ("%s exp2: worst relative error %.3g", sets[set]->name, worst);
      g_assert_cmpfloat (worst, <=, 2e-7);
      g_assert_cmpfloat (y[0], ==, 1.0f);

      /* Below the normal range the result is exactly 0, never a denormal or garbage; NaN in,
       * NaN out, so a broken input is not hidden. */
      float low[9] = { -INFINITY, -1e30f, -200.0f, -127.0f, -126.6f, -150.0f, -1e6f, NAN,
                       -126.4f };
      float out[9];
      sets[set]->exp2 (low, out, 9);
      for (int i = 0; i < 7; i++)
        g_assert_cmpfloat (out[i], ==, 0.0f);
      g_assert_true (isnan (out[7]));
      g_assert_cmpfloat (out[8], >=, 0.0f); /* just below the normal range: 0 or a denormal */
      g_assert_cmpfloat (out[8], <=, FLT_MIN);
    }
}

static void
test_shapes (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  static const Shape shapes[] = {
    /* batch, lq, lk, heads, dqk, dv */
    { 1, 7, 7, 1, 8, 8 },
    { 3, 65, 129, 2, 16, 16 },
    { 1, 129, 65, 5, 48, 48 },
    { 1, 200, 300, 2, 64, 64 },
    { 3, 33, 17, 1, 80, 80 },
    { 1, 97, 130, 2, 128, 128 },
    { 1, 50, 70, 1, 512, 512 },
    { 2, 40, 90, 3, 32, 48 },    /* Dv ≠ Dqk */
    { 1, 30, 45, 2, 48, 32 },
    { 1, 19, 23, 2, 20, 12 },    /* Dv not a multiple of 8 */
    { 1, 13, 11, 1, 3, 5 },      /* head dims below 8 still work */
    { 3, 1, 129, 5, 64, 64 },    /* a single query */
    { 2, 1, 1, 2, 16, 16 },      /* a single query and key */
    { 3, 65, 1, 5, 64, 40 },     /* a single key: cross-attention to one context token */
    { 1, 1000, 1000, 1, 64, 64 },
    { 1, 600, 1000, 1, 16, 16 },
    { 2, 700, 513, 1, 8, 8 },    /* more keys than one tile */
    { 200, 14, 14, 2, 64, 64 },  /* temporal attention: many short sequences */
    { 64, 25, 25, 1, 16, 16 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (rng, &shapes[i], 1.0f);
}

static void
test_wide_logits (void)
{
  /* Logits reaching ±80: a naive exp(s) would overflow; the running max keeps it finite. */
  g_autoptr (GRand) rng = jd_test_rng ();
  Shape s = { 2, 100, 700, 2, 16, 16 };
  double max_logit = check_shape (rng, &s, 7.2f);
  g_test_message ("largest |logit| %.1f", max_logit);
  g_assert_cmpfloat (max_logit, >=, 60.0);
  g_assert_cmpfloat (max_logit, <=, 120.0);

  Shape b = { 1, 50, 600, 1, 64, 64 };
  max_logit = check_shape (rng, &b, 6.0f);
  g_test_message ("largest |logit| %.1f", max_logit);
  g_assert_cmpfloat (max_logit, >=, 40.0);
}

static void
test_dominant_key (void)
{
  /* Positive queries and one key far along their direction: that key's weight is ~1, so the
   * output is its value; the dominant key sits late, after the running max was set by others. */
  g_autoptr (GRand) rng = jd_test_rng ();
  Shape s = { 1, 70, 900, 2, 32, 32 };
  int64_t q_shape[3] = { 1, 70, 64 }, k_shape[3] = { 1, 900, 64 }, v_shape[3] = { 1, 900, 64 };
  g_autoptr (JdTensor) q = jd_test_tensor_random (rng, 0.5f, 1.0f, 3, q_shape);
  g_autoptr (JdTensor) k = jd_test_tensor_random (rng, -0.3f, 0.3f, 3, k_shape);
  g_autoptr (JdTensor) v = jd_test_tensor_random (rng, -1.0f, 1.0f, 3, v_shape);
  float *kd = k->data;
  for (int c = 0; c < 64; c++)
    kd[777 * 64 + c] = 5.0f;
  float scale = 1.0f / sqrtf (32.0f);
  g_autoptr (JdTensor) dst = run_attention (&s, q, k, v, scale);
  g_autofree double *want = g_new (double, 70 * 64);
  reference_attention (&s, q->data, k->data, v->data, scale, want);
  jd_test_assert_close ((const float *) dst->data, want, 70 * 64, 1e-4);
  const float *out = dst->data, *vd = v->data;
  for (int c = 0; c < 64; c++)
    g_assert_cmpfloat (fabsf (out[69 * 64 + c] - vd[777 * 64 + c]), <, 1e-3);
}

static void
test_long_sequence (void)
{
  /* 5000 × 5000: many key tiles per query block; the op never holds the score matrix. */
  g_autoptr (GRand) rng = jd_test_rng ();
  Shape s = { 1, 5000, 5000, 1, 8, 8 };
  check_shape (rng, &s, 1.5f);
}

static void
test_segments (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  static const Shape shapes[] = {
    { 2, 300, 300, 2, 16, 16, 2, { 200, 100 }, { 200, 100 } },
    { 1, 331, 331, 3, 64, 64, 3, { 7, 200, 124 }, { 7, 200, 124 } },
    { 1, 150, 410, 2, 32, 48, 3, { 50, 1, 99 }, { 300, 100, 10 } }, /* q and k lengths differ */
    { 2, 60, 80, 1, 16, 16, 3, { 0, 60, 0 }, { 30, 40, 10 } },    /* keys nobody sees */
    { 1, 40, 41, 2, 8, 8, 2, { 39, 1 }, { 40, 1 } },               /* a one-key segment */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (rng, &shapes[i], 1.0f);
}

/* Copies rows [begin, begin + n) of a (B, L, W) tensor into a new tensor. */
static JdTensor *
slice_rows (const JdTensor *t, int64_t begin, int64_t n)
{
  g_autoptr (GError) error = NULL;
  int64_t shape[3] = { t->shape[0], n, t->shape[2] };
  JdTensor *out = jd_tensor_new (jd_test_backend (), JD_DTYPE_F32, 3, shape, &error);
  g_assert_no_error (error);
  for (int64_t b = 0; b < t->shape[0]; b++)
    memcpy ((float *) out->data + b * n * t->shape[2],
            (const float *) t->data + (b * t->shape[1] + begin) * t->shape[2],
            (gsize) (n * t->shape[2]) * sizeof (float));
  return out;
}

static void
test_segments_match_separate_runs (void)
{
  /* Block-diagonal attention is attention run on each segment alone: bit for bit, since each
   * segment's query blocks start at its own first query. */
  g_autoptr (GRand) rng = jd_test_rng ();
  Shape s = { 2, 320, 270, 2, 24, 40, 3, { 100, 150, 70 }, { 60, 200, 10 } };
  int64_t q_shape[3] = { 2, 320, 48 }, k_shape[3] = { 2, 270, 48 }, v_shape[3] = { 2, 270, 80 };
  g_autoptr (JdTensor) q = jd_test_tensor_random (rng, -1, 1, 3, q_shape);
  g_autoptr (JdTensor) k = jd_test_tensor_random (rng, -1, 1, 3, k_shape);
  g_autoptr (JdTensor) v = jd_test_tensor_random (rng, -1, 1, 3, v_shape);
  g_autoptr (JdTensor) whole = run_attention (&s, q, k, v, 0.3f);
  int64_t q0 = 0, k0 = 0;
  for (int seg = 0; seg < s.n_segments; seg++)
    {
      Shape part = { 2, s.q_segments[seg], s.k_segments[seg], 2, 24, 40 };
      g_autoptr (JdTensor) qs = slice_rows (q, q0, part.lq);
      g_autoptr (JdTensor) ks = slice_rows (k, k0, part.lk);
      g_autoptr (JdTensor) vs = slice_rows (v, k0, part.lk);
      g_autoptr (JdTensor) alone = run_attention (&part, qs, ks, vs, 0.3f);
      g_autoptr (JdTensor) expected = slice_rows (whole, q0, part.lq);
      g_assert_cmpmem (alone->data, jd_tensor_nbytes (alone), expected->data,
                       jd_tensor_nbytes (expected));
      q0 += part.lq;
      k0 += part.lk;
    }
}

static void
test_thread_count_invariance (void)
{
  /* Each output row comes from one task in a fixed order: 1, 2 and 3 threads agree exactly. */
  g_autoptr (GRand) rng = jd_test_rng ();
  Shape s = { 3, 333, 444, 5, 64, 64, 2, { 300, 33 }, { 400, 44 } };
  int64_t q_shape[3] = { 3, 333, 320 }, k_shape[3] = { 3, 444, 320 };
  g_autoptr (JdTensor) q = jd_test_tensor_random (rng, -1, 1, 3, q_shape);
  g_autoptr (JdTensor) k = jd_test_tensor_random (rng, -1, 1, 3, k_shape);
  g_autoptr (JdTensor) v = jd_test_tensor_random (rng, -1, 1, 3, k_shape);
  JdBackend *backend = jd_test_backend ();
  int threads = jd_thread_pool_get_n_threads (jd_cpu_backend_get_thread_pool (backend));
  jd_cpu_backend_set_n_threads (backend, 1);
  g_autoptr (JdTensor) one = run_attention (&s, q, k, v, 0.125f);
  jd_cpu_backend_set_n_threads (backend, 2);
  g_autoptr (JdTensor) two = run_attention (&s, q, k, v, 0.125f);
  jd_cpu_backend_set_n_threads (backend, 3);
  g_autoptr (JdTensor) three = run_attention (&s, q, k, v, 0.125f);
  jd_cpu_backend_set_n_threads (backend, threads);
  g_assert_cmpmem (one->data, jd_tensor_nbytes (one), two->data, jd_tensor_nbytes (two));
  g_assert_cmpmem (one->data, jd_tensor_nbytes (one), three->data, jd_tensor_nbytes (three));
}

static void
test_scalar_kernels (void)
{
  /* The portable path, forced in a fresh process (the choice is made once per process). */
  if (g_test_subprocess ())
    {
      g_setenv ("JD_ATTENTION_KERNELS", "scalar", TRUE);
      g_assert_cmpstr (jd_cpu_attention_kernels ()->name, ==, "scalar");
      g_autoptr (GRand) rng = jd_test_rng ();
      static const Shape shapes[] = {
        { 2, 65, 129, 2, 16, 16 },
        { 1, 97, 300, 1, 64, 64 },
        { 1, 20, 30, 1, 512, 512 },
        { 2, 40, 90, 3, 32, 44 },
        { 3, 1, 1, 2, 8, 8 },
        { 1, 150, 410, 2, 32, 48, 3, { 50, 1, 99 }, { 300, 100, 10 } },
      };
      for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
        check_shape (rng, &shapes[i], 1.0f);
      Shape wide = { 1, 60, 500, 1, 16, 16 };
      g_assert_cmpfloat (check_shape (rng, &wide, 7.2f), >=, 50.0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_empty (void)
{
  /* No queries, or no batch: nothing to compute, success. */
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  g_autoptr (JdTensor) q = jd_tensor_new_f32 (backend, &error, 3, (int64_t) 2, (int64_t) 0, (int64_t) 16);
  g_autoptr (JdTensor) k = jd_tensor_new_f32 (backend, &error, 3, (int64_t) 2, (int64_t) 5, (int64_t) 16);
  g_autoptr (JdTensor) dst = jd_tensor_new_f32 (backend, &error, 3, (int64_t) 2, (int64_t) 0, (int64_t) 16);
  g_assert_no_error (error);
  g_assert_true (jd_attention (backend, q, k, k, 2, 0.25f, 0, NULL, NULL, dst, &error));
  g_assert_no_error (error);
}

static void
expect_refusal (const JdTensor *q, const JdTensor *k, const JdTensor *v, int heads, float scale,
                int n_segments, const int64_t *q_seg, const int64_t *k_seg, JdTensor *dst,
                const char *must_mention)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (jd_attention (jd_test_backend (), q, k, v, heads, scale, n_segments, q_seg,
                                k_seg, dst, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_test_message ("refused: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "attention: "));
  g_assert_nonnull (strstr (error->message, must_mention));
  /* the shapes are named so a person can find the call */
  if (q != NULL)
    {
      g_autofree char *shape = jd_tensor_shape_string (q);
      g_assert_nonnull (strstr (error->message, shape));
    }
}

static void
test_refusals (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *backend = jd_test_backend ();
  int64_t q_shape[3] = { 2, 10, 32 }, k_shape[3] = { 2, 12, 32 }, v_shape[3] = { 2, 12, 48 };
  int64_t dst_shape[3] = { 2, 10, 48 };
  g_autoptr (JdTensor) q = jd_test_tensor_random (rng, -1, 1, 3, q_shape);
  g_autoptr (JdTensor) k = jd_test_tensor_random (rng, -1, 1, 3, k_shape);
  g_autoptr (JdTensor) v = jd_test_tensor_random (rng, -1, 1, 3, v_shape);
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, dst_shape);
  const int64_t qs[2] = { 4, 6 }, ks[2] = { 5, 7 };

  /* the good call works, so each refusal below is down to its one bad argument */
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_attention (backend, q, k, v, 2, 0.25f, 2, qs, ks, dst, &error));
  g_assert_no_error (error);

  int64_t b3[3] = { 3, 12, 32 }, l13[3] = { 2, 13, 48 }, w33[3] = { 2, 12, 33 };
  int64_t big_q[3] = { 1, 4, 1026 }, big_v[3] = { 1, 4, 64 }, big_dst[3] = { 1, 4, 64 };
  int64_t two_d[2] = { 10, 32 }, wrong_dst[3] = { 2, 10, 32 };
  g_autoptr (JdTensor) k_batch3 = jd_test_tensor_random (rng, -1, 1, 3, b3);
  g_autoptr (JdTensor) v_len13 = jd_test_tensor_random (rng, -1, 1, 3, l13);
  g_autoptr (JdTensor) k_w33 = jd_test_tensor_random (rng, -1, 1, 3, w33);
  g_autoptr (JdTensor) q_big = jd_test_tensor_random (rng, -1, 1, 3, big_q);
  g_autoptr (JdTensor) v_big = jd_test_tensor_random (rng, -1, 1, 3, big_v);
  g_autoptr (JdTensor) dst_big = jd_test_tensor_poisoned (3, big_dst);
  g_autoptr (JdTensor) q_2d = jd_test_tensor_random (rng, -1, 1, 2, two_d);
  g_autoptr (JdTensor) dst_wrong = jd_test_tensor_poisoned (3, wrong_dst);
  g_autoptr (JdTensor) host_q = jd_tensor_new (NULL, JD_DTYPE_F32, 3, q_shape, &error);
  g_assert_no_error (error);

  expect_refusal (q, k_batch3, v, 2, 0.25f, 0, NULL, NULL, dst, "batch");
  expect_refusal (q, k, v_len13, 2, 0.25f, 0, NULL, NULL, dst, "sequence length");
  expect_refusal (q, k_w33, v, 2, 0.25f, 0, NULL, NULL, dst, "same width");
  expect_refusal (q, k, v, 0, 0.25f, 0, NULL, NULL, dst, "head count");
  expect_refusal (q, k, v, 5, 0.25f, 0, NULL, NULL, dst, "multiples of the head count");
  expect_refusal (q_big, q_big, v_big, 2, 0.25f, 0, NULL, NULL, dst_big, "head dims");
  expect_refusal (q, k, v, 2, 0.0f, 0, NULL, NULL, dst, "scale");
  expect_refusal (q, k, v, 2, -1.0f, 0, NULL, NULL, dst, "scale");
  expect_refusal (q, k, v, 2, NAN, 0, NULL, NULL, dst, "scale");
  expect_refusal (q, k, v, 2, INFINITY, 0, NULL, NULL, dst, "scale");
  expect_refusal (q, k, v, 2, 0.25f, 9, qs, ks, dst, "segments");
  expect_refusal (q, k, v, 2, 0.25f, -1, qs, ks, dst, "segments");
  expect_refusal (q, k, v, 2, 0.25f, 2, NULL, ks, dst, "segment list is missing");
  const int64_t short_q[2] = { 4, 5 }, long_k[2] = { 5, 8 }, neg[2] = { -1, 11 };
  const int64_t q_no_key[2] = { 4, 6 }, k_no_key[2] = { 12, 0 };
  expect_refusal (q, k, v, 2, 0.25f, 2, short_q, ks, dst, "cover");
  expect_refusal (q, k, v, 2, 0.25f, 2, qs, long_k, dst, "longer than");
  expect_refusal (q, k, v, 2, 0.25f, 2, neg, ks, dst, "negative");
  expect_refusal (q, k, v, 2, 0.25f, 2, q_no_key, k_no_key, dst, "no key");
  expect_refusal (q, k, v, 2, 0.25f, 0, NULL, NULL, dst_wrong, "output has shape");
  expect_refusal (q_2d, k, v, 2, 0.25f, 0, NULL, NULL, dst, "3 dimensions");
  expect_refusal (NULL, k, v, 2, 0.25f, 0, NULL, NULL, dst, "missing");
  expect_refusal (host_q, k, v, 2, 0.25f, 0, NULL, NULL, dst, "backend");

  /* no keys at all for full attention */
  int64_t no_keys[3] = { 2, 0, 32 }, no_values[3] = { 2, 0, 48 };
  g_autoptr (JdTensor) k_empty = jd_tensor_new (backend, JD_DTYPE_F32, 3, no_keys, &error);
  g_autoptr (JdTensor) v_empty = jd_tensor_new (backend, JD_DTYPE_F32, 3, no_values, &error);
  g_assert_no_error (error);
  expect_refusal (q, k_empty, v_empty, 2, 0.25f, 0, NULL, NULL, dst, "no key");

  /* the output may not overwrite an input it still has to read */
  int64_t same[3] = { 2, 12, 32 };
  g_autoptr (JdTensor) kk = jd_test_tensor_random (rng, -1, 1, 3, same);
  g_autoptr (JdTensor) qq = jd_test_tensor_random (rng, -1, 1, 3, same);
  expect_refusal (qq, kk, kk, 2, 0.25f, 0, NULL, NULL, kk, "share memory");

  /* nothing was written by the refused calls */
  g_autoptr (JdTensor) untouched = jd_test_tensor_poisoned (3, dst_shape);
  expect_refusal (q, k, v, 2, 0.0f, 0, NULL, NULL, untouched, "scale");
  for (int64_t i = 0; i < jd_tensor_numel (untouched); i++)
    g_assert_true (isnan (((float *) untouched->data)[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/attention/exp2", test_exp2);
  g_test_add_func ("/attention/shapes", test_shapes);
  g_test_add_func ("/attention/wide-logits", test_wide_logits);
  g_test_add_func ("/attention/dominant-key", test_dominant_key);
  g_test_add_func ("/attention/long-sequence", test_long_sequence);
  g_test_add_func ("/attention/segments", test_segments);
  g_test_add_func ("/attention/segments-match-separate-runs", test_segments_match_separate_runs);
  g_test_add_func ("/attention/thread-count-invariance", test_thread_count_invariance);
  g_test_add_func ("/attention/scalar-kernels", test_scalar_kernels);
  g_test_add_func ("/attention/empty", test_empty);
  g_test_add_func ("/attention/refusals", test_refusals);
  return g_test_run ();
}
