/* jointdit bench — the engine's speed next to the machine's limits.
 *
 * `jointdit bench ops` times the op front ends at the sizes the models use, as the engine calls
 * them (jd_linear, jd_conv2d, …, warm, weights marked constant), next to oneDNN doing the same
 * job called directly (jd-cpu-bench.h: reorders in and out included, and the primitive alone),
 * oneDNN on the PyTorch layouts as given, and the machine's FMA peak measured in the same run.
 * The calls interleave within one loop so a noisy machine slows all alike; each figure is the
 * median of its calls.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jd-cpu-backend.h"
#include "jd-cpu-bench.h"
#include "jd-cpu-peak.h"
#include "jd-ops.h"
#include "jointdit-cli.h"

#define USAGE                                                                           \
  "Usage: jointdit bench ops [--threads N] [--seconds S]\n"                             \
  "       jointdit bench model [--model PATH] [--steps N] [--threads N] [--guidance M]\n" \
  "                            [--omega W] [--reference] [--seconds S]\n"                 \
  "       jointdit bench gpu [--size a|b] [--steps N] [--seconds S]"

typedef struct _BenchRow BenchRow;

struct _BenchRow {
  char         *op;
  char         *shape;
  double        flops;
  JdTensor     *t[5];       /* operands as the row's op takes them; dst last used */
  int           stride, padding, extra;
  float         scale;
  gboolean    (*engine) (JdBackend *backend, BenchRow *row, GError **error);
  JdCpuRawDnnl *raw;        /* oneDNN doing the same job directly; NULL: none (attention) */
  JdCpuRawDnnl *primitive;  /* its primitive alone; NULL where raw has no reorders */
  JdCpuRawDnnl *plain;      /* oneDNN on the PyTorch layouts; NULL where raw already is */
};

static void
bench_row_free (BenchRow *row)
{
  g_free (row->op);
  g_free (row->shape);
  for (int i = 0; i < 5; i++)
    g_clear_pointer (&row->t[i], jd_tensor_free);
  g_clear_pointer (&row->raw, jd_cpu_raw_dnnl_free);
  g_clear_pointer (&row->primitive, jd_cpu_raw_dnnl_free);
  g_clear_pointer (&row->plain, jd_cpu_raw_dnnl_free);
  g_free (row);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BenchRow, bench_row_free)

/* A tensor of uniform values in [-1, 1): realistic inputs, no denormal or zero shortcuts. */
static JdTensor *
random_tensor (JdBackend *backend, GRand *rng, int ndim, const int64_t *shape, GError **error)
{
  JdTensor *tensor = jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
  if (tensor == NULL)
    return NULL;
  float *data = tensor->data;
  for (int64_t i = 0, n = jd_tensor_numel (tensor); i < n; i++)
    data[i] = (float) g_rand_double_range (rng, -1.0, 1.0);
  return tensor;
}

static gboolean
engine_linear (JdBackend *backend, BenchRow *row, GError **error)
{
  return jd_linear (backend, row->t[0], row->t[1], row->t[2], row->t[3], error);
}

static gboolean
engine_conv2d (JdBackend *backend, BenchRow *row, GError **error)
{
  return jd_conv2d (backend, row->t[0], row->t[1], row->t[2], row->stride, row->padding,
                    row->t[3], error);
}

static gboolean
engine_conv_temporal (JdBackend *backend, BenchRow *row, GError **error)
{
  return jd_conv_temporal (backend, row->t[0], row->t[1], row->t[2], row->t[3], error);
}

static gboolean
engine_conv1d (JdBackend *backend, BenchRow *row, GError **error)
{
  return jd_conv1d (backend, row->t[0], row->t[1], row->t[2], row->stride, row->padding,
                    row->extra, row->t[3], error);
}

static gboolean
engine_conv_transpose1d (JdBackend *backend, BenchRow *row, GError **error)
{
  return jd_conv_transpose1d (backend, row->t[0], row->t[1], row->t[2], row->stride,
                              row->padding, row->extra, row->t[3], error);
}

