/* Convolutions through oneDNN against float64 references, and the arguments they refuse. */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-ops.h"
#include "test-util.h"

typedef struct {
  int64_t n, cin, h, w, cout, kh, kw;
  int     stride, padding, dilation;
  gboolean one_d;  /* conv1d as h = kh = 1: stride, padding and dilation act along w only */
} Conv2dCase;

/* Direct convolution in float64; conv1d is the h = kh = 1 case. */
static double *
reference_conv2d (const Conv2dCase *c, const float *x, const float *w, const float *bias,
                  int64_t ho, int64_t wo)
{
  double *out = g_new (double, c->n * c->cout * ho * wo);
  for (int64_t n = 0; n < c->n; n++)
    for (int64_t o = 0; o < c->cout; o++)
      for (int64_t y = 0; y < ho; y++)
        for (int64_t xo = 0; xo < wo; xo++)
          {
            double sum = bias ? bias[o] : 0.0;
            for (int64_t i = 0; i < c->cin; i++)
              for (int64_t ky = 0; ky < c->kh; ky++)
                {
                  int64_t iy = c->one_d ? y + ky
                                        : y * c->stride - c->padding + ky * c->dilation;
                  if (iy < 0 || iy >= c->h)
                    continue;
                  for (int64_t kx = 0; kx < c->kw; kx++)
                    {
                      int64_t ix = xo * c->stride - c->padding + kx * c->dilation;
                      if (ix < 0 || ix >= c->w)
                        continue;
                      sum += (double) x[((n * c->cin + i) * c->h + iy) * c->w + ix]
                             * w[((o * c->cin + i) * c->kh + ky) * c->kw + kx];
                    }
                }
            out[((n * c->cout + o) * ho + y) * wo + xo] = sum;
          }
  return out;
}

static int64_t
out_length (int64_t in, int64_t k, int stride, int padding, int dilation)
{
  return (in + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
}

static void
check_conv2d (GRand *rng, const Conv2dCase *c, gboolean with_bias)
{
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  int64_t ho = out_length (c->h, c->kh, c->stride, c->padding, 1);
  int64_t wo = out_length (c->w, c->kw, c->stride, c->padding, 1);
  const int64_t xs[4] = { c->n, c->cin, c->h, c->w }, ws[4] = { c->cout, c->cin, c->kh, c->kw };
  const int64_t ds[4] = { c->n, c->cout, ho, wo };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 4, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -0.5f, 0.5f, 4, ws);
  g_autoptr (JdTensor) bias = with_bias ? jd_test_tensor_random (rng, -1, 1, 1, &c->cout) : NULL;
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (4, ds);

  g_assert_true (jd_conv2d (backend, x, w, bias, c->stride, c->padding, dst, &error));
  g_assert_no_error (error);
  g_autofree double *want = reference_conv2d (c, x->data, w->data, bias ? bias->data : NULL,
                                              ho, wo);
  jd_test_assert_close (dst->data, want, jd_tensor_numel (dst), 1e-4);
}

