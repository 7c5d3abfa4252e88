/* test-studio-responsiveness.c — the main loop stays smooth while the worker samples.
 *
 * For up to four seconds from the first sampling step of a long run (previews arrive every step), every
 * frame-clock tick of the window is timed. A frame's stall is its gap to the previous frame minus the frame interval the
 * clock runs at when nothing happens (measured first, as the median gap while idle). The bounds
 * are the issue's: p99 ≤ 16 ms and max ≤ 50 ms of stall, with GSK_RENDERER=cairo.
 *
 * On a loaded machine (this one shares two cores with a training run, and tests run niced) the
 * scheduler alone can hold the main thread back, which says nothing about the studio. So a
 * baseline is measured first with the window idle while one thread of the process burns a CPU
 * (the worker's share), its stalls are added to the bounds, and the measurement is tried up to
 * three times: a main loop that the studio itself blocks (decoding or drawing on it) fails all
 * three. On a quiet machine the baseline is near zero and the bounds are the issue's. */
#include <math.h>
#include <stdlib.h>

#include "jds-preview-view.h"
#include "jds-window.h"
#include "studio-test-util.h"

static JdsApplication *app;

typedef struct {
  GArray *times;   /* gint64 µs, frame-clock frame times */
} Ticks;

static gboolean
on_tick (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  Ticks *ticks = user_data;
  gint64 now = g_get_monotonic_time ();
  g_array_append_val (ticks->times, now);
  return G_SOURCE_CONTINUE;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Gaps between ticks in ms, sorted. */
static GArray *
sorted_gaps (GArray *times)
{
  GArray *gaps = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 1; i < times->len; i++)
    {
      double gap = (g_array_index (times, gint64, i) - g_array_index (times, gint64, i - 1)) / 1e3;
      g_array_append_val (gaps, gap);
    }
  qsort (gaps->data, gaps->len, sizeof (double), compare_double);
  return gaps;
}

static double
quantile (GArray *sorted,
          double  q)
{
  g_assert_cmpuint (sorted->len, >, 0);
  guint index = (guint) ceil (q * sorted->len) - 1;
  return g_array_index (sorted, double, MIN (index, sorted->len - 1));
}

static gboolean
window_ready (gpointer data)
{
  return gtk_widget_get_mapped (data)
         && jds_worker_get_model_info (jds_application_get_worker (app)) != NULL;
}

/* The run has ended: cancelled (READY) or done (FINISHED). */
static gboolean
run_ended (gpointer data)
{
  JdsWindowState state = jds_window_get_state (data);
  return state == JDS_WINDOW_READY || state == JDS_WINDOW_FINISHED;
}

static gboolean
sampling (gpointer data)
{
  const char *text = jds_window_get_progress_text (data);
  return g_str_has_prefix (text, "Step ");
}

/* Burns one CPU for `seconds`, as the sampling worker does (it runs one thread fewer than the
 * cores), so the baseline sees the same competition for the CPU without the studio's work. */
static gpointer
spin_thread (gpointer data)
{
  gint64 end = g_get_monotonic_time () + (gint64) (GPOINTER_TO_INT (data) * G_USEC_PER_SEC);
  volatile double x = 1.0;
  while (g_get_monotonic_time () < end)
    for (int i = 0; i < 100000; i++)
      x = x * 1.0000001 + 1e-9;
  return NULL;
}

/* Stalls (gap − interval, ms) of the window's frames over `seconds` while one thread of the
 * process burns a CPU; interval 0 measures the interval (the median gap) and returns it. */
static void
measure_baseline (JdsWindow *window,
                  double    *interval,
                  double    *p99,
                  double    *max)
{
  Ticks idle = { g_array_new (FALSE, FALSE, sizeof (gint64)) };
  guint id = gtk_widget_add_tick_callback (GTK_WIDGET (window), on_tick, &idle, NULL);
  GThread *spinner = g_thread_new ("spin", spin_thread, GINT_TO_POINTER (2));
  studio_test_spin (2.0);
  g_thread_join (spinner);
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), id);
  g_autoptr (GArray) gaps = sorted_gaps (idle.times);
  g_array_unref (idle.times);
  if (*interval <= 0)
    *interval = quantile (gaps, 0.5);
  *p99 = MAX (0, quantile (gaps, 0.99) - *interval);
  *max = MAX (0, quantile (gaps, 1.0) - *interval);
}

static gboolean
measure_once (JdsWindow *window,
              int        attempt)
{
  /* The baseline is taken before and after the run and the worse one is used: the load of a
   * shared machine changes from second to second. */
  double interval = 0, before_p99, before_max, after_p99, after_max;
  measure_baseline (window, &interval, &before_p99, &before_max);

  /* Four seconds of a long run, from its first step (previews arriving every step), then
   * cancelled; on a quiet machine the run's 200 steps of the test bundle may end sooner (measured
   * here: under 4 s), which ends the measurement there. */
  Ticks busy = { g_array_new (FALSE, FALSE, sizeof (gint64)) };
  jds_window_generate (window);
  g_assert_true (studio_test_wait (sampling, window, 60));
  guint id = gtk_widget_add_tick_callback (GTK_WIDGET (window), on_tick, &busy, NULL);
  gboolean ended = studio_test_wait (run_ended, window, 4.0);
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), id);
  if (!ended)
    {
      g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_RUNNING);
      jds_window_cancel (window);
    }
  g_assert_true (studio_test_wait (run_ended, window, 60));
  measure_baseline (window, &interval, &after_p99, &after_max);

  g_autoptr (GArray) gaps = sorted_gaps (busy.times);
  double p99 = quantile (gaps, 0.99) - interval;
  double max = quantile (gaps, 1.0) - interval;
  double base_p99 = MAX (before_p99, after_p99), base_max = MAX (before_max, after_max);
  double p99_bound = 16.0 + base_p99;
  double max_bound = 50.0 + base_max;
  g_test_message ("attempt %d: frame interval %.2f ms; baseline stalls p99 %.2f max %.2f ms; "
                  "%u frames while sampling: stalls p99 %.2f ms (bound %.2f), max %.2f ms "
                  "(bound %.2f)", attempt, interval, base_p99, base_max, gaps->len, p99,
                  p99_bound, max, max_bound);
  g_array_unref (busy.times);
  /* Enough frames to speak of a p99 (about 240 on a quiet machine). */
  g_assert_cmpuint (gaps->len, >=, 30);
  return p99 <= p99_bound && max <= max_bound;
}

static void
test_responsiveness (void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  g_test_skip ("frame timing means nothing under sanitizers");
  return;
#endif
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "cairo");

  studio_test_reset_settings (app);
  GSettings *settings = jds_application_get_settings (app);
  g_settings_set_int (settings, "steps", 200);
  JdsWindow *window = jds_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_autofree char *image = studio_test_image_path ("progressive.jpg");
  g_autoptr (GFile) file = g_file_new_for_path (image);
  g_assert_true (jds_window_open_file (window, file, NULL));
  g_assert_true (studio_test_wait (window_ready, window, 30));

  gboolean smooth = FALSE;
  for (int attempt = 1; attempt <= 3 && !smooth; attempt++)
    smooth = measure_once (window, attempt);
  g_assert_true (smooth);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  app = studio_test_application ();
  g_test_add_func ("/studio/responsiveness", test_responsiveness);
  int status = g_test_run ();
  g_object_run_dispose (G_OBJECT (jds_application_get_worker (app)));
  g_object_unref (app);
  return status;
}
