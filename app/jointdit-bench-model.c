/* jointdit bench model — one whole generation timed, its denoiser's FLOPs counted, next to the
 * machine's FMA peak and (with --reference) the PyTorch reference doing the same job in the
 * same run with the same thread count.
 *
 * The FLOPs are those the backend really ran (jd_backend_get_stats: linear, convolutions and
 * attention; elementwise, norm and layout ops are not counted), so the figure follows the graph
 * the engine runs, not a model of it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <json-glib/json-glib.h>

#include "jd-build-config.h"
#include "jd-cpu-backend.h"
#include "jd-cpu-peak.h"
#include "jd-data-paths.h"
/* The bench reads the open engine's backend for its op counter and thread pool: a measuring
 * tool may look inside; the public jointdit.h stays free of backend details. */
#include "jd-engine-private.h"
#include "jointdit-cli.h"

typedef struct {
  JdBackend *backend;
  GArray    *step_s;       /* seconds per step */
  GArray    *step_flops;   /* FLOPs the backend ran per step */
  double     last_elapsed;
  double     last_flops;
} StepLog;

static double
backend_flops (JdBackend *backend)
{
  JdBackendStats stats;
  double total;
  jd_backend_get_stats (backend, &stats, &total);
  return total;
}

static void
on_progress (const JdProgress *progress, gpointer user_data)
{
  StepLog *log = user_data;
  double flops = backend_flops (log->backend);
  double dt = progress->elapsed_s - log->last_elapsed, df = flops - log->last_flops;
  g_array_append_val (log->step_s, dt);
  g_array_append_val (log->step_flops, df);
  log->last_elapsed = progress->elapsed_s;
  log->last_flops = flops;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median_of (GArray *values)
{
  g_autoptr (GArray) sorted = g_array_copy (values);
  g_array_sort (sorted, compare_doubles);
  guint n = sorted->len;
  const double *v = (const double *) sorted->data;
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A deterministic test picture at the model's size: smooth colour gradients with a diagonal
 * stripe, so the encoders see structure rather than a flat field. */
static guint8 *
test_picture (int width, int height)
{
  guint8 *rgb = g_new (guint8, (gsize) width * height * 3);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = rgb + ((gsize) y * width + x) * 3;
        p[0] = (guint8) (255 * x / MAX (width - 1, 1));
        p[1] = (guint8) (255 * y / MAX (height - 1, 1));
        p[2] = ((x + y) / 8) % 2 ? 200 : 40;
      }
  return rgb;
}

static double
peak_rss_mb (void)
{
  struct rusage usage;
  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return 0.0;
  return usage.ru_maxrss / 1024.0;  /* KiB on Linux */
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

/* What the PyTorch reference reported (times in seconds). */
typedef struct {
  gboolean ran;
  char    *note;          /* why it was skipped, or its torch version */
  double   step_s;
  double   end_to_end_s;
  double   condition_s, sampling_s, decode_s;
  double   peak_mb;
} ReferenceResult;

static const char *
reference_script (void)
{
  const char *env = g_getenv ("JOINTDIT_REFERENCE_BENCH");
  return env != NULL ? env : JD_SOURCE_ROOT "/tools/reference/bench_reference.py";
}

/* Runs the reference's pipeline benchmark and reads the JSON object it prints last. */
static void
run_reference (const char *model, int steps, int threads, const char *guidance, double omega,
               ReferenceResult *ref)
{
  memset (ref, 0, sizeof *ref);
  g_autofree char *steps_s = g_strdup_printf ("%d", steps);
  g_autofree char *threads_s = g_strdup_printf ("%d", threads);
  char omega_s[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_dtostr (omega_s, sizeof omega_s, omega);
  const char *python = g_getenv ("JOINTDIT_PYTHON");
  const char *argv[] = { python != NULL ? python : "/usr/bin/python3", reference_script (),
                         "pipeline", "--model", model, "--steps", steps_s, "--threads", threads_s,
                         "--guidance", guidance, "--omega", omega_s, "--json", NULL };
  g_autofree char *out = NULL;
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  /* stderr is inherited: the reference's own messages reach the person running the bench. */
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                     &wait_status, &error))
    {
      ref->note = g_strdup_printf ("could not start %s: %s", argv[0], error->message);
      return;
    }
  /* The last non-empty line is the JSON report (torch may print warnings before it). */
  g_strchomp (out);
  const char *last = strrchr (out, '\n');
  last = last != NULL ? last + 1 : out;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = NULL;
  if (json_parser_load_from_data (parser, last, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    obj = json_node_get_object (json_parser_get_root (parser));
  if (obj != NULL && json_object_has_member (obj, "skipped"))
    {
      ref->note = g_strdup (json_object_get_string_member (obj, "skipped"));
      return;
    }
  if (!g_spawn_check_wait_status (wait_status, &error) || obj == NULL
      || !json_object_has_member (obj, "ms_per_step"))
    {
      ref->note = g_strdup_printf ("%s %s failed (%s)", argv[0], argv[1],
                                   error != NULL ? error->message : "no JSON report on stdout");
      return;
    }
  ref->ran = TRUE;
  /* The BLAS decides the reference's speed (Debian's reference BLAS made it 4x slower). */
  const char *blas = json_object_get_string_member_with_default (obj, "blas", "not reported");
  ref->note = g_strdup_printf ("torch %s, BLAS %s",
                               json_object_get_string_member (obj, "torch"), blas);
  ref->step_s = json_object_get_double_member (obj, "ms_per_step") * 1e-3;
  ref->end_to_end_s = json_object_get_double_member (obj, "end_to_end_ms") * 1e-3;
  ref->condition_s = json_object_get_double_member (obj, "condition_ms") * 1e-3;
  ref->sampling_s = json_object_get_double_member (obj, "sampling_ms") * 1e-3;
  ref->decode_s = json_object_get_double_member (obj, "decode_ms") * 1e-3;
  ref->peak_mb = json_object_get_double_member (obj, "peak_mb");
}

static void
print_row (const char *name, double flops_per_call, double calls_per_step, double step_s,
           double peak_gflops, double peak_mb, double e2e_s, double cond_s, double samp_s,
           double dec_s)
{
  double gflops = flops_per_call * calls_per_step / step_s * 1e-9;
  printf ("%-19s %10.3f %9.1f %8.1f %7.1f%% %8.0f %9.2f %8.2f %8.2f %8.2f\n", name,
          flops_per_call * 1e-9, step_s * 1e3, gflops, 100.0 * gflops / peak_gflops, peak_mb,
          e2e_s, cond_s, samp_s, dec_s);
}

int
jd_cli_bench_model (const char *model, int steps, int n_threads, const char *guidance_name,
                    double omega, gboolean reference, double seconds)
{
  g_autoptr (GError) error = NULL;
  JdGuidanceMode mode;
  if (!jd_guidance_mode_parse (guidance_name, &mode))
    return jd_cli_fail (JD_EXIT_USAGE, "bench model: --guidance must be none, cfg, joint or "
                                       "joint-star, not “%s”", guidance_name);
  if (model == NULL)
    model = jd_data_default_model_path ();
  g_autoptr (JdEngine) engine = jd_engine_open (model, JD_DEVICE_CPU, n_threads, &error);
  if (engine == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "bench model: %s", error->message);
  const JdModelInfo *info = jd_engine_get_info (engine);
  JdBackend *backend = engine->backend;
  JdThreadPool *pool = jd_cpu_backend_get_thread_pool (backend);

  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  jd_guidance_set_mode (guidance, mode);
  if (!jd_guidance_set_omega (guidance, omega, omega, &error))
    return jd_cli_fail (JD_EXIT_USAGE, "bench model: %s", error->message);
  JdGuidanceSnapshot snapshot = jd_guidance_snapshot (guidance);
  int calls_per_step = jd_guidance_needs_negative (&snapshot) ? 2 : 1;

  g_autofree guint8 *rgb = test_picture (info->width, info->height);
  JdGenerateParams params;
  jd_generate_params_init (&params);
  params.seed = 1;
  params.guidance = guidance;

  /* A one-step generation first, untimed: oneDNN builds its primitives and the weights'
   * reorders are cached, as in any generation after an application's first. The reference
   * warms up the same way. */
  fprintf (stderr, "bench model: warming up…\n");
  params.steps = 1;
  g_autoptr (JdResult) warm = NULL;
  if (!jd_engine_generate (engine, rgb, info->width, info->height, (gsize) info->width * 3,
                           &params, &warm, &error))
    return jd_cli_fail (JD_EXIT_FAILURE, "bench model: %s", error->message);

  double peak = jd_cpu_measure_fma_peak_gflops (pool, seconds);
  StepLog log = { backend, g_array_new (FALSE, FALSE, sizeof (double)),
                  g_array_new (FALSE, FALSE, sizeof (double)), 0.0, 0.0 };
  params.steps = steps;
  params.on_progress = on_progress;
  params.user_data = &log;
  fprintf (stderr, "bench model: %d steps on %s…\n", steps, info->name);
  jd_backend_reset_stats (backend);
  g_autoptr (JdResult) result = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = jd_engine_generate (engine, rgb, info->width, info->height,
                                    (gsize) info->width * 3, &params, &result, &error);
  double e2e_s = (g_get_monotonic_time () - start) * 1e-6;
  double total_flops = backend_flops (backend);
  if (!ok)
    {
      g_array_unref (log.step_s);
      g_array_unref (log.step_flops);
      return jd_cli_fail (JD_EXIT_FAILURE, "bench model: %s", error->message);
    }
  /* The step time counts from the end of conditioning; the first interval also holds the
   * sampler's setup (noise), which the median leaves aside. */
  double step_s = median_of (log.step_s);
  double flops_per_call = median_of (log.step_flops) / calls_per_step;
  double engine_peak_mb = peak_rss_mb ();
  g_array_unref (log.step_s);
  g_array_unref (log.step_flops);
  peak = MAX (peak, jd_cpu_measure_fma_peak_gflops (pool, seconds));

  int threads = jd_thread_pool_get_n_threads (pool);
  ReferenceResult ref = { 0 };
  if (reference)
    {
      fprintf (stderr, "bench model: the PyTorch reference, %d steps, %d thread%s…\n", steps,
               threads, threads == 1 ? "" : "s");
      run_reference (model, steps, threads, guidance_name, omega, &ref);
    }

  g_autofree char *cpu = cpu_model_name ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d %H:%M UTC");
  printf ("Machine: %s, %d thread%s, SIMD %s, measured FMA peak %.1f GFLOP/s (F32)\n", cpu,
          threads, threads == 1 ? "" : "s", jd_cpu_simd_name (), peak);
  /* The engine vocodes only a mel of the vocoder's own bins, else uses Griffin-Lim. */
  const JdVocoderConfig *vc = engine->vocoder ? jd_vocoder_get_config (engine->vocoder) : NULL;
  gboolean vocoded = vc != NULL && vc->model_in_dim == info->mel_bins;
  printf ("Model: %s (%s): %d frames %d×%d, %.2f s of audio at %d Hz, %s\n", info->name,
          info->path, info->frames, info->width, info->height, info->audio_seconds,
          info->sample_rate, vocoded ? "vocoder" : "Griffin-Lim");
  printf ("Run: %s, %d steps, guidance %s ω %g (%d denoiser call%s per step), seed 1\n\n",
          date, steps, guidance_name, omega, calls_per_step, calls_per_step == 1 ? "" : "s");
  printf ("%-19s %10s %9s %8s %8s %8s %9s %8s %8s %8s\n", "", "GFLOP", "ms/step", "GFLOP/s",
          "% peak", "peak MB", "end-to-", "cond.", "sampling", "decode");
  printf ("%-19s %10s %9s %8s %8s %8s %9s %8s %8s %8s\n", "", "/call", "(median)", "", "",
          "", "end s", "s", "s", "s");
  print_row ("engine", flops_per_call, calls_per_step, step_s, peak, engine_peak_mb, e2e_s,
             result->condition_s, result->sampling_s, result->decode_s);
  if (ref.ran)
    {
      print_row ("PyTorch reference", flops_per_call, calls_per_step, ref.step_s, peak,
                 ref.peak_mb, ref.end_to_end_s, ref.condition_s, ref.sampling_s, ref.decode_s);
      printf ("\nengine / reference: %.2f× the reference's speed per step, %.2f× end to end "
              "(%s)\n", ref.step_s / step_s, ref.end_to_end_s / e2e_s, ref.note);
    }
  else if (reference)
    printf ("\nPyTorch reference skipped: %s\n", ref.note);
  else
    printf ("\nPyTorch reference not run (add --reference)\n");
  printf ("\n"
          "GFLOP/call: multiply-adds × 2 of the linear, convolution and attention ops the\n"
          "  backend ran in one step, ÷ the denoiser calls per step (elementwise, norm and layout\n"
          "  ops are not counted); the reference runs the same graph, so its GFLOP/s uses the\n"
          "  same count;\n"
          "ms/step: the median over the steps of one generation (from the progress callback);\n"
          "peak MB: the process's peak resident set (getrusage ru_maxrss): the bundle's weights,\n"
          "  activations, oneDNN's caches, the libraries; for the reference, its Python process\n"
          "  with torch loaded;\n"
          "end-to-end: image in to frames and audio out (condition, sampling, decode), after an\n"
          "  untimed one-step warm-up in both; this run's operations totalled %.1f GFLOP.\n",
          total_flops * 1e-9);
  g_free (ref.note);
  return JD_EXIT_OK;
}
