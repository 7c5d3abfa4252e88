/* The model layers (engine/nn/jd-layers.h) against float64 references computed here, on random
 * weights held in an in-memory JdWeights store, and the store's own failures. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "jd-error.h"
#include "jd-layers.h"
#include "test-util.h"

#define LIMIT 1e-4

/* ---- float64 tensors for the references --------------------------------------------------- */

typedef struct {
  int     ndim;
  int64_t shape[JD_MAX_DIMS];
  double *d;
} Ref;

static int64_t
ref_numel (const Ref *r)
{
  int64_t n = 1;
  for (int i = 0; i < r->ndim; i++)
    n *= r->shape[i];
  return n;
}

static Ref
ref_new (int ndim, const int64_t *shape)
{
  Ref r = { .ndim = ndim };
  memcpy (r.shape, shape, (gsize) ndim * sizeof (int64_t));
  r.d = g_new0 (double, MAX (ref_numel (&r), 1));
  return r;
}

static Ref
ref_of (const JdTensor *t)
{
  Ref r = ref_new (t->ndim, t->shape);
  const float *f = t->data;
  for (int64_t i = 0; i < ref_numel (&r); i++)
    r.d[i] = f[i];
  return r;
}

static void
ref_free (Ref *r)
{
  g_clear_pointer (&r->d, g_free);
}

static void
assert_close_ref (const JdTensor *out, const Ref *want)
{
  g_assert_cmpint (out->ndim, ==, want->ndim);
  for (int i = 0; i < out->ndim; i++)
    g_assert_cmpint (out->shape[i], ==, want->shape[i]);
  jd_test_assert_close (out->data, want->d, (gsize) ref_numel (want), LIMIT);
}

/* x (..., K) · W(N, K)ᵀ + b. */
static Ref
ref_linear (const Ref *x, const JdTensor *w, const JdTensor *b)
{
  const int64_t k = w->shape[1], n = w->shape[0], rows = ref_numel (x) / k;
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = n;
  Ref out = ref_new (x->ndim, shape);
  const float *wf = w->data, *bf = b ? b->data : NULL;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < n; j++)
      {
        double s = bf ? bf[j] : 0;
        for (int64_t i = 0; i < k; i++)
          s += x->d[r * k + i] * wf[j * k + i];
        out.d[r * n + j] = s;
      }
  return out;
}

static Ref
ref_conv2d (const Ref *x, const JdTensor *w, const JdTensor *b, int stride, int pad)
{
  const int64_t n = x->shape[0], ci = x->shape[1], h = x->shape[2], wd = x->shape[3];
  const int64_t co = w->shape[0], k = w->shape[2];
  const int64_t ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1;
  Ref out = ref_new (4, (int64_t[]) { n, co, ho, wo });
  const float *wf = w->data, *bf = b->data;
  for (int64_t s = 0; s < n; s++)
    for (int64_t o = 0; o < co; o++)
      for (int64_t y = 0; y < ho; y++)
        for (int64_t xo = 0; xo < wo; xo++)
          {
            double acc = bf[o];
            for (int64_t c = 0; c < ci; c++)
              for (int64_t ky = 0; ky < k; ky++)
                for (int64_t kx = 0; kx < k; kx++)
                  {
                    int64_t iy = y * stride - pad + ky, ix = xo * stride - pad + kx;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                      continue;
                    acc += x->d[((s * ci + c) * h + iy) * wd + ix]
                           * wf[((o * ci + c) * k + ky) * k + kx];
                  }
            out.d[((s * co + o) * ho + y) * wo + xo] = acc;
          }
  return out;
}

static double
silu (double v)
{
  return v / (1.0 + exp (-v));
}

static Ref
ref_group_norm (const Ref *x, const JdTensor *gamma, const JdTensor *beta, int groups,
                double eps, gboolean with_silu)
{
  Ref out = ref_new (x->ndim, x->shape);
  const int64_t n = x->shape[0], c = x->shape[1], spatial = ref_numel (x) / (n * c);
  const int64_t cpg = c / groups, count = cpg * spatial;
  const float *g = gamma->data, *b = beta->data;
  for (int64_t s = 0; s < n; s++)
    for (int gi = 0; gi < groups; gi++)
      {
        const double *xs = x->d + (s * c + gi * cpg) * spatial;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < count; i++)
          mean += xs[i];
        mean /= (double) count;
        for (int64_t i = 0; i < count; i++)
          var += (xs[i] - mean) * (xs[i] - mean);
        var /= (double) count;
        for (int64_t i = 0; i < count; i++)
          {
            int64_t ch = gi * cpg + i / spatial;
            double y = (xs[i] - mean) / sqrt (var + eps) * g[ch] + b[ch];
            out.d[(s * c + gi * cpg) * spatial + i] = with_silu ? silu (y) : y;
          }
      }
  return out;
}

