/* test-studio-sync-timeline.c — the sync readout on clips made here with known answers: a square
 * that flashes at known times (a decaying light, the way worldgen's flash scene lights up) and
 * a knock with a click at each flash, moved by a known shift. The widget's offset, counts and
 * words, its drawing in the light and dark styles, the playhead, and cancelling a measurement
 * by a newer clip or by the widget's end.
 *
 * JDS_TEST_EXPECT_GL=1 or 0 says which renderer the screenshots must come from. */
#include <adwaita.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "jd-clip-eval.h"
#include "jds-sync-timeline.h"
#include "studio-test-util.h"

#define FPS       12.5
#define N_FRAMES  40          /* 3.2 s */
#define SIZE      64
#define RATE      16000
#define N_SAMPLES 51200       /* N_FRAMES / FPS × RATE */
#define BACKGROUND 30
/* The light of a flash decays as A·e^(−t/τ): τ in frames, A·τ in grey levels. */
#define TAU        0.5
#define A_TAU      300.0
#define PHASE      0.5        /* where inside its frame each flash starts */

static const int flash_frames[] = { 4, 13, 22, 31 };
#define N_FLASHES G_N_ELEMENTS (flash_frames)

static double
flash_time (gsize i)
{
  return (flash_frames[i] + PHASE) / FPS;
}

/* The flash's excess light in frame k, averaged over the frame (closed form). */
static double
flash_light (int k,
             int start)
{
  double q = exp (-(1 - PHASE) / TAU), r = exp (-1 / TAU);
  if (k < start)
    return 0;
  if (k == start)
    return A_TAU * (1 - q);
  return A_TAU * q * (1 - r) * pow (r, k - start - 1);
}

/* A clip like the engine's: RGBA8 frames and mono PCM. flashes: the square lights up; clicks:
 * a sound starts `shift` seconds after each flash (over quiet noise either way). */
static JdResult *
make_clip (double   shift,
           gboolean flashes,
           gboolean clicks)
{
  JdResult *clip = g_new0 (JdResult, 1);
  clip->n_frames = N_FRAMES;
  clip->width = clip->height = SIZE;
  clip->fps = FPS;
  clip->frames = g_malloc ((gsize) N_FRAMES * SIZE * SIZE * 4);
  for (int k = 0; k < N_FRAMES; k++)
    {
      double light = 0;
      for (gsize i = 0; flashes && i < N_FLASHES; i++)
        light += flash_light (k, flash_frames[i]);
      guint8 lit = (guint8) CLAMP (lround (BACKGROUND + light), 0, 255);
      for (int y = 0; y < SIZE; y++)
        for (int x = 0; x < SIZE; x++)
          {
            gboolean square = x >= 24 && x < 40 && y >= 24 && y < 40;
            guint8 *p = clip->frames + (((gsize) k * SIZE + y) * SIZE + x) * 4;
            p[0] = p[1] = p[2] = square ? lit : BACKGROUND;
            p[3] = 255;
          }
    }

  clip->sample_rate = RATE;
  clip->n_samples = N_SAMPLES;
  clip->pcm = g_new (float, N_SAMPLES);
  g_autoptr (GRand) rng = g_rand_new_with_seed (5);
  for (gsize t = 0; t < N_SAMPLES; t++)
    {
      double v = g_rand_double_range (rng, -1e-4, 1e-4);
      for (gsize i = 0; clicks && i < N_FLASHES; i++)
        {
          double s = t / (double) RATE - (flash_time (i) + shift);
          if (s >= 0)
            v += 0.3 * exp (-s / 0.05) * sin (2 * G_PI * (300 + 200 * i) * s + 1)
                 + 0.2 * exp (-s / 0.002) * sin (2 * G_PI * 3000 * s);
        }
      clip->pcm[t] = (float) v;
    }
  return clip;
}

static GtkWidget *
show_timeline (GtkWindow **window_out)
{
  GtkWidget *timeline = jds_sync_timeline_new ();
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 640, 140);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  gtk_box_append (GTK_BOX (box), timeline);
  gtk_window_set_child (window, box);
  gtk_window_present (window);
  *window_out = window;
  return timeline;
}