static void
test_conv2d (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  static const Conv2dCase cases[] = {
    /* n, cin, h, w, cout, kh, kw, stride, padding */
    { 1, 1, 1, 1, 1, 1, 1, 1, 0, 1 },
    { 1, 1, 1, 1, 1, 3, 3, 1, 1, 1 },     /* 3x3 over a single padded pixel */
    { 2, 3, 7, 5, 5, 3, 3, 1, 1, 1 },
    { 1, 4, 9, 9, 3, 3, 3, 2, 1, 1 },     /* the downsampler on odd sizes */
    { 2, 5, 8, 6, 1, 3, 3, 2, 0, 1 },     /* stride 2, no padding, even: floor drops a row */
    { 1, 6, 7, 7, 4, 3, 3, 2, 0, 1 },
    { 1, 17, 5, 13, 9, 1, 1, 1, 0, 1 },   /* 1x1 */
    { 1, 8, 1, 9, 7, 3, 3, 1, 1, 1 },     /* H = 1 */
    { 3, 2, 6, 1, 4, 3, 3, 1, 1, 1 },     /* W = 1 */
    { 1, 33, 12, 11, 19, 3, 3, 1, 1, 1 }, /* channels not multiples of the SIMD width */
    { 1, 1, 10, 10, 16, 3, 3, 2, 1, 1 },  /* Cin = 1 */
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int with_bias = 0; with_bias < 2; with_bias++)
      check_conv2d (rng, &cases[i], with_bias);
  for (int i = 0; i < 15; i++)
    {
      int k = g_rand_boolean (rng) ? 3 : 1;
      Conv2dCase c = {
        g_rand_int_range (rng, 1, 3), g_rand_int_range (rng, 1, 20), g_rand_int_range (rng, 1, 12),
        g_rand_int_range (rng, 1, 12), g_rand_int_range (rng, 1, 20), k, k,
        g_rand_int_range (rng, 1, 3), k == 3 ? g_rand_int_range (rng, 0, 2) : 0, 1,
      };
      if (c.h + 2 * c.padding < k || c.w + 2 * c.padding < k)
        c.padding = 1;
      check_conv2d (rng, &c, g_rand_boolean (rng));
    }
}

/* Conv3d with a (kt, 1, 1) kernel and T padded by kt / 2, in float64. */
static void
check_temporal (GRand *rng, int64_t n, int64_t cin, int64_t t, int64_t h, int64_t w,
                int64_t cout, int64_t kt, gboolean with_bias)
{
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  const int64_t xs[5] = { n, cin, t, h, w }, ws[5] = { cout, cin, kt, 1, 1 };
  const int64_t ds[5] = { n, cout, t, h, w };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 5, xs);
  g_autoptr (JdTensor) wt = jd_test_tensor_random (rng, -0.5f, 0.5f, 5, ws);
  g_autoptr (JdTensor) bias = with_bias ? jd_test_tensor_random (rng, -1, 1, 1, &cout) : NULL;
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (5, ds);

  g_assert_true (jd_conv_temporal (backend, x, wt, bias, dst, &error));
  g_assert_no_error (error);

  const float *xd = x->data, *wd = wt->data, *bd = bias ? bias->data : NULL;
  int64_t hw = h * w, pad = kt / 2;
  g_autofree double *want = g_new (double, n * cout * t * hw);
  for (int64_t b = 0; b < n; b++)
    for (int64_t o = 0; o < cout; o++)
      for (int64_t to = 0; to < t; to++)
        for (int64_t p = 0; p < hw; p++)
          {
            double sum = bd ? bd[o] : 0.0;
            for (int64_t i = 0; i < cin; i++)
              for (int64_t k = 0; k < kt; k++)
                {
                  int64_t ti = to - pad + k;
                  if (ti >= 0 && ti < t)
                    sum += (double) xd[((b * cin + i) * t + ti) * hw + p] * wd[(o * cin + i) * kt + k];
                }
            want[((b * cout + o) * t + to) * hw + p] = sum;
          }
  jd_test_assert_close (dst->data, want, jd_tensor_numel (dst), 1e-4);
}

static void
test_temporal (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  check_temporal (rng, 1, 1, 1, 1, 1, 1, 1, FALSE);
  check_temporal (rng, 1, 3, 1, 4, 5, 2, 3, TRUE);    /* T = 1: only the middle tap counts */
  check_temporal (rng, 2, 5, 7, 3, 3, 6, 3, FALSE);   /* T odd, batch 2 */
  check_temporal (rng, 1, 9, 4, 5, 7, 1, 3, TRUE);    /* Cout = 1 */
  check_temporal (rng, 1, 1, 5, 2, 9, 11, 3, TRUE);   /* Cin = 1 */
  check_temporal (rng, 2, 7, 5, 3, 1, 5, 1, TRUE);    /* kt = 1 */
  check_temporal (rng, 1, 20, 9, 6, 6, 12, 3, TRUE);
  check_temporal (rng, 1, 4, 6, 2, 2, 3, 5, FALSE);   /* kt = 5 */
}