static gboolean
engine_attention (JdBackend *backend, BenchRow *row, GError **error)
{
  return jd_attention (backend, row->t[0], row->t[1], row->t[2], row->extra, row->scale, 0,
                       NULL, NULL, row->t[3], error);
}

/* Allocates the row's operands with the given shapes (n_tensors of them, dst last). */
static BenchRow *
row_new (JdBackend *backend, GRand *rng, int n_tensors, const int *ndims,
         const int64_t (*shapes)[JD_MAX_DIMS], GError **error)
{
  g_autoptr (BenchRow) row = g_new0 (BenchRow, 1);
  for (int i = 0; i < n_tensors; i++)
    {
      row->t[i] = random_tensor (backend, rng, ndims[i], shapes[i], error);
      if (row->t[i] == NULL)
        return NULL;
    }
  return g_steal_pointer (&row);
}

/* Where the row keeps the raw oneDNN contender of a mode. */
static JdCpuRawDnnl **
contender_slot (BenchRow *row, JdCpuRawMode mode)
{
  switch (mode)
    {
    case JD_CPU_RAW_SEQUENCE: return &row->raw;
    case JD_CPU_RAW_PRIMITIVE_ONLY: return &row->primitive;
    default: return &row->plain;
    }
}

/* The primitive-only contender is the raw one where there is nothing to reorder. */
static BenchRow *
finish_conv_row (BenchRow *row)
{
  if (!jd_cpu_raw_dnnl_reorders (row->raw))
    g_clear_pointer (&row->primitive, jd_cpu_raw_dnnl_free);
  return row;
}

static BenchRow *
linear_row (JdBackend *backend, GRand *rng, int64_t m, int64_t k, int64_t n, GError **error)
{
  const int ndims[4] = { 2, 2, 1, 2 };
  const int64_t shapes[4][JD_MAX_DIMS] = { { m, k }, { n, k }, { n }, { m, n } };
  g_autoptr (BenchRow) row = row_new (backend, rng, 4, ndims, shapes, error);
  if (row == NULL)
    return NULL;
  row->op = g_strdup ("GEMM (linear)");
  row->shape = g_strdup_printf ("M %" G_GINT64_FORMAT " × K %" G_GINT64_FORMAT
                                " → N %" G_GINT64_FORMAT, m, k, n);
  row->flops = 2.0 * m * n * k;
  row->engine = engine_linear;
  jd_tensor_mark_constant (row->t[1]);  /* a weight, as the model loader marks it */
  row->raw = jd_cpu_raw_dnnl_new_linear (backend, JD_CPU_RAW_SEQUENCE, row->t[0], row->t[1],
                                         row->t[2], row->t[3], error);
  return row->raw ? g_steal_pointer (&row) : NULL;
}

static BenchRow *
conv2d_row (JdBackend *backend, GRand *rng, int64_t n, int64_t cin, int64_t h, int64_t w,
            int64_t cout, int64_t k, int stride, int padding, GError **error)
{
  int64_t ho = (h + 2 * padding - k) / stride + 1, wo = (w + 2 * padding - k) / stride + 1;
  const int ndims[4] = { 4, 4, 1, 4 };
  const int64_t shapes[4][JD_MAX_DIMS] = {
    { n, cin, h, w }, { cout, cin, k, k }, { cout }, { n, cout, ho, wo } };
  g_autoptr (BenchRow) row = row_new (backend, rng, 4, ndims, shapes, error);
  if (row == NULL)
    return NULL;
  row->op = g_strdup (stride == 1 ? "conv2d" : "conv2d downsample");
  row->shape = g_strdup_printf ("%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                                "×%" G_GINT64_FORMAT " → %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                                "×%" G_GINT64_FORMAT " s%d p%d",
                                n, cin, h, w, cout, k, k, stride, padding);
  row->flops = 2.0 * n * cout * ho * wo * cin * k * k;
  row->stride = stride;
  row->padding = padding;
  row->engine = engine_conv2d;
  jd_tensor_mark_constant (row->t[1]);  /* a weight, as the model loader marks it */
  for (JdCpuRawMode mode = 0; mode <= JD_CPU_RAW_PLAIN; mode++)
    if ((*contender_slot (row, mode) = jd_cpu_raw_dnnl_new_conv2d (
           backend, mode, row->t[0], row->t[1], row->t[2], stride, padding, row->t[3],
           error)) == NULL)
      return NULL;
  return finish_conv_row (g_steal_pointer (&row));
}