static gboolean
measured (gpointer data)
{
  return !jds_sync_timeline_get_busy (data);
}

/* The timeline keeps GTK's size contract in every state (studio_test_size_violations): a width
 * asked for at some height is never more than the minimum width, nor a height at some width
 * more than the minimum height. */
static void
assert_sizes_fit (GtkWidget *timeline)
{
  g_autofree char *violations = studio_test_size_violations (timeline);
  g_assert_null (violations);
}

static void
measure (JdsSyncTimeline *timeline,
         JdResult        *clip)
{
  gint64 start = g_get_monotonic_time ();
  jds_sync_timeline_set_clip (timeline, clip);
  assert_sizes_fit (GTK_WIDGET (timeline));
  g_assert_true (jds_sync_timeline_get_busy (timeline));
  g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, "Measuring sync…");
  g_assert_cmpstr (jds_sync_timeline_get_description (timeline), ==, "Measuring sync…");
  g_assert_true (studio_test_wait (measured, timeline, 60));
  g_test_message ("measured in %.0f ms", (g_get_monotonic_time () - start) / 1000.0);
  assert_sizes_fit (GTK_WIDGET (timeline));
}

/* ---- what it measures and says ---- */

static void
test_known_shifts (void)
{
  static const double shifts[] = { 0.060, -0.120, 0.0 };
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  for (gsize s = 0; s < G_N_ELEMENTS (shifts); s++)
    {
      g_autoptr (JdResult) clip = make_clip (shifts[s], TRUE, TRUE);
      measure (timeline, clip);
      g_assert_cmpfloat_with_epsilon (jds_sync_timeline_get_duration (timeline),
                                      N_FRAMES / FPS, 1e-12);
      gsize n_visual, n_audio, n_pairs;
      double offset, error;
      g_assert_true (jds_sync_timeline_get_measurement (timeline, &n_visual, &n_audio, &n_pairs,
                                                        &offset, &error));
      g_test_message ("shift %+.0f ms: offset %+.1f ms, error %.1f ms, %zu/%zu events, %zu pairs",
                      shifts[s] * 1000, offset * 1000, error * 1000, n_visual, n_audio, n_pairs);
      g_assert_cmpuint (n_visual, ==, N_FLASHES);
      g_assert_cmpuint (n_audio, ==, N_FLASHES);
      g_assert_cmpuint (n_pairs, ==, N_FLASHES);
      /* The same numbers as `jointdit eval` (jd_eval_clip) on the same frames, as RGB. */
      gsize pixels = (gsize) N_FRAMES * SIZE * SIZE;
      g_autofree guint8 *rgb = g_malloc (pixels * 3);
      for (gsize i = 0; i < pixels; i++)
        memcpy (rgb + 3 * i, clip->frames + 4 * i, 3);
      JdEvalClip eval_clip = { rgb, N_FRAMES, SIZE, SIZE, FPS, clip->pcm, N_SAMPLES, RATE };
      g_autoptr (GError) eval_error = NULL;
      g_autoptr (JdEvalReport) report = jd_eval_clip (&eval_clip, NULL, 0, &eval_error);
      g_assert_no_error (eval_error);
      g_assert_cmpuint (report->n_visual, ==, n_visual);
      g_assert_cmpuint (report->n_audio, ==, n_audio);
      g_assert_true (report->sync.has_offset);
      g_assert_cmpfloat (report->sync.offset, ==, offset);
      g_assert_cmpuint (report->sync.offset_pairs, ==, n_pairs);
      g_assert_cmpint (report->sync.has_error, ==, !isnan (error));
      if (report->sync.has_error)
        g_assert_cmpfloat (report->sync.error, ==, error);

      /* Within one frame of the true shift (in practice within a few milliseconds). */
      g_assert_cmpfloat (fabs (offset - shifts[s]), <, 1 / FPS);

      int ms = (int) lround (offset * 1000);
      g_autofree char *expected = NULL;
      if (fabs (offset) <= 0.040)
        expected = g_strdup ("In sync within ±40 ms");
      else if (ms > 0)
        expected = g_strdup_printf ("Sound %d ms after picture", ms);
      else
        expected = g_strdup_printf ("Sound %d ms before picture", -ms);
      g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, expected);
      if (shifts[s] == 0)
        g_assert_cmpstr (expected, ==, "In sync within ±40 ms");

      /* The numbers under it: the sync error (events within 100 ms) and the pairs. */
      const char *detail = jds_sync_timeline_get_detail (timeline);
      if (fabs (shifts[s]) < 0.1)
        {
          g_autofree char *error_text = g_strdup_printf ("Sync error %d ms",
                                                         (int) lround (error * 1000));
          g_assert_nonnull (strstr (detail, error_text));
          g_assert_cmpfloat (fabs (error - fabs (shifts[s])), <, 1 / FPS);
        }
      else
        {
          g_assert_true (isnan (error));
          g_assert_nonnull (strstr (detail, "No pairs within ±100 ms"));
        }
      g_assert_nonnull (strstr (detail, "4 of 4 picture events paired with a sound"));

      /* The screen reader hears the lanes' contents and the verdict. */
      const char *description = jds_sync_timeline_get_description (timeline);
      g_assert_nonnull (strstr (description, "Picture events: 4."));
      g_assert_nonnull (strstr (description, "Sound onsets: 4."));
      g_assert_nonnull (strstr (description, expected));
    }
  gtk_window_destroy (window);
}