static Ref
ref_layer_norm (const Ref *x, const JdTensor *gamma, const JdTensor *beta, double eps)
{
  Ref out = ref_new (x->ndim, x->shape);
  const int64_t dim = x->shape[x->ndim - 1], rows = ref_numel (x) / dim;
  const float *g = gamma->data, *b = beta->data;
  for (int64_t r = 0; r < rows; r++)
    {
      const double *xs = x->d + r * dim;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; i++)
        mean += xs[i];
      mean /= (double) dim;
      for (int64_t i = 0; i < dim; i++)
        var += (xs[i] - mean) * (xs[i] - mean);
      var /= (double) dim;
      for (int64_t i = 0; i < dim; i++)
        out.d[r * dim + i] = (xs[i] - mean) / sqrt (var + eps) * g[i] + b[i];
    }
  return out;
}

static void
ref_add_into (Ref *acc, const Ref *b)
{
  g_assert_cmpint (ref_numel (acc), ==, ref_numel (b));
  for (int64_t i = 0; i < ref_numel (acc); i++)
    acc->d[i] += b->d[i];
}

/* Softmax attention on (B, L, H·D), the general formula (no one-token shortcut). */
static Ref
ref_attend (const Ref *q, const Ref *k, const Ref *v, int heads)
{
  const int64_t b = q->shape[0], lq = q->shape[1], lk = k->shape[1];
  const int64_t d = q->shape[2] / heads, dv = v->shape[2] / heads;
  Ref out = ref_new (3, (int64_t[]) { b, lq, heads * dv });
  g_autofree double *p = g_new (double, lk);
  for (int64_t s = 0; s < b; s++)
    for (int h = 0; h < heads; h++)
      for (int64_t i = 0; i < lq; i++)
        {
          double max = -INFINITY, sum = 0;
          for (int64_t j = 0; j < lk; j++)
            {
              double dot = 0;
              for (int64_t e = 0; e < d; e++)
                dot += q->d[(s * lq + i) * heads * d + h * d + e]
                       * k->d[(s * lk + j) * heads * d + h * d + e];
              p[j] = dot / sqrt ((double) d);
              max = MAX (max, p[j]);
            }
          for (int64_t j = 0; j < lk; j++)
            sum += p[j] = exp (p[j] - max);
          for (int64_t e = 0; e < dv; e++)
            {
              double acc = 0;
              for (int64_t j = 0; j < lk; j++)
                acc += p[j] / sum * v->d[(s * lk + j) * heads * dv + h * dv + e];
              out.d[(s * lq + i) * heads * dv + h * dv + e] = acc;
            }
        }
  return out;
}

/* Repeats each of the Bc rows of r B/Bc times along dim 0 (torch's repeat_interleave). */
static Ref
ref_repeat_rows (const Ref *r, int64_t times)
{
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, r->shape, sizeof shape);
  shape[0] *= times;
  Ref out = ref_new (r->ndim, shape);
  const int64_t row = ref_numel (r) / r->shape[0];
  for (int64_t i = 0; i < shape[0]; i++)
    memcpy (out.d + i * row, r->d + (i / times) * row, (gsize) row * sizeof (double));
  return out;
}

/* ---- weights made in memory --------------------------------------------------------------- */

typedef struct {
  JdWeights *weights;
  GRand     *rng;
} Store;

static void
store_init (Store *s)
{
  s->weights = jd_weights_new (NULL, jd_test_backend ());
  s->rng = jd_test_rng ();
}

static void
store_clear (Store *s)
{
  g_clear_pointer (&s->weights, jd_weights_free);
  g_clear_pointer (&s->rng, g_rand_free);
}

static void
store_add (Store *s, const char *name, float lo, float hi, int ndim, const int64_t *shape)
{
  g_autoptr (GError) error = NULL;
  jd_weights_add (s->weights, name, jd_test_tensor_random (s->rng, lo, hi, ndim, shape), &error);
  g_assert_no_error (error);
}

static void
add_linear (Store *s, const char *prefix, int64_t in, int64_t out, gboolean bias)
{
  g_autofree char *w = g_strdup_printf ("%s.weight", prefix);
  store_add (s, w, -1.0f / sqrtf ((float) in), 1.0f / sqrtf ((float) in), 2,
             (int64_t[]) { out, in });
  if (bias)
    {
      g_autofree char *b = g_strdup_printf ("%s.bias", prefix);
      store_add (s, b, -0.25f, 0.25f, 1, &out);
    }
}

static void
add_conv (Store *s, const char *prefix, int64_t in, int64_t out, int k)
{
  g_autofree char *w = g_strdup_printf ("%s.weight", prefix);
  g_autofree char *b = g_strdup_printf ("%s.bias", prefix);
  float bound = 1.0f / sqrtf ((float) (in * k * k));
  store_add (s, w, -bound, bound, 4, (int64_t[]) { out, in, k, k });
  store_add (s, b, -0.25f, 0.25f, 1, &out);
}

static void
add_norm (Store *s, const char *prefix, int64_t channels)
{
  g_autofree char *w = g_strdup_printf ("%s.weight", prefix);
  g_autofree char *b = g_strdup_printf ("%s.bias", prefix);
  store_add (s, w, 0.75f, 1.25f, 1, &channels);
  store_add (s, b, -0.25f, 0.25f, 1, &channels);
}