static BenchRow *
temporal_row (JdBackend *backend, GRand *rng, int64_t n, int64_t c, int64_t t, int64_t h,
              int64_t w, int64_t kt, GError **error)
{
  const int ndims[4] = { 5, 5, 1, 5 };
  const int64_t shapes[4][JD_MAX_DIMS] = {
    { n, c, t, h, w }, { c, c, kt, 1, 1 }, { c }, { n, c, t, h, w } };
  g_autoptr (BenchRow) row = row_new (backend, rng, 4, ndims, shapes, error);
  if (row == NULL)
    return NULL;
  row->op = g_strdup ("temporal conv");
  row->shape = g_strdup_printf ("%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                                "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                                ", kt %" G_GINT64_FORMAT, n, c, t, h, w, c, kt);
  row->flops = 2.0 * n * c * t * h * w * c * kt;
  row->engine = engine_conv_temporal;
  jd_tensor_mark_constant (row->t[1]);  /* a weight, as the model loader marks it */
  for (JdCpuRawMode mode = 0; mode <= JD_CPU_RAW_PLAIN; mode++)
    if ((*contender_slot (row, mode) = jd_cpu_raw_dnnl_new_conv_temporal (
           backend, mode, row->t[0], row->t[1], row->t[2], row->t[3], error)) == NULL)
      return NULL;
  return finish_conv_row (g_steal_pointer (&row));
}

static BenchRow *
conv1d_row (JdBackend *backend, GRand *rng, int64_t n, int64_t cin, int64_t l, int64_t cout,
            int64_t k, int dilation, GError **error)
{
  int padding = (int) (dilation * (k - 1) / 2);  /* "same", as the vocoder's res blocks */
  int64_t lo = l + 2 * padding - dilation * (k - 1);
  const int ndims[4] = { 3, 3, 1, 3 };
  const int64_t shapes[4][JD_MAX_DIMS] = { { n, cin, l }, { cout, cin, k }, { cout },
                                           { n, cout, lo } };
  g_autoptr (BenchRow) row = row_new (backend, rng, 4, ndims, shapes, error);
  if (row == NULL)
    return NULL;
  row->op = g_strdup ("conv1d");
  row->shape = g_strdup_printf ("%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                                " → %" G_GINT64_FORMAT ", k%" G_GINT64_FORMAT " d%d",
                                n, cin, l, cout, k, dilation);
  row->flops = 2.0 * n * cout * lo * cin * k;
  row->stride = 1;
  row->padding = padding;
  row->extra = dilation;
  row->engine = engine_conv1d;
  jd_tensor_mark_constant (row->t[1]);  /* a weight, as the model loader marks it */
  for (JdCpuRawMode mode = 0; mode <= JD_CPU_RAW_PLAIN; mode++)
    if ((*contender_slot (row, mode) = jd_cpu_raw_dnnl_new_conv1d (
           backend, mode, row->t[0], row->t[1], row->t[2], 1, padding, dilation, row->t[3],
           error)) == NULL)
      return NULL;
  return finish_conv_row (g_steal_pointer (&row));
}