static void
test_no_events (void)
{
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  /* Sounds but a still picture: nothing to compare them with. */
  g_autoptr (JdResult) clip = make_clip (0, FALSE, TRUE);
  measure (timeline, clip);
  gsize n_visual, n_audio, n_pairs;
  double offset, error;
  g_assert_true (jds_sync_timeline_get_measurement (timeline, &n_visual, &n_audio, &n_pairs,
                                                    &offset, &error));
  g_assert_cmpuint (n_visual, ==, 0);
  g_assert_cmpuint (n_audio, ==, N_FLASHES);
  g_assert_cmpuint (n_pairs, ==, 0);
  g_assert_true (isnan (offset));
  g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, "No events found to compare");
  g_assert_cmpstr (jds_sync_timeline_get_detail (timeline), ==,
                   "Picture events: 0 · Sound onsets: 4");
  gtk_window_destroy (window);
}

static void
test_failure (void)
{
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  /* Three frames are too few to find events in: said, not crashed. */
  g_autoptr (JdResult) clip = make_clip (0, TRUE, TRUE);
  clip->n_frames = 3;
  measure (timeline, clip);
  g_assert_false (jds_sync_timeline_get_measurement (timeline, NULL, NULL, NULL, NULL, NULL));
  g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, "Sync could not be measured");
  g_test_message ("detail: %s", jds_sync_timeline_get_detail (timeline));
  g_assert_cmpstr (jds_sync_timeline_get_detail (timeline), !=, "");

  /* No clip: empty lanes, nothing to say but that. */
  jds_sync_timeline_set_clip (timeline, NULL);
  g_assert_false (jds_sync_timeline_get_busy (timeline));
  g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, "");
  g_assert_cmpfloat (jds_sync_timeline_get_duration (timeline), ==, 0);
  g_assert_cmpstr (jds_sync_timeline_get_description (timeline), ==, "No clip to measure");
  gtk_window_destroy (window);
}

/* ---- cancelling ---- */