static void
check_conv1d (GRand *rng, int64_t n, int64_t cin, int64_t l, int64_t cout, int64_t k, int stride,
              int padding, int dilation, gboolean with_bias)
{
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  int64_t lo = out_length (l, k, stride, padding, dilation);
  const int64_t xs[3] = { n, cin, l }, ws[3] = { cout, cin, k }, ds[3] = { n, cout, lo };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 3, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -0.5f, 0.5f, 3, ws);
  g_autoptr (JdTensor) bias = with_bias ? jd_test_tensor_random (rng, -1, 1, 1, &cout) : NULL;
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, ds);

  g_assert_true (jd_conv1d (backend, x, w, bias, stride, padding, dilation, dst, &error));
  g_assert_no_error (error);
  Conv2dCase c = { n, cin, 1, l, cout, 1, k, stride, padding, dilation, TRUE };
  g_autofree double *want = reference_conv2d (&c, x->data, w->data, bias ? bias->data : NULL,
                                              1, lo);
  jd_test_assert_close (dst->data, want, jd_tensor_numel (dst), 1e-4);
}

static void
test_conv1d (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  check_conv1d (rng, 1, 1, 1, 1, 1, 1, 0, 1, FALSE);
  check_conv1d (rng, 1, 1, 1, 1, 3, 1, 1, 1, TRUE);
  check_conv1d (rng, 2, 5, 31, 7, 7, 1, 3, 1, TRUE);  /* the vocoder's conv_pre shape */
  /* Resblock convs: kernel 3, dilation 1, 3, 5 with "same" padding d·(k−1)/2. */
  for (int d = 1; d <= 5; d += 2)
    check_conv1d (rng, 1, 12, 29, 12, 3, 1, d, d, d != 3);
  check_conv1d (rng, 1, 9, 40, 9, 11, 1, 25, 5, TRUE);  /* kernel 11, dilation 5 */
  check_conv1d (rng, 2, 3, 17, 4, 3, 2, 1, 1, TRUE);    /* stride 2, odd length */
  check_conv1d (rng, 1, 17, 8, 1, 1, 1, 0, 1, FALSE);   /* 1x1, Cout = 1 */
  for (int i = 0; i < 10; i++)
    {
      int k = g_rand_int_range (rng, 1, 8), d = g_rand_int_range (rng, 1, 4);
      int64_t l = g_rand_int_range (rng, d * (k - 1) + 1, 60);
      check_conv1d (rng, g_rand_int_range (rng, 1, 3), g_rand_int_range (rng, 1, 20), l,
                    g_rand_int_range (rng, 1, 20), k, g_rand_int_range (rng, 1, 4),
                    g_rand_int_range (rng, 0, 3), d, g_rand_boolean (rng));
    }
}

static void
check_transpose1d (GRand *rng, int64_t n, int64_t cin, int64_t l, int64_t cout, int64_t k,
                   int stride, int padding, int output_padding, gboolean with_bias)
{
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  int64_t lo = (l - 1) * stride - 2 * padding + k + output_padding;
  const int64_t xs[3] = { n, cin, l }, ws[3] = { cin, cout, k }, ds[3] = { n, cout, lo };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 3, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -0.5f, 0.5f, 3, ws);
  g_autoptr (JdTensor) bias = with_bias ? jd_test_tensor_random (rng, -1, 1, 1, &cout) : NULL;
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (3, ds);

  g_assert_true (jd_conv_transpose1d (backend, x, w, bias, stride, padding, output_padding, dst,
                                      &error));
  g_assert_no_error (error);

  /* Scatter form, the definition: input i feeds output i·stride − padding + j. */
  const float *xd = x->data, *wd = w->data, *bd = bias ? bias->data : NULL;
  g_autofree double *want = g_new (double, n * cout * lo);
  for (int64_t b = 0; b < n; b++)
    for (int64_t o = 0; o < cout; o++)
      for (int64_t p = 0; p < lo; p++)
        want[(b * cout + o) * lo + p] = bd ? bd[o] : 0.0;
  for (int64_t b = 0; b < n; b++)
    for (int64_t c = 0; c < cin; c++)
      for (int64_t i = 0; i < l; i++)
        for (int64_t o = 0; o < cout; o++)
          for (int64_t j = 0; j < k; j++)
            {
              int64_t p = i * stride - padding + j;
              if (p >= 0 && p < lo)
                want[(b * cout + o) * lo + p]
                  += (double) xd[(b * cin + c) * l + i] * wd[(c * cout + o) * k + j];
            }
  jd_test_assert_close (dst->data, want, jd_tensor_numel (dst), 1e-4);
}