static BenchRow *
transpose1d_row (JdBackend *backend, GRand *rng, int64_t n, int64_t cin, int64_t l,
                 int64_t cout, int64_t k, int stride, GError **error)
{
  int padding = (int) ((k - stride) / 2);  /* HiFi-GAN's choice */
  int64_t lo = (l - 1) * stride - 2 * padding + k;
  const int ndims[4] = { 3, 3, 1, 3 };
  const int64_t shapes[4][JD_MAX_DIMS] = { { n, cin, l }, { cin, cout, k }, { cout },
                                           { n, cout, lo } };
  g_autoptr (BenchRow) row = row_new (backend, rng, 4, ndims, shapes, error);
  if (row == NULL)
    return NULL;
  row->op = g_strdup ("transposed conv1d");
  row->shape = g_strdup_printf ("%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                                " → %" G_GINT64_FORMAT ", k%" G_GINT64_FORMAT " s%d p%d",
                                n, cin, l, cout, k, stride, padding);
  /* Every input element meets every tap once (taps landing in the padding included). */
  row->flops = 2.0 * n * cin * l * cout * k;
  row->stride = stride;
  row->padding = padding;
  row->engine = engine_conv_transpose1d;
  jd_tensor_mark_constant (row->t[1]);  /* a weight, as the model loader marks it */
  for (JdCpuRawMode mode = 0; mode <= JD_CPU_RAW_PLAIN; mode++)
    if ((*contender_slot (row, mode) = jd_cpu_raw_dnnl_new_conv_transpose1d (
           backend, mode, row->t[0], row->t[1], row->t[2], stride, padding, 0, row->t[3],
           error)) == NULL)
      return NULL;
  return finish_conv_row (g_steal_pointer (&row));
}

static BenchRow *
attention_row (JdBackend *backend, GRand *rng, int64_t b, int64_t l, int heads, int64_t d,
               GError **error)
{
  const int ndims[4] = { 3, 3, 3, 3 };
  const int64_t shapes[4][JD_MAX_DIMS] = {
    { b, l, heads * d }, { b, l, heads * d }, { b, l, heads * d }, { b, l, heads * d } };
  g_autoptr (BenchRow) row = row_new (backend, rng, 4, ndims, shapes, error);
  if (row == NULL)
    return NULL;
  row->op = g_strdup ("attention");
  row->shape = g_strdup_printf ("B %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " tokens, %d heads"
                                " × %" G_GINT64_FORMAT, b, l, heads, d);
  row->flops = 4.0 * b * heads * l * l * d;
  row->extra = heads;
  row->scale = 1.0f / sqrtf ((float) d);
  row->engine = engine_attention;
  return g_steal_pointer (&row);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (GArray *times)
{
  g_array_sort (times, compare_doubles);
  guint n = times->len;
  double *t = (double *) times->data;
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

enum { ENGINE, RAW, PRIMITIVE, PLAIN, N_CONTENDERS };

static gboolean
run_contender (JdBackend *backend, BenchRow *row, int which, GError **error)
{
  switch (which)
    {
    case ENGINE: return row->engine (backend, row, error);
    case RAW: return jd_cpu_raw_dnnl_run (row->raw, error);
    case PRIMITIVE: return jd_cpu_raw_dnnl_run (row->primitive, error);
    default: return jd_cpu_raw_dnnl_run (row->plain, error);
    }
}

/* Median seconds per call of the engine and the raw oneDNN contenders (those the row has; 0
 * for the others), calls interleaved and the order rotating every
 * round, for about `seconds` of wall time. */
static gboolean
measure_row (JdBackend *backend, BenchRow *row, double seconds, double *median_s,
             double *paired_ratio, GError **error)
{
  gboolean present[N_CONTENDERS] = { TRUE, row->raw != NULL, row->primitive != NULL,
                                     row->plain != NULL };
  GArray *times[N_CONTENDERS];
  for (int c = 0; c < N_CONTENDERS; c++)
    {
      times[c] = g_array_new (FALSE, FALSE, sizeof (double));
      median_s[c] = 0.0;
    }
  gboolean ok = TRUE;
  /* Warm-up: the engine builds and caches its primitive, pages are touched. */
  for (int c = 0; ok && c < N_CONTENDERS; c++)
    ok = !present[c] || run_contender (backend, row, c, error);
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * 1e6);
  for (int round = 0;
       ok && (round < 5 || (g_get_monotonic_time () < deadline && round < 100000)); round++)
    for (int i = 0; ok && i < N_CONTENDERS; i++)
      {
        int c = (i + round) % N_CONTENDERS;
        if (!present[c])
          continue;
        gint64 start = g_get_monotonic_time ();
        ok = run_contender (backend, row, c, error);
        double elapsed = (g_get_monotonic_time () - start) * 1e-6;
        g_array_append_val (times[c], elapsed);
      }
  /* raw / engine per round (the two calls ran at most a few calls apart, under about the same
   * load), then the median of those: steadier on a busy machine than the ratio of the two medians. */
  *paired_ratio = 0.0;
  if (ok && present[RAW])
    {
      GArray *ratios = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint r = 0; r < times[ENGINE]->len; r++)
        {
          double ratio = g_array_index (times[RAW], double, r)
                         / g_array_index (times[ENGINE], double, r);
          g_array_append_val (ratios, ratio);
        }
      *paired_ratio = median (ratios);
      g_array_unref (ratios);
    }
  for (int c = 0; c < N_CONTENDERS; c++)
    {
      if (ok && present[c])
        median_s[c] = median (times[c]);
      g_array_unref (times[c]);
    }
  return ok;
}