static void
count_idle (GObject    *object,
            GParamSpec *pspec,
            gpointer    data)
{
  if (!jds_sync_timeline_get_busy (JDS_SYNC_TIMELINE (object)))
    (*(guint *) data)++;
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static void
test_replace_cancels (void)
{
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  g_autoptr (JdResult) late = make_clip (0.060, TRUE, TRUE);
  g_autoptr (JdResult) early = make_clip (-0.120, TRUE, TRUE);
  guint idle = 0;
  g_signal_connect (timeline, "notify::busy", G_CALLBACK (count_idle), &idle);

  /* A newer clip while the first is measured: only the newer one's answer shows, even when
   * the first thread ends after it. */
  jds_sync_timeline_set_clip (timeline, late);
  jds_sync_timeline_set_clip (timeline, early);
  g_assert_true (jds_sync_timeline_get_busy (timeline));
  g_assert_true (studio_test_wait (measured, timeline, 60));
  studio_test_spin (1.0);
  g_assert_cmpuint (idle, ==, 1);
  double offset;
  g_assert_true (jds_sync_timeline_get_measurement (timeline, NULL, NULL, NULL, &offset, NULL));
  g_assert_cmpfloat (fabs (offset - -0.120), <, 1 / FPS);

  /* Cleared while measuring: the answer is dropped. */
  jds_sync_timeline_set_clip (timeline, late);
  jds_sync_timeline_set_clip (timeline, NULL);
  g_assert_false (jds_sync_timeline_get_busy (timeline));
  studio_test_spin (1.0);
  g_assert_false (jds_sync_timeline_get_measurement (timeline, NULL, NULL, NULL, NULL, NULL));
  g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, "");

  /* Many clips in a row, then the window closed while the last is measured: the widget lives
   * until its thread ends, then goes, and nothing touches it afterwards. */
  for (int i = 0; i < 5; i++)
    jds_sync_timeline_set_clip (timeline, i % 2 ? early : late);
  gpointer alive = timeline;
  g_object_add_weak_pointer (G_OBJECT (timeline), &alive);
  gtk_window_destroy (window);
  g_assert_true (studio_test_wait (pointer_cleared, &alive, 60));
  studio_test_spin (0.5);
}

/* ---- the playhead ---- */

struct _TestStream
{
  GtkMediaStream parent_instance;
};

#define TEST_TYPE_STREAM (test_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestStream, test_stream, TEST, STREAM, GtkMediaStream)
G_DEFINE_FINAL_TYPE (TestStream, test_stream, GTK_TYPE_MEDIA_STREAM)

static void
test_stream_class_init (TestStreamClass *klass)
{
}

static void
test_stream_init (TestStream *self)
{
}

static void
test_playhead (void)
{
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  g_object_set (timeline, "position", 0.75, NULL);
  g_assert_cmpfloat (jds_sync_timeline_get_position (timeline), ==, 0.75);

  g_autoptr (GtkMediaStream) stream = g_object_new (TEST_TYPE_STREAM, NULL);
  gtk_media_stream_stream_prepared (stream, TRUE, TRUE, TRUE, 3200000);
  jds_sync_timeline_follow_stream (timeline, stream);
  g_assert_cmpfloat (jds_sync_timeline_get_position (timeline), ==, 0);
  gtk_media_stream_update (stream, 1500000);
  g_assert_cmpfloat (jds_sync_timeline_get_position (timeline), ==, 1.5);
  gtk_window_destroy (window);
}

/* ---- drawing ---- */

static guint
count_differing_pixels (GdkTexture *a,
                        GdkTexture *b)
{
  int width = gdk_texture_get_width (a), height = gdk_texture_get_height (a);
  g_assert_cmpint (gdk_texture_get_width (b), ==, width);
  g_assert_cmpint (gdk_texture_get_height (b), ==, height);
  g_autofree guint8 *pa = g_malloc ((gsize) width * height * 4);
  g_autofree guint8 *pb = g_malloc ((gsize) width * height * 4);
  gdk_texture_download (a, pa, (gsize) width * 4);
  gdk_texture_download (b, pb, (gsize) width * 4);
  guint differing = 0;
  for (gsize i = 0; i < (gsize) width * height; i++)
    differing += memcmp (pa + 4 * i, pb + 4 * i, 4) != 0;
  return differing;
}

static GdkTexture *
load_png (const char *path)
{
  g_autoptr (GError) error = NULL;
  GdkTexture *texture = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  return texture;
}