static void
test_transpose1d (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  /* HiFi-GAN's upsamplers: stride s, kernel 2s... with padding (k − s) / 2. */
  check_transpose1d (rng, 1, 16, 9, 8, 16, 8, 4, 0, TRUE);
  check_transpose1d (rng, 2, 12, 7, 6, 16, 5, 5, 0, TRUE);  /* (16 − 5) / 2 = 5 */
  check_transpose1d (rng, 1, 10, 13, 5, 8, 4, 2, 0, FALSE);
  check_transpose1d (rng, 1, 6, 11, 3, 4, 2, 1, 0, TRUE);
  check_transpose1d (rng, 1, 5, 6, 4, 4, 2, 1, 1, TRUE);    /* output_padding */
  check_transpose1d (rng, 2, 3, 5, 7, 16, 5, 5, 3, FALSE);  /* output_padding > 0, stride 5 */
  check_transpose1d (rng, 1, 4, 3, 2, 3, 2, 0, 1, TRUE);    /* output_padding beyond padding */
  check_transpose1d (rng, 1, 1, 1, 1, 1, 1, 0, 0, FALSE);
  check_transpose1d (rng, 1, 1, 1, 3, 5, 3, 0, 2, TRUE);    /* L = 1 */
  check_transpose1d (rng, 1, 7, 10, 1, 3, 1, 1, 0, TRUE);   /* Cout = 1, stride 1 */
  for (int i = 0; i < 10; i++)
    {
      int s = g_rand_int_range (rng, 1, 6);
      int k = g_rand_int_range (rng, 1, 17);
      int p = g_rand_int_range (rng, 0, (k + 1) / 2);
      int op = g_rand_int_range (rng, 0, s);
      int64_t l = g_rand_int_range (rng, 1 + p, 25);
      check_transpose1d (rng, g_rand_int_range (rng, 1, 3), g_rand_int_range (rng, 1, 18), l,
                         g_rand_int_range (rng, 1, 18), k, s, p, op, g_rand_boolean (rng));
    }
}

/* Cached primitives are keyed by shape: new buffers for a known shape, and a larger op in
 * between that regrows the shared buffers for reordered copies, must still give right answers. */
static void
test_cache_and_arena (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  const Conv2dCase small = { 1, 16, 6, 6, 16, 3, 3, 1, 1, 1 };
  const Conv2dCase large = { 2, 24, 20, 18, 24, 3, 3, 1, 1, 1 };
  for (int i = 0; i < 3; i++)
    {
      check_conv2d (rng, &small, i % 2);
      check_conv2d (rng, &large, TRUE);
      check_temporal (rng, 1, 16, 3, 4, 4, 16, 3, TRUE);
    }
}