static JdTensor *
random_input (Store *s, int ndim, const int64_t *shape)
{
  return jd_test_tensor_random (s->rng, -1.5f, 1.5f, ndim, shape);
}

/* ---- references of composite layers ------------------------------------------------------- */

static Ref
ref_linear_layer (const Ref *x, const JdLinearLayer *l)
{
  return ref_linear (x, l->weight, l->bias);
}

static Ref
ref_resnet (const Ref *x, const JdResnetBlock2D *blk, const Ref *temb)
{
  Ref n1 = ref_group_norm (x, blk->norm1.weight, blk->norm1.bias, blk->norm1.groups,
                           blk->norm1.eps, TRUE);
  Ref h = ref_conv2d (&n1, blk->conv1.weight, blk->conv1.bias, 1, 1);
  if (temb != NULL)
    {
      Ref act = ref_new (temb->ndim, temb->shape);
      for (int64_t i = 0; i < ref_numel (temb); i++)
        act.d[i] = silu (temb->d[i]);
      Ref p = ref_linear_layer (&act, &blk->time_emb_proj);
      const int64_t spatial = h.shape[2] * h.shape[3];
      for (int64_t i = 0; i < ref_numel (&h); i++)
        h.d[i] += p.d[i / spatial];
      ref_free (&act);
      ref_free (&p);
    }
  Ref n2 = ref_group_norm (&h, blk->norm2.weight, blk->norm2.bias, blk->norm2.groups,
                           blk->norm2.eps, TRUE);
  Ref out = ref_conv2d (&n2, blk->conv2.weight, blk->conv2.bias, 1, 1);
  if (blk->has_conv_shortcut)
    {
      Ref sc = ref_conv2d (x, blk->conv_shortcut.weight, blk->conv_shortcut.bias, 1, 0);
      ref_add_into (&out, &sc);
      ref_free (&sc);
    }
  else
    ref_add_into (&out, x);
  ref_free (&n1);
  ref_free (&h);
  ref_free (&n2);
  return out;
}

/* Conv3d with kernel (3, 1, 1), padding (1, 0, 0), on (B, C, F, H, W). */
static Ref
ref_conv_temporal (const Ref *x, const JdTensor *w, const JdTensor *b)
{
  const int64_t n = x->shape[0], ci = x->shape[1], f = x->shape[2];
  const int64_t hw = x->shape[3] * x->shape[4], co = w->shape[0];
  Ref out = ref_new (5, (int64_t[]) { n, co, f, x->shape[3], x->shape[4] });
  const float *wf = w->data, *bf = b->data;
  for (int64_t s = 0; s < n; s++)
    for (int64_t o = 0; o < co; o++)
      for (int64_t t = 0; t < f; t++)
        for (int64_t p = 0; p < hw; p++)
          {
            double acc = bf[o];
            for (int64_t c = 0; c < ci; c++)
              for (int kt = 0; kt < 3; kt++)
                {
                  int64_t it = t - 1 + kt;
                  if (it >= 0 && it < f)
                    acc += x->d[((s * ci + c) * f + it) * hw + p] * wf[(o * ci + c) * 3 + kt];
                }
            out.d[((s * co + o) * f + t) * hw + p] = acc;
          }
  return out;
}

/* (B, F, C, H, W) <-> (B, C, F, H, W). */
static Ref
ref_swap_12 (const Ref *x)
{
  const int64_t b = x->shape[0], d1 = x->shape[1], d2 = x->shape[2];
  const int64_t hw = x->shape[3] * x->shape[4];
  Ref out = ref_new (5, (int64_t[]) { b, d2, d1, x->shape[3], x->shape[4] });
  for (int64_t s = 0; s < b; s++)
    for (int64_t i = 0; i < d1; i++)
      for (int64_t j = 0; j < d2; j++)
        memcpy (out.d + ((s * d2 + j) * d1 + i) * hw, x->d + ((s * d1 + i) * d2 + j) * hw,
                (gsize) hw * sizeof (double));
  return out;
}

static Ref
ref_attention_layer (const JdAttentionLayer *a, const Ref *x, const Ref *context)
{
  const Ref *src = context ? context : x;
  Ref q = ref_linear_layer (x, &a->to_q), k = ref_linear_layer (src, &a->to_k);
  Ref v = ref_linear_layer (src, &a->to_v);
  Ref att = ref_attend (&q, &k, &v, a->heads);
  Ref out = ref_linear_layer (&att, &a->to_out);
  ref_free (&q);
  ref_free (&k);
  ref_free (&v);
  ref_free (&att);
  return out;
}

static Ref
ref_feed_forward (const JdFeedForward *ff, const Ref *x)
{
  Ref p = ref_linear_layer (x, &ff->proj);
  const int64_t inner = ff->inner, rows = ref_numel (&p) / (2 * inner);
  int64_t shape[JD_MAX_DIMS];
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = inner;
  Ref g = ref_new (x->ndim, shape);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < inner; i++)
      {
        double value = p.d[r * 2 * inner + i], gate = p.d[r * 2 * inner + inner + i];
        g.d[r * inner + i] = value * 0.5 * gate * (1.0 + erf (gate / sqrt (2.0)));
      }
  Ref out = ref_linear_layer (&g, &ff->out);
  ref_free (&p);
  ref_free (&g);
  return out;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void