static char *
cpu_model_name (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    return g_strdup ("unknown CPU");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      const char *colon = strchr (*line, ':');
      if (g_str_has_prefix (*line, "model name") && colon != NULL)
        return g_strstrip (g_strdup (colon + 1));
    }
  return g_strdup ("unknown CPU");
}

static int
run_ops (int n_threads, double seconds)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBackend) backend = jd_cpu_backend_new (n_threads, &error);
  if (backend == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "cannot start the CPU backend: %s", error->message);
  JdThreadPool *pool = jd_cpu_backend_get_thread_pool (backend);
  int threads = jd_thread_pool_get_n_threads (pool);

  g_autoptr (GRand) rng = g_rand_new_with_seed (20250601);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) bench_row_free);
#define ADD(expr)                                                                        \
  G_STMT_START {                                                                         \
    BenchRow *_row = (expr);                                                             \
    if (_row == NULL)                                                                    \
      return jd_cli_fail (JD_EXIT_FAILURE, "cannot set up a benchmark: %s", error->message); \
    g_ptr_array_add (rows, _row);                                                        \
  } G_STMT_END
  /* Sizes of the video DiT / UNet blocks (320 channels on 64×64 latents, 4096 tokens) and of
   * the HiFi-GAN vocoder. */
  ADD (linear_row (backend, rng, 4096, 320, 320, &error));
  ADD (linear_row (backend, rng, 256, 320, 320, &error));  /* small: shows per-call overhead */
  ADD (linear_row (backend, rng, 4096, 320, 1280, &error));
  ADD (linear_row (backend, rng, 4096, 1280, 320, &error));
  ADD (conv2d_row (backend, rng, 1, 320, 64, 64, 320, 3, 1, 1, &error));
  ADD (conv2d_row (backend, rng, 1, 320, 64, 64, 320, 3, 2, 1, &error));
  ADD (temporal_row (backend, rng, 1, 320, 14, 32, 32, 3, &error));
  ADD (conv1d_row (backend, rng, 1, 256, 8192, 256, 7, 3, &error));
  ADD (transpose1d_row (backend, rng, 1, 512, 2048, 256, 8, 4, &error));
  ADD (attention_row (backend, rng, 1, 4096, 5, 64, &error));