/* Results stay close whatever the thread count (summation order may change). */
static void
test_thread_counts (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *backend = jd_test_backend ();
  const Conv2dCase c = { 2, 24, 13, 11, 20, 3, 3, 1, 1, 1 };
  for (int threads = 1; threads <= 3; threads++)
    {
      jd_cpu_backend_set_n_threads (backend, threads);
      check_conv2d (rng, &c, TRUE);
      check_conv1d (rng, 1, 16, 50, 16, 3, 1, 3, 3, TRUE);
      check_transpose1d (rng, 1, 16, 9, 8, 8, 4, 2, 0, TRUE);
    }
  jd_cpu_backend_set_n_threads (backend, 2);
}

static void
assert_refused (GError *error, const char *op, const char *fragment)
{
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_autofree char *prefix = g_strdup_printf ("%s: ", op);
  if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, fragment) == NULL)
    g_error ("message '%s' does not start with '%s' or does not name '%s'", error->message,
             prefix, fragment);
}

#define REFUSED(call, op, fragment)                   \
  G_STMT_START {                                      \
    g_autoptr (GError) _error = NULL;                 \
    g_assert_false (call);                            \
    assert_refused (_error, op, fragment);            \
  } G_STMT_END

static void
test_refusals (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  JdBackend *backend = jd_test_backend ();
  const int64_t xs[4] = { 1, 3, 8, 8 }, ws[4] = { 4, 3, 3, 3 }, bad_ws[4] = { 4, 2, 3, 3 };
  const int64_t ds[4] = { 1, 4, 8, 8 }, bad_ds[4] = { 1, 4, 4, 4 };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 4, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -1, 1, 4, ws);
  g_autoptr (JdTensor) bad_w = jd_test_tensor_random (rng, -1, 1, 4, bad_ws);
  g_autoptr (JdTensor) dst = jd_test_tensor_poisoned (4, ds);
  g_autoptr (JdTensor) bad_dst = jd_test_tensor_poisoned (4, bad_ds);
  g_autoptr (JdTensor) half = jd_tensor_new (backend, JD_DTYPE_BF16, 4, xs, NULL);

  REFUSED (jd_conv2d (backend, x, bad_w, NULL, 1, 1, dst, &_error), "conv2d", "[4, 2, 3, 3]");
  REFUSED (jd_conv2d (backend, x, bad_w, NULL, 1, 1, dst, &_error), "conv2d", "[1, 3, 8, 8]");
  REFUSED (jd_conv2d (backend, x, w, NULL, 1, 1, bad_dst, &_error), "conv2d", "[1, 4, 4, 4]");
  REFUSED (jd_conv2d (backend, x, w, NULL, 1, 1, bad_dst, &_error), "conv2d", "[1, 4, 8, 8]");
  REFUSED (jd_conv2d (backend, half, w, NULL, 1, 1, dst, &_error), "conv2d", "BF16");
  REFUSED (jd_conv2d (backend, x, w, NULL, 0, 1, dst, &_error), "conv2d", "stride");
  REFUSED (jd_conv2d (backend, x, w, NULL, 1, -1, dst, &_error), "conv2d", "padding");
  REFUSED (jd_conv2d (backend, x, w, x, 1, 1, dst, &_error), "conv2d", "bias");
  REFUSED (jd_conv2d (backend, x, x, NULL, 1, 1, dst, &_error), "conv2d", "[1, 1, 3, 3]");
  {
    const int64_t tiny[4] = { 1, 3, 1, 1 };
    g_autoptr (JdTensor) small = jd_test_tensor_random (rng, -1, 1, 4, tiny);
    REFUSED (jd_conv2d (backend, small, w, NULL, 1, 0, dst, &_error), "conv2d", "kernel");
  }
  {
    /* An output that overlaps the weight: both views into one buffer large enough for either
     * (a view of the output's size over the weight alone would run past its allocation). */
    g_autoptr (JdTensor) buffer = jd_test_tensor_random (rng, -1, 1, 4, ds);
    g_autoptr (JdTensor) shared_w = jd_tensor_new_view (backend, JD_DTYPE_F32, 4, ws,
                                                        buffer->data);
    g_autoptr (JdTensor) alias = jd_tensor_new_view (backend, JD_DTYPE_F32, 4, ds,
                                                     (float *) buffer->data + 16);
    REFUSED (jd_conv2d (backend, x, shared_w, NULL, 1, 1, alias, &_error), "conv2d",
             "shares memory with weight");
  }
  for (int i = 0; i < 16; i++)
    g_assert_true (isnan (((float *) dst->data)[i]));

  /* Temporal: kernel must be (kt, 1, 1) with kt odd; wrong channels; wrong dst. */
  const int64_t tx[5] = { 1, 3, 5, 2, 2 }, tw[5] = { 4, 3, 3, 1, 1 }, tw_even[5] = { 4, 3, 2, 1, 1 };
  const int64_t tw_spatial[5] = { 4, 3, 3, 3, 1 }, tw_cin[5] = { 4, 5, 3, 1, 1 };
  const int64_t td[5] = { 1, 4, 5, 2, 2 }, td_bad[5] = { 1, 4, 3, 2, 2 };
  g_autoptr (JdTensor) t_x = jd_test_tensor_random (rng, -1, 1, 5, tx);
  g_autoptr (JdTensor) t_w = jd_test_tensor_random (rng, -1, 1, 5, tw);
  g_autoptr (JdTensor) t_w_even = jd_test_tensor_random (rng, -1, 1, 5, tw_even);
  g_autoptr (JdTensor) t_w_spatial = jd_test_tensor_random (rng, -1, 1, 5, tw_spatial);
  g_autoptr (JdTensor) t_w_cin = jd_test_tensor_random (rng, -1, 1, 5, tw_cin);
  g_autoptr (JdTensor) t_d = jd_test_tensor_poisoned (5, td);
  g_autoptr (JdTensor) t_d_bad = jd_test_tensor_poisoned (5, td_bad);
  REFUSED (jd_conv_temporal (backend, t_x, t_w_even, NULL, t_d, &_error), "temporal conv",
           "[4, 3, 2, 1, 1]");
  REFUSED (jd_conv_temporal (backend, t_x, t_w_spatial, NULL, t_d, &_error), "temporal conv",
           "[4, 3, 3, 3, 1]");
  REFUSED (jd_conv_temporal (backend, t_x, t_w_cin, NULL, t_d, &_error), "temporal conv",
           "[1, 3, 5, 2, 2]");
  REFUSED (jd_conv_temporal (backend, t_x, t_w, NULL, t_d_bad, &_error), "temporal conv",
           "[1, 4, 3, 2, 2]");
  REFUSED (jd_conv_temporal (backend, x, t_w, NULL, t_d, &_error), "temporal conv",
           "5 dimensions");

  /* conv1d and its transpose. */
  const int64_t cx[3] = { 2, 6, 10 }, cw[3] = { 4, 6, 3 }, ctw[3] = { 6, 4, 4 };
  const int64_t cd[3] = { 2, 4, 10 }, ctd[3] = { 2, 4, 20 }, ctd_bad[3] = { 2, 4, 21 };
  const int64_t bias_len = 4, bad_bias_len = 6;
  g_autoptr (JdTensor) c_x = jd_test_tensor_random (rng, -1, 1, 3, cx);
  g_autoptr (JdTensor) c_w = jd_test_tensor_random (rng, -1, 1, 3, cw);
  g_autoptr (JdTensor) ct_w = jd_test_tensor_random (rng, -1, 1, 3, ctw);
  g_autoptr (JdTensor) c_d = jd_test_tensor_poisoned (3, cd);
  g_autoptr (JdTensor) ct_d = jd_test_tensor_poisoned (3, ctd);
  g_autoptr (JdTensor) ct_d_bad = jd_test_tensor_poisoned (3, ctd_bad);
  g_autoptr (JdTensor) bias = jd_test_tensor_random (rng, -1, 1, 1, &bias_len);
  g_autoptr (JdTensor) bad_bias = jd_test_tensor_random (rng, -1, 1, 1, &bad_bias_len);
  REFUSED (jd_conv1d (backend, c_x, c_w, NULL, 1, 1, 0, c_d, &_error), "conv1d", "dilation");
  REFUSED (jd_conv1d (backend, c_x, c_w, NULL, 1, 0, 1, c_d, &_error), "conv1d", "[2, 4, 8]");
  REFUSED (jd_conv1d (backend, c_x, ct_w, NULL, 1, 1, 1, c_d, &_error), "conv1d", "[6, 4, 4]");
  REFUSED (jd_conv1d (backend, c_x, c_w, bad_bias, 1, 1, 1, c_d, &_error), "conv1d", "bias");
  g_assert_true (jd_conv1d (backend, c_x, c_w, bias, 1, 1, 1, c_d, NULL));
  /* (10 − 1)·2 − 2 + 4 = 20 */
  REFUSED (jd_conv_transpose1d (backend, c_x, c_w, NULL, 2, 1, 0, ct_d, &_error),
           "transposed conv1d", "[4, 6, 3]");
  REFUSED (jd_conv_transpose1d (backend, c_x, ct_w, NULL, 2, 1, 0, ct_d_bad, &_error),
           "transposed conv1d", "[2, 4, 20]");
  REFUSED (jd_conv_transpose1d (backend, c_x, ct_w, NULL, 2, 1, 2, ct_d, &_error),
           "transposed conv1d", "output padding");
  REFUSED (jd_conv_transpose1d (backend, c_x, ct_w, bad_bias, 2, 1, 0, ct_d, &_error),
           "transposed conv1d", "bias");
  g_assert_true (jd_conv_transpose1d (backend, c_x, ct_w, bias, 2, 1, 0, ct_d, NULL));
}