test_linear (void)
{
  for (int with_bias = 0; with_bias < 2; with_bias++)
    {
      Store s;
      store_init (&s);
      g_autoptr (GError) error = NULL;
      add_linear (&s, "lin", 7, 5, with_bias);
      JdLinearLayer lin;
      g_assert_true (jd_linear_layer_init (&lin, s.weights, "lin", 7, 5, with_bias, &error));
      g_assert_no_error (error);
      g_autoptr (JdTensor) x = random_input (&s, 3, (int64_t[]) { 2, 3, 7 });
      g_autoptr (JdTensor) out = jd_linear_layer_forward (&lin, x, &error);
      g_assert_no_error (error);
      Ref rx = ref_of (x), want = ref_linear (&rx, lin.weight, lin.bias);
      assert_close_ref (out, &want);
      ref_free (&rx);
      ref_free (&want);
      store_clear (&s);
    }
}

static void
check_resnet (int64_t in, int64_t out_ch, int64_t temb_ch, int groups)
{
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  add_norm (&s, "r.norm1", in);
  add_conv (&s, "r.conv1", in, out_ch, 3);
  if (temb_ch > 0)
    add_linear (&s, "r.time_emb_proj", temb_ch, out_ch, TRUE);
  add_norm (&s, "r.norm2", out_ch);
  add_conv (&s, "r.conv2", out_ch, out_ch, 3);
  if (in != out_ch)
    add_conv (&s, "r.conv_shortcut", in, out_ch, 1);
  JdResnetBlock2D blk;
  g_assert_true (jd_resnet_block2d_init (&blk, s.weights, "r", in, out_ch, temb_ch, groups, 1e-5f,
                                         &error));
  g_assert_no_error (error);
  g_assert_cmpint (blk.has_conv_shortcut, ==, in != out_ch);
  g_autoptr (JdTensor) x = random_input (&s, 4, (int64_t[]) { 2, in, 5, 3 });
  g_autoptr (JdTensor) temb = temb_ch > 0 ? random_input (&s, 2, (int64_t[]) { 2, temb_ch })
                                          : NULL;
  g_autoptr (JdTensor) out = jd_resnet_block2d_forward (&blk, x, temb, &error);
  g_assert_no_error (error);
  Ref rx = ref_of (x);
  Ref rt = temb ? ref_of (temb) : (Ref) { 0 };
  Ref want = ref_resnet (&rx, &blk, temb ? &rt : NULL);
  assert_close_ref (out, &want);
  ref_free (&rx);
  ref_free (&rt);
  ref_free (&want);
  store_clear (&s);
}

static void
test_resnet_block (void)
{
  check_resnet (4, 6, 5, 2);    /* shortcut and time embedding */
  check_resnet (6, 6, 0, 3);    /* identity residual, no time embedding (the VAEs) */
}