#undef ADD

  /* The peak is measured before every row and after the last, and the highest figure kept: on
   * a busy or frequency-scaling machine one short measurement can land low and flatter the
   * ops. */
  double peak_seconds = MIN (0.1, seconds);
  double peak = 0.0;
  g_autofree double *median_s = g_new0 (double, rows->len * N_CONTENDERS);
  g_autofree double *paired_ratio = g_new0 (double, rows->len);
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < rows->len; i++)
    {
      BenchRow *row = rows->pdata[i];
      g_autoptr (GError) row_error = NULL;
      fprintf (stderr, "\rmeasuring %u/%u: %s…", i + 1, rows->len, row->op);
      peak = MAX (peak, jd_cpu_measure_fma_peak_gflops (pool, peak_seconds));
      if (!measure_row (backend, row, seconds, &median_s[i * N_CONTENDERS],
                        &paired_ratio[i], &row_error))
        {
          median_s[i * N_CONTENDERS + ENGINE] = 0.0;
          g_ptr_array_add (notes, g_strdup_printf ("%s: %s", row->op, row_error->message));
        }
    }
  fprintf (stderr, "\r%60s\r", "");
  peak = MAX (peak, jd_cpu_measure_fma_peak_gflops (pool, peak_seconds));

  g_autofree char *cpu = cpu_model_name ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d %H:%M UTC");
  printf ("Machine: %s, %d thread%s, SIMD %s, measured FMA peak %.1f GFLOP/s (F32, best of %u)\n", cpu,
          threads, threads == 1 ? "" : "s", jd_cpu_simd_name (), peak, rows->len + 1);
  printf ("Run: %s, about %.2g s per row, median of interleaved calls\n\n", date,
          seconds);
  printf ("%-18s %-34s %7s %9s %8s %8s %7s %8s %8s %7s\n", "op", "shape", "GFLOP", "engine ms",
          "engine", "raw", "eng/raw", "prim.", "plain", "% peak");
  printf ("%-18s %-34s %7s %9s %8s %8s %7s %8s %8s %7s\n", "", "", "", "", "GFLOP/s", "GFLOP/s",
          "", "GFLOP/s", "GFLOP/s", "");
  for (guint i = 0; i < rows->len; i++)
    {
      BenchRow *row = rows->pdata[i];
      const double *t = &median_s[i * N_CONTENDERS];
      /* The shape column holds multi-byte "×"; pad by characters, not bytes. */
      glong pad = 34 - g_utf8_strlen (row->shape, -1);
      printf ("%-18s %s%*s %7.2f ", row->op, row->shape, (int) MAX (pad, 0), "",
              row->flops * 1e-9);
      if (t[ENGINE] <= 0.0)
        {
          printf ("%9s %8s %8s %7s %8s %8s %7s\n", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a",
                  "n/a");
          continue;
        }
      double engine_gflops = row->flops / t[ENGINE] * 1e-9;
      printf ("%9.2f %8.1f ", t[ENGINE] * 1e3, engine_gflops);
      if (t[RAW] > 0.0)
        printf ("%8.1f %6.1f%% ", row->flops / t[RAW] * 1e-9, 100.0 * paired_ratio[i]);
      else
        printf ("%8s %7s ", "-", "-");
      for (int c = PRIMITIVE; c <= PLAIN; c++)
        if (t[c] > 0.0)
          printf ("%8.1f ", row->flops / t[c] * 1e-9);
        else
          printf ("%8s ", "-");
      printf ("%6.1f%%\n", 100.0 * engine_gflops / peak);
    }
  printf ("\n"
          "engine: the op front end (jd_linear, jd_conv2d, ...) as a model calls it: plain\n"
          "  PyTorch-layout tensors in and out, weights marked constant (as the model loader\n"
          "  marks them), so the engine reorders a convolution's weight once and caches it;\n"
          "raw: the same job done with oneDNN's C API directly, as a careful user would (weight\n"
          "  reordered once before timing): reorder x into the layout oneDNN chose, the\n"
          "  convolution, reorder the output back; where oneDNN keeps the plain layouts (linear,\n"
          "  conv1d, transposed conv1d) this is the primitive alone;\n"
          "eng/raw: the engine's speed as a share of raw's: the median over rounds of raw time /\n"
          "  engine time within one round (so both met about the same load; steadier than the\n"
          "  ratio of the two GFLOP/s columns, each the median of its own calls);\n"
          "prim.: raw's primitive alone on operands already in its layouts, the floor that shows\n"
          "  what the reorders cost ('-' where raw has none);\n"
          "plain: oneDNN on the PyTorch layouts as given, without reorders (what the engine\n"
          "  would run if it did not let oneDNN choose its layouts).\n");
  for (guint i = 0; i < notes->len; i++)
    printf ("%s%s\n", i == 0 ? "\n" : "", (char *) notes->pdata[i]);
  return JD_EXIT_OK;
}