/* A weight marked constant is reordered once and its blocked copy cached on the tensor: over
 * repeated calls, and through two primitives (stride 1 and 2) sharing it, the results must be
 * bit-identical to those of an unmarked copy of the weight, which is reordered on every call,
 * and right against the reference. The cache is freed with the tensor (LSan checks that). */
static void
test_constant_weight (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  /* 16 channels: oneDNN's direct kernels take channel-blocked layouts, so there is a reorder
   * to cache. */
  const Conv2dCase cases[2] = { { 1, 16, 9, 7, 24, 3, 3, 1, 1, 1 },
                                { 1, 16, 9, 7, 24, 3, 3, 2, 1, 1 } };
  const int64_t ws[4] = { 24, 16, 3, 3 };
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -0.5f, 0.5f, 4, ws);
  g_autoptr (JdTensor) w_constant = jd_test_tensor_random (rng, -0.5f, 0.5f, 4, ws);
  memcpy (w_constant->data, w->data, jd_tensor_nbytes (w));
  jd_tensor_mark_constant (w_constant);
  g_autoptr (JdTensor) bias = jd_test_tensor_random (rng, -1, 1, 1, &ws[0]);

  for (int call = 0; call < 6; call++)
    {
      const Conv2dCase *c = &cases[call % 2];
      int64_t ho = out_length (c->h, c->kh, c->stride, c->padding, 1);
      int64_t wo = out_length (c->w, c->kw, c->stride, c->padding, 1);
      const int64_t xs[4] = { c->n, c->cin, c->h, c->w }, ds[4] = { c->n, c->cout, ho, wo };
      g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 4, xs);
      g_autoptr (JdTensor) got = jd_test_tensor_poisoned (4, ds);
      g_autoptr (JdTensor) want_bits = jd_test_tensor_poisoned (4, ds);
      g_assert_true (jd_conv2d (backend, x, w_constant, bias, c->stride, c->padding, got,
                                &error));
      g_assert_no_error (error);
      g_assert_true (jd_conv2d (backend, x, w, bias, c->stride, c->padding, want_bits, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (got->data, jd_tensor_nbytes (got), want_bits->data,
                       jd_tensor_nbytes (want_bits));
      g_autofree double *want = reference_conv2d (c, x->data, w->data, bias->data, ho, wo);
      jd_test_assert_close (got->data, want, jd_tensor_numel (got), 1e-4);
    }
  /* The constant weight was cached, the other one never is. */
  g_assert_nonnull (w_constant->backend_cache);
  g_assert_null (w->backend_cache);

  /* The temporal convolution caches its weight the same way. */
  const int64_t xs[5] = { 1, 16, 5, 3, 4 }, wts[5] = { 16, 16, 3, 1, 1 };
  g_autoptr (JdTensor) wt = jd_test_tensor_random (rng, -0.5f, 0.5f, 5, wts);
  g_autoptr (JdTensor) wt_constant = jd_test_tensor_random (rng, -0.5f, 0.5f, 5, wts);
  memcpy (wt_constant->data, wt->data, jd_tensor_nbytes (wt));
  jd_tensor_mark_constant (wt_constant);
  for (int call = 0; call < 3; call++)
    {
      g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 5, xs);
      g_autoptr (JdTensor) got = jd_test_tensor_poisoned (5, xs);
      g_autoptr (JdTensor) want_bits = jd_test_tensor_poisoned (5, xs);
      g_assert_true (jd_conv_temporal (backend, x, wt_constant, NULL, got, &error));
      g_assert_true (jd_conv_temporal (backend, x, wt, NULL, want_bits, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (got->data, jd_tensor_nbytes (got), want_bits->data,
                       jd_tensor_nbytes (want_bits));
    }
}

/* A weight not marked constant may change between calls (optimisers, tests, LoRA merges): the
 * next call must see the new values, never a stale reordered copy. */
static void
test_mutable_weight (void)
{
  g_autoptr (GRand) rng = jd_test_rng ();
  g_autoptr (GError) error = NULL;
  JdBackend *backend = jd_test_backend ();
  const Conv2dCase c = { 1, 16, 8, 8, 16, 3, 3, 1, 1, 1 };
  const int64_t xs[4] = { 1, 16, 8, 8 }, ws[4] = { 16, 16, 3, 3 };
  g_autoptr (JdTensor) x = jd_test_tensor_random (rng, -1, 1, 4, xs);
  g_autoptr (JdTensor) w = jd_test_tensor_random (rng, -0.5f, 0.5f, 4, ws);
  g_autoptr (JdTensor) first = jd_test_tensor_poisoned (4, xs);
  g_autoptr (JdTensor) second = jd_test_tensor_poisoned (4, xs);

  g_assert_true (jd_conv2d (backend, x, w, NULL, 1, 1, first, &error));
  g_assert_no_error (error);
  float *wd = w->data;
  for (int64_t i = 0, n = jd_tensor_numel (w); i < n; i++)
    wd[i] = (float) g_rand_double_range (rng, -0.5, 0.5);
  g_assert_true (jd_conv2d (backend, x, w, NULL, 1, 1, second, &error));
  g_assert_no_error (error);

  g_autofree double *want = reference_conv2d (&c, x->data, w->data, NULL, 8, 8);
  jd_test_assert_close (second->data, want, jd_tensor_numel (second), 1e-4);
  g_assert_true (memcmp (first->data, second->data, jd_tensor_nbytes (first)) != 0);
  g_assert_null (w->backend_cache);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv/conv2d", test_conv2d);
  g_test_add_func ("/conv/temporal", test_temporal);
  g_test_add_func ("/conv/conv1d", test_conv1d);
  g_test_add_func ("/conv/transpose1d", test_transpose1d);
  g_test_add_func ("/conv/cache-arena", test_cache_and_arena);
  g_test_add_func ("/conv/thread-counts", test_thread_counts);
  g_test_add_func ("/conv/refusals", test_refusals);
  g_test_add_func ("/conv/constant-weight", test_constant_weight);
  g_test_add_func ("/conv/mutable-weight", test_mutable_weight);
  return g_test_run ();
}