static void
test_spatio_temporal_res_block (void)
{
  const int64_t b = 2, f = 3, c = 32, h = 3, w = 2, temb_ch = 8;
  for (int sw = 0; sw < 2; sw++)
    {
      /* SVD's 32 groups, and the compact models' 8 (norm_num_groups in their configs). */
      const int groups = sw ? 8 : 32;
      Store s;
      store_init (&s);
      g_autoptr (GError) error = NULL;
      add_norm (&s, "st.spatial_res_block.norm1", c);
      add_conv (&s, "st.spatial_res_block.conv1", c, c, 3);
      add_linear (&s, "st.spatial_res_block.time_emb_proj", temb_ch, c, TRUE);
      add_norm (&s, "st.spatial_res_block.norm2", c);
      add_conv (&s, "st.spatial_res_block.conv2", c, c, 3);
      add_norm (&s, "st.temporal_res_block.norm1", c);
      store_add (&s, "st.temporal_res_block.conv1.weight", -0.1f, 0.1f, 5,
                 (int64_t[]) { c, c, 3, 1, 1 });
      store_add (&s, "st.temporal_res_block.conv1.bias", -0.25f, 0.25f, 1, &c);
      add_linear (&s, "st.temporal_res_block.time_emb_proj", temb_ch, c, TRUE);
      add_norm (&s, "st.temporal_res_block.norm2", c);
      store_add (&s, "st.temporal_res_block.conv2.weight", -0.1f, 0.1f, 5,
                 (int64_t[]) { c, c, 3, 1, 1 });
      store_add (&s, "st.temporal_res_block.conv2.bias", -0.25f, 0.25f, 1, &c);
      store_add (&s, "st.time_mixer.mix_factor", -2.0f, 2.0f, 1, (int64_t[]) { 1 });
      JdSpatioTemporalResBlock blk;
      g_assert_true (jd_spatio_temporal_res_block_init (&blk, s.weights, "st", c, c, temb_ch,
                                                        groups, 1e-6f, 1e-5f, sw, &error));
      g_assert_no_error (error);
      g_autoptr (JdTensor) x = random_input (&s, 4, (int64_t[]) { b * f, c, h, w });
      g_autoptr (JdTensor) temb = random_input (&s, 2, (int64_t[]) { b * f, temb_ch });
      g_autoptr (JdTensor) out = jd_spatio_temporal_res_block_forward (&blk, x, temb, (int) f,
                                                                       &error);
      g_assert_no_error (error);

      Ref rx = ref_of (x), rt = ref_of (temb);
      Ref spatial = ref_resnet (&rx, &blk.spatial_res_block, &rt);
      spatial.ndim = 5;
      memcpy (spatial.shape, (int64_t[]) { b, f, c, h, w }, sizeof (int64_t) * 5);
      Ref cf = ref_swap_12 (&spatial);
      const JdTemporalResnetBlock *tb = &blk.temporal_res_block;
      Ref n1 = ref_group_norm (&cf, tb->norm1.weight, tb->norm1.bias, groups, 1e-5, TRUE);
      Ref t1 = ref_conv_temporal (&n1, tb->conv1_weight, tb->conv1_bias);
      Ref act = ref_new (2, rt.shape);
      for (int64_t i = 0; i < ref_numel (&rt); i++)
        act.d[i] = silu (rt.d[i]);
      Ref p = ref_linear_layer (&act, &tb->time_emb_proj);   /* (B·F, C) */
      for (int64_t sb = 0; sb < b; sb++)
        for (int64_t ch = 0; ch < c; ch++)
          for (int64_t t = 0; t < f; t++)
            for (int64_t i = 0; i < h * w; i++)
              t1.d[((sb * c + ch) * f + t) * h * w + i] += p.d[(sb * f + t) * c + ch];
      Ref n2 = ref_group_norm (&t1, tb->norm2.weight, tb->norm2.bias, groups, 1e-5, TRUE);
      Ref temporal = ref_conv_temporal (&n2, tb->conv2_weight, tb->conv2_bias);
      ref_add_into (&temporal, &cf);
      float mix;
      g_assert_true (jd_tensor_download_f32 (
        jd_weights_get (s.weights, "st.time_mixer.mix_factor", 1, (int64_t[]) { 1 }, NULL), &mix,
        NULL));
      double alpha = 1.0 / (1.0 + exp (-(double) mix));
      if (sw)
        alpha = 1.0 - alpha;
      Ref back = ref_swap_12 (&temporal);
      for (int64_t i = 0; i < ref_numel (&back); i++)
        back.d[i] = alpha * spatial.d[i] + (1.0 - alpha) * back.d[i];
      back.ndim = 4;
      memcpy (back.shape, (int64_t[]) { b * f, c, h, w }, sizeof (int64_t) * 4);
      assert_close_ref (out, &back);
      Ref *all[] = { &rx, &rt, &spatial, &cf, &n1, &t1, &act, &p, &n2, &temporal, &back };
      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        ref_free (all[i]);
      store_clear (&s);
    }
}

static void
add_attention_weights (Store *s, const char *prefix, int64_t dim, int64_t inner,
                       int64_t context_dim)
{
  g_autofree char *q = g_strdup_printf ("%s.to_q", prefix);
  g_autofree char *k = g_strdup_printf ("%s.to_k", prefix);
  g_autofree char *v = g_strdup_printf ("%s.to_v", prefix);
  g_autofree char *o = g_strdup_printf ("%s.to_out.0", prefix);
  int64_t kv = context_dim > 0 ? context_dim : dim;
  add_linear (s, q, dim, inner, FALSE);
  add_linear (s, k, kv, inner, FALSE);
  add_linear (s, v, kv, inner, FALSE);
  add_linear (s, o, inner, dim, TRUE);
}

/* x (B, L, dim) attends to context (Bc, Lk, 7) (NULL: self); compares forward and add_to with
 * the general formula, the context repeated per group of B/Bc rows. */
static void
check_attention (int64_t batch, int64_t lq, int64_t context_batch, int64_t lk)
{
  const int64_t dim = 6, heads = 2, head_dim = 4, context_dim = lk > 0 ? 7 : 0;
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  add_attention_weights (&s, "a", dim, heads * head_dim, context_dim);
  JdAttentionLayer a;
  g_assert_true (jd_attention_layer_init (&a, s.weights, "a", dim, heads, head_dim, context_dim,
                                          FALSE, &error));
  g_assert_no_error (error);
  g_autoptr (JdTensor) x = random_input (&s, 3, (int64_t[]) { batch, lq, dim });
  g_autoptr (JdTensor) ctx = lk > 0 ? random_input (&s, 3, (int64_t[]) { context_batch, lk,
                                                                          context_dim })
                                    : NULL;
  g_autoptr (JdTensor) out = jd_attention_layer_forward (&a, x, ctx, &error);
  g_assert_no_error (error);
  Ref rx = ref_of (x);
  Ref rc = ctx ? ref_of (ctx) : (Ref) { 0 };
  Ref rep = ctx ? ref_repeat_rows (&rc, batch / context_batch) : (Ref) { 0 };
  Ref want = ref_attention_layer (&a, &rx, ctx ? &rep : NULL);
  assert_close_ref (out, &want);

  g_autoptr (JdTensor) acc = random_input (&s, 3, x->shape);
  Ref racc = ref_of (acc);
  g_assert_true (jd_attention_layer_add_to (&a, x, ctx, acc, &error));
  g_assert_no_error (error);
  ref_add_into (&racc, &want);
  assert_close_ref (acc, &racc);
  Ref *all[] = { &rx, &rc, &rep, &want, &racc };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    ref_free (all[i]);
  store_clear (&s);
}