int
jd_cli_bench (int argc, char **argv)
{
  int n_threads = 0, steps = 25;
  double seconds = 1.0, omega = 2.0;
  gboolean reference = FALSE;
  g_autofree char *model = NULL, *guidance = NULL, *size = NULL;
  const GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_INT, &n_threads, "Worker threads (default: one per core)",
      "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds,
      "ops: time spent per row; model: time measuring the FMA peak (default: 1)", "S" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model,
      "model: the bundle (default: the installed model)", "PATH" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "model: sampling steps (default: 25)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_STRING, &guidance,
      "model: none, cfg, joint or joint-star (default)", "M" },
    { "omega", 0, 0, G_OPTION_ARG_DOUBLE, &omega, "model: guidance scale ω (default: 2)", "W" },
    { "reference", 0, 0, G_OPTION_ARG_NONE, &reference,
      "model: also time the PyTorch reference in the same run", NULL },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size,
      "gpu: a (25×576×1024) or b (12×256×256); default both", "a|b" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("ops|model|gpu");
  g_option_context_set_summary (context, "Measure the engine's speed against the machine's "
                                         "limits.\n\nModes:\n  ops    GEMM, convolutions and "
                                         "attention at the models' sizes, next to raw oneDNN "
                                         "and the FMA peak\n  model  a whole generation: FLOPs per denoiser call, ms "
                                         "per step, GFLOP/s, peak memory, end-to-end time, "
                                         "optionally next to the PyTorch reference\n  gpu    the CUDA backend at full scale "
                                         "(random weights): a guided step and a sampling, "
                                         "TFLOP/s against the card's BF16 peak");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jd_cli_fail (JD_EXIT_USAGE, "%s\n" USAGE, error->message);
  if (argc == 2 && strcmp (argv[1], "model") == 0)
    {
      if (n_threads < 0 || steps < 1 || steps > 10000 || !(seconds > 0.0 && seconds <= 600.0)
          || !(omega >= 0.0 && omega <= 100.0))
        return jd_cli_fail (JD_EXIT_USAGE,
                            "--threads must be 0 (one per core) or more, --steps 1 to 10000, "
                            "--omega 0 to 100 and --seconds between 0 and 600\n" USAGE);
      return jd_cli_bench_model (model, steps, n_threads,
                                 guidance != NULL ? guidance : "joint-star", omega, reference,
                                 seconds);
    }
  if (argc == 2 && strcmp (argv[1], "gpu") == 0)
    {
      if (steps < 1 || steps > 10000 || !(seconds > 0.0 && seconds <= 600.0)
          || (size != NULL && strcmp (size, "a") != 0 && strcmp (size, "b") != 0))
        return jd_cli_fail (JD_EXIT_USAGE, "--size must be a or b, --steps 1 to 10000 and "
                            "--seconds between 0 and 600\n" USAGE);
      return jd_cli_bench_gpu (size, steps, seconds);
    }
  if (argc != 2 || strcmp (argv[1], "ops") != 0)
    return jd_cli_fail (JD_EXIT_USAGE, "%s\n" USAGE,
                        argc < 2 ? "bench needs a mode" : "unknown mode or extra arguments");
  if (n_threads < 0 || !(seconds > 0.0 && seconds <= 600.0))
    return jd_cli_fail (JD_EXIT_USAGE,
                        "--threads must be 0 (one per core) or more and --seconds between 0 "
                        "and 600\n" USAGE);
  return run_ops (n_threads, seconds);
}