static gboolean
mapped (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static void
test_render (void)
{
  const char *expect_gl = g_getenv ("JDS_TEST_EXPECT_GL");
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  g_assert_true (studio_test_wait (mapped, timeline, 10));
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  gboolean gl = !GSK_IS_CAIRO_RENDERER (renderer);
  g_test_message ("renderer: %s", G_OBJECT_TYPE_NAME (renderer));
  if (expect_gl)
    g_assert_cmpint (gl, ==, g_str_equal (expect_gl, "1"));
  const char *path = gl ? "gl" : "fallback";

  g_autofree char *empty_name = g_strdup_printf ("sync-timeline-empty-%s", path);
  g_autofree char *empty = studio_test_screenshot (GTK_WIDGET (window), empty_name, 2);

  g_autoptr (JdResult) clip = make_clip (0.060, TRUE, TRUE);
  measure (timeline, clip);
  jds_sync_timeline_set_position (timeline, 1.2);
  studio_test_spin (0.3);
  g_autofree char *light_name = g_strdup_printf ("sync-timeline-light-%s", path);
  g_autofree char *light = studio_test_screenshot (GTK_WIDGET (window), light_name, 16);

  AdwStyleManager *style = adw_style_manager_get_default ();
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  studio_test_spin (0.5);
  g_autofree char *dark_name = g_strdup_printf ("sync-timeline-dark-%s", path);
  g_autofree char *dark = studio_test_screenshot (GTK_WIDGET (window), dark_name, 16);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);

  /* The measured lanes are drawn (ticks, pair lines, playhead over the empty lanes), and
   * the dark style changes the colours. */
  g_autoptr (GdkTexture) empty_texture = load_png (empty);
  g_autoptr (GdkTexture) light_texture = load_png (light);
  g_autoptr (GdkTexture) dark_texture = load_png (dark);
  guint ticks = count_differing_pixels (empty_texture, light_texture);
  guint restyled = count_differing_pixels (light_texture, dark_texture);
  g_test_message ("pixels changed by the measurement: %u, by the dark style: %u", ticks, restyled);
  g_assert_cmpuint (ticks, >, 8 * 2 * 14);    /* at least the 8 ticks */
  g_assert_cmpuint (restyled, >, ticks);

  /* Right to left, time runs leftwards like the player's seek bar, the names on the right. */
  gtk_widget_set_direction (GTK_WIDGET (timeline), GTK_TEXT_DIR_RTL);
  studio_test_spin (0.3);
  g_autofree char *rtl_name = g_strdup_printf ("sync-timeline-rtl-%s", path);
  g_autofree char *rtl = studio_test_screenshot (GTK_WIDGET (window), rtl_name, 16);
  g_autoptr (GdkTexture) rtl_texture = load_png (rtl);
  g_assert_cmpuint (count_differing_pixels (light_texture, rtl_texture), >, ticks / 2);
  gtk_window_destroy (window);
}

/* ---- translation ---- */

static void
test_translation (void)
{
  GtkWindow *window;
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (show_timeline (&window));
  g_autoptr (JdResult) clip = make_clip (0.060, TRUE, TRUE);
  jds_sync_timeline_set_clip (timeline, clip);
  g_assert_true (studio_test_wait (measured, timeline, 60));
  double offset;
  g_assert_true (jds_sync_timeline_get_measurement (timeline, NULL, NULL, NULL, &offset, NULL));
  const char *language = g_getenv ("LANGUAGE");
  gboolean german = language && g_str_has_prefix (language, "de");
  g_autofree char *expected = g_strdup_printf (german ? "Ton %d ms nach dem Bild"
                                                      : "Sound %d ms after picture",
                                               (int) lround (offset * 1000));
  g_test_message ("%s / %s", jds_sync_timeline_get_summary (timeline),
                  jds_sync_timeline_get_detail (timeline));
  g_assert_cmpstr (jds_sync_timeline_get_summary (timeline), ==, expected);
  g_assert_nonnull (strstr (jds_sync_timeline_get_detail (timeline),
                            german ? "4 von 4 Bildereignissen mit einem Ton gepaart"
                                   : "4 of 4 picture events paired with a sound"));
  gtk_window_destroy (window);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain ("jointdit-studio", g_getenv ("JDS_LOCALEDIR"));
  bind_textdomain_codeset ("jointdit-studio", "UTF-8");
  textdomain ("jointdit-studio");
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  adw_init ();

  g_test_add_func ("/sync-timeline/known-shifts", test_known_shifts);
  g_test_add_func ("/sync-timeline/no-events", test_no_events);
  g_test_add_func ("/sync-timeline/failure", test_failure);
  g_test_add_func ("/sync-timeline/replace-cancels", test_replace_cancels);
  g_test_add_func ("/sync-timeline/playhead", test_playhead);
  g_test_add_func ("/sync-timeline/render", test_render);
  g_test_add_func ("/sync-timeline/translation", test_translation);
  return g_test_run ();
}