static void
test_attention (void)
{
  check_attention (2, 5, 0, 0);     /* self-attention */
  check_attention (1, 1, 0, 0);     /* self-attention over one token: the shortcut */
  check_attention (2, 5, 2, 3);     /* cross-attention */
  check_attention (6, 5, 2, 3);     /* each context serves 3 query rows */
  check_attention (2, 9, 2, 1);     /* one context token: the shortcut */
  check_attention (6, 4, 2, 1);     /* the shortcut, shared by groups of rows */
}

static void
test_attention_bad_context (void)
{
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  add_attention_weights (&s, "a", 6, 8, 7);
  JdAttentionLayer a;
  g_assert_true (jd_attention_layer_init (&a, s.weights, "a", 6, 2, 4, 7, FALSE, &error));
  g_autoptr (JdTensor) x = random_input (&s, 3, (int64_t[]) { 5, 2, 6 });
  g_autoptr (JdTensor) ctx = random_input (&s, 3, (int64_t[]) { 2, 3, 7 });
  g_autoptr (JdTensor) out = jd_attention_layer_forward (&a, x, ctx, &error);
  g_assert_null (out);
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "[5, 2, 6]"));
  g_assert_nonnull (strstr (error->message, "[2, 3, 7]"));
  store_clear (&s);
}

static void
test_feed_forward (void)
{
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  add_linear (&s, "ff.net.0.proj", 6, 48, TRUE);
  add_linear (&s, "ff.net.2", 24, 5, TRUE);
  JdFeedForward ff;
  g_assert_true (jd_feed_forward_init (&ff, s.weights, "ff", 6, 5, 4, &error));
  g_assert_no_error (error);
  g_autoptr (JdTensor) x = random_input (&s, 3, (int64_t[]) { 2, 3, 6 });
  g_autoptr (JdTensor) out = jd_feed_forward_forward (&ff, x, &error);
  g_assert_no_error (error);
  Ref rx = ref_of (x), want = ref_feed_forward (&ff, &rx);
  assert_close_ref (out, &want);
  ref_free (&rx);
  ref_free (&want);
  store_clear (&s);
}

static void
check_transformer_block (int64_t context_dim, gboolean double_self)
{
  const int64_t dim = 8;
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  add_norm (&s, "t.norm1", dim);
  add_attention_weights (&s, "t.attn1", dim, dim, 0);
  if (context_dim > 0 || double_self)
    {
      add_norm (&s, "t.norm2", dim);
      add_attention_weights (&s, "t.attn2", dim, dim, context_dim);
    }
  add_norm (&s, "t.norm3", dim);
  add_linear (&s, "t.ff.net.0.proj", dim, 8 * dim, TRUE);
  add_linear (&s, "t.ff.net.2", 4 * dim, dim, TRUE);
  JdTransformerBlock blk;
  g_assert_true (jd_transformer_block_init (&blk, s.weights, "t", dim, 2, dim / 2, context_dim,
                                            double_self, 1e-5f, &error));
  g_assert_no_error (error);
  g_autoptr (JdTensor) x = random_input (&s, 3, (int64_t[]) { 2, 5, dim });
  g_autoptr (JdTensor) ctx = context_dim > 0 ? random_input (&s, 3, (int64_t[]) { 2, 3,
                                                                                   context_dim })
                                             : NULL;
  g_autoptr (JdTensor) out = jd_transformer_block_forward (&blk, x, ctx, &error);
  g_assert_no_error (error);

  Ref h = ref_of (x);
  Ref rc = ctx ? ref_of (ctx) : (Ref) { 0 };
  Ref n1 = ref_layer_norm (&h, blk.norm1.weight, blk.norm1.bias, 1e-5);
  Ref a1 = ref_attention_layer (&blk.attn1, &n1, NULL);
  ref_add_into (&h, &a1);
  Ref n2 = { 0 }, a2 = { 0 };
  if (blk.has_attn2)
    {
      n2 = ref_layer_norm (&h, blk.norm2.weight, blk.norm2.bias, 1e-5);
      a2 = ref_attention_layer (&blk.attn2, &n2, ctx ? &rc : NULL);
      ref_add_into (&h, &a2);
    }
  Ref n3 = ref_layer_norm (&h, blk.norm3.weight, blk.norm3.bias, 1e-5);
  Ref f = ref_feed_forward (&blk.ff, &n3);
  ref_add_into (&h, &f);
  assert_close_ref (out, &h);
  Ref *all[] = { &h, &rc, &n1, &a1, &n2, &a2, &n3, &f };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    ref_free (all[i]);
  store_clear (&s);
}

static void
test_transformer_block (void)
{
  check_transformer_block (7, FALSE);    /* cross-attention (the video UNet) */
  check_transformer_block (0, TRUE);     /* two self-attentions (AudioLDM2 without text) */
  check_transformer_block (0, FALSE);    /* attn1 and the feed-forward only */
}

static void
test_timestep_embedding (void)
{
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  const int dim = 10;
  add_linear (&s, "te.linear_1", dim, 12, TRUE);
  add_linear (&s, "te.linear_2", 12, 9, TRUE);
  JdTimestepEmbedding te;
  g_assert_true (jd_timestep_embedding_init (&te, s.weights, "te", dim, 12, 9, &error));
  g_assert_no_error (error);
  const float times[] = { 0.0f, 1.5f, 417.0f };
  g_autoptr (JdTensor) t = jd_tensor_new_f32 (jd_test_backend (), &error, 1, (int64_t) 3);
  g_assert_true (jd_tensor_upload_f32 (t, times, &error));
  g_autoptr (JdTensor) feats = jd_sinusoids (jd_test_backend (), t, dim, &error);
  g_assert_no_error (error);
  Ref rf = ref_new (2, (int64_t[]) { 3, dim });
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < dim / 2; j++)
      {
        double angle = times[i] * exp (-log (10000.0) * j / (dim / 2));
        rf.d[i * dim + j] = cos (angle);
        rf.d[i * dim + dim / 2 + j] = sin (angle);
      }
  assert_close_ref (feats, &rf);
  g_autoptr (JdTensor) out = jd_timestep_embedding_forward (&te, feats, &error);
  g_assert_no_error (error);
  Ref h = ref_linear_layer (&rf, &te.linear_1);
  for (int64_t i = 0; i < ref_numel (&h); i++)
    h.d[i] = silu (h.d[i]);
  Ref want = ref_linear_layer (&h, &te.linear_2);
  assert_close_ref (out, &want);
  ref_free (&rf);
  ref_free (&h);
  ref_free (&want);
  store_clear (&s);
}

static void
test_resamplers (void)
{
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  const int64_t c = 3;
  add_conv (&s, "down.conv", c, c, 3);
  add_conv (&s, "up.conv", c, c, 3);
  for (int padding = 0; padding <= 1; padding++)
    {
      JdDownsample2D down;
      g_assert_true (jd_downsample2d_init (&down, s.weights, "down", c, padding, &error));
      g_assert_no_error (error);
      g_autoptr (JdTensor) x = random_input (&s, 4, (int64_t[]) { 2, c, 7, 6 });
      g_autoptr (JdTensor) out = jd_downsample2d_forward (&down, x, &error);
      g_assert_no_error (error);
      Ref rx = ref_of (x);
      Ref src = rx;
      Ref padded = { 0 };
      if (padding == 0)
        {
          padded = ref_new (4, (int64_t[]) { 2, c, 8, 7 });
          for (int64_t n = 0; n < 2 * c; n++)
            for (int64_t y = 0; y < 7; y++)
              memcpy (padded.d + (n * 8 + y) * 7, rx.d + (n * 7 + y) * 6, 6 * sizeof (double));
          src = padded;
        }
      Ref want = ref_conv2d (&src, down.conv.weight, down.conv.bias, 2, padding);
      assert_close_ref (out, &want);
      ref_free (&rx);
      ref_free (&padded);
      ref_free (&want);
    }
  JdUpsample2D up;
  g_assert_true (jd_upsample2d_init (&up, s.weights, "up", c, &error));
  const int64_t sizes[][4] = { { 3, 5, 0, 0 }, { 4, 6, 7, 11 } };
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      const int64_t h = sizes[k][0], w = sizes[k][1];
      const int64_t oh = sizes[k][2] ? sizes[k][2] : 2 * h, ow = sizes[k][3] ? sizes[k][3] : 2 * w;
      g_autoptr (JdTensor) x = random_input (&s, 4, (int64_t[]) { 1, c, h, w });
      g_autoptr (JdTensor) out = jd_upsample2d_forward (&up, x, sizes[k][2], sizes[k][3], &error);
      g_assert_no_error (error);
      Ref rx = ref_of (x);
      Ref big = ref_new (4, (int64_t[]) { 1, c, oh, ow });
      for (int64_t ch = 0; ch < c; ch++)
        for (int64_t y = 0; y < oh; y++)
          for (int64_t xo = 0; xo < ow; xo++)
            big.d[(ch * oh + y) * ow + xo] =
              rx.d[(ch * h + (y * h) / oh) * w + (xo * w) / ow];
      Ref want = ref_conv2d (&big, up.conv.weight, up.conv.bias, 1, 1);
      assert_close_ref (out, &want);
      ref_free (&rx);
      ref_free (&big);
      ref_free (&want);
    }
  store_clear (&s);
}

static void
test_weights_errors (void)
{
  Store s;
  store_init (&s);
  g_autoptr (GError) error = NULL;
  add_linear (&s, "lin", 4, 3, FALSE);

  /* Missing: the message names the tensor and the shape wanted. */
  JdLinearLayer lin;
  g_assert_false (jd_linear_layer_init (&lin, s.weights, "lin", 4, 3, TRUE, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "“lin.bias”"));
  g_assert_nonnull (strstr (error->message, "[3]"));
  g_clear_error (&error);

  /* Wrong shape: both shapes. */
  g_assert_false (jd_linear_layer_init (&lin, s.weights, "lin", 5, 3, FALSE, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_assert_nonnull (strstr (error->message, "“lin.weight”"));
  g_assert_nonnull (strstr (error->message, "[3, 4]"));
  g_assert_nonnull (strstr (error->message, "[3, 5]"));
  g_clear_error (&error);

  /* Optional lookups: absent is fine, a wrong shape is not. */
  const JdTensor *t = (const JdTensor *) &lin;
  g_assert_true (jd_weights_get_optional_in (s.weights, "lin", "bias", 1, (int64_t[]) { 3 }, &t,
                                             &error));
  g_assert_no_error (error);
  g_assert_null (t);
  g_assert_false (jd_weights_get_optional (s.weights, "lin.weight", 1, (int64_t[]) { 12 }, &t,
                                           &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
  g_clear_error (&error);

  /* The same tensor twice is one tensor. */
  const JdTensor *a = jd_weights_get (s.weights, "lin.weight", 2, (int64_t[]) { 3, 4 }, &error);
  const JdTensor *b = jd_weights_get_in (s.weights, "lin", "weight", 2, (int64_t[]) { 3, 4 },
                                         &error);
  g_assert_no_error (error);
  g_assert_true (a == b);
  g_assert_cmpuint (jd_weights_get_n_loaded (s.weights), ==, 1);

  /* A name can be added once. */
  g_assert_false (jd_weights_add (s.weights, "lin.weight",
                                  random_input (&s, 1, (int64_t[]) { 2 }), &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "lin.weight"));
  store_clear (&s);
}

static void
test_weights_from_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jd-weights-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "w.safetensors", NULL);
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  const float values[6] = { 1, -2, 3.5f, 0.25f, -0.5f, 6 };
  g_assert_true (jd_safetensors_writer_add_f32 (writer, "m.w", JD_DTYPE_F16, 2,
                                                (int64_t[]) { 2, 3 }, values, &error));
  g_assert_true (jd_safetensors_writer_write (writer, path, &error));
  g_assert_no_error (error);
  g_autoptr (JdSafetensors) file = jd_safetensors_open (path, &error);
  g_assert_no_error (error);
  {
    g_autoptr (JdWeights) weights = jd_weights_new (file, jd_test_backend ());
    g_assert_true (jd_weights_has (weights, "m.w"));
    g_assert_false (jd_weights_has (weights, "m.b"));
    const JdTensor *w = jd_weights_get (weights, "m.w", 2, (int64_t[]) { 2, 3 }, &error);
    g_assert_no_error (error);
    g_assert_cmpint (w->dtype, ==, JD_DTYPE_F32);
    g_assert_cmpfloat (((const float *) w->data)[2], ==, 3.5f);
    g_assert_null (jd_weights_get (weights, "m.b", 1, (int64_t[]) { 2 }, &error));
    g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
    g_assert_nonnull (strstr (error->message, "“m.b”"));
    g_assert_nonnull (strstr (error->message, "w.safetensors"));
    g_clear_error (&error);
    g_assert_null (jd_weights_get (weights, "m.w", 2, (int64_t[]) { 3, 2 }, &error));
    g_assert_error (error, JD_ERROR, JD_ERROR_MODEL_FILE);
    g_assert_nonnull (strstr (error->message, "[2, 3]"));
    g_assert_nonnull (strstr (error->message, "[3, 2]"));
    g_assert_nonnull (strstr (error->message, "w.safetensors"));
  }
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layers/linear", test_linear);
  g_test_add_func ("/layers/resnet-block", test_resnet_block);
  g_test_add_func ("/layers/spatio-temporal-res-block", test_spatio_temporal_res_block);
  g_test_add_func ("/layers/attention", test_attention);
  g_test_add_func ("/layers/attention/bad-context", test_attention_bad_context);
  g_test_add_func ("/layers/feed-forward", test_feed_forward);
  g_test_add_func ("/layers/transformer-block", test_transformer_block);
  g_test_add_func ("/layers/timestep-embedding", test_timestep_embedding);
  g_test_add_func ("/layers/resamplers", test_resamplers);
  g_test_add_func ("/weights/errors", test_weights_errors);
  g_test_add_func ("/weights/from-file", test_weights_from_file);
  return g_test_run ();
}
