/* test-studio-compare-sound.c — sound in the compare window: one column at a time is audible
 * (marked, its speaker on), Play plays only that clip, every column shows the frame of the
 * audible clip's audio clock, and switching the audible column carries position and playing
 * over; Space in the columns plays and pauses. Runs on the silent clock
 * (JDS_AUDIO_DEVICE=none: no device is opened). */
#include <locale.h>
#include <string.h>

#include "jds-clip-stream.h"
#include "jds-compare-window.h"
#include "jds-window.h"
#include "studio-test-util.h"

static JdsApplication *app;

static JdsCompareWindow *
find_compare (void)
{
  return (JdsCompareWindow *) studio_test_find_toplevel (JDS_TYPE_COMPARE_WINDOW);
}

static gboolean
compare_shown (gpointer data)
{
  return find_compare () != NULL;
}

static gint64
clock_of (GtkMediaStream *stream)
{
  return jds_audio_output_get_position (
    jds_clip_stream_get_audio_output (JDS_CLIP_STREAM (stream)));
}

static gboolean
is_marked (JdsCompareWindow *compare,
           guint             i)
{
  /* The speaker sits in the column's header, in the column box that carries the mark. */
  GtkWidget *speaker = jds_compare_window_get_speaker (compare, i);
  GtkWidget *column = gtk_widget_get_parent (gtk_widget_get_parent (speaker));
  return gtk_widget_has_css_class (column, "audible")
         && gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (speaker));
}

/* Every column shows the frame of the audible clip's clock (wrapped at its own length). */
static void
assert_columns_follow (JdsCompareWindow *compare)
{
  int audible = jds_compare_window_get_audible (compare);
  g_assert_cmpint (audible, >=, 0);
  gint64 t = clock_of (jds_compare_window_get_stream (compare, audible));
  for (guint i = 0; i < jds_compare_window_get_n_total (compare); i++)
    {
      GtkMediaStream *stream = jds_compare_window_get_stream (compare, i);
      gint64 duration = gtk_media_stream_get_duration (stream);
      int expected = jds_clip_stream_frame_at (JDS_CLIP_STREAM (stream), t % duration);
      g_test_message ("column %u: clock %" G_GINT64_FORMAT " µs, frame %d, expected %d", i, t,
                      jds_compare_window_get_shown_frame (compare, i), expected);
      g_assert_cmpint (jds_compare_window_get_shown_frame (compare, i), ==, expected);
    }
}

/* The box of the columns, which takes Space when the focus is in it. */
static GtkWidget *
columns_of (JdsCompareWindow *compare)
{
  GtkWidget *columns = gtk_widget_get_parent (
    gtk_widget_get_parent (gtk_widget_get_parent (jds_compare_window_get_speaker (compare, 0))));
  g_assert_true (gtk_widget_get_focusable (columns));
  return columns;
}

static void
test_compare_sound (void)
{
  studio_test_reset_settings (app);
  GSettings *settings = jds_application_get_settings (app);
  g_settings_set_int (settings, "steps", 2);
  g_settings_set_uint (settings, "seed", 11);
  JdsWindow *window = jds_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (studio_test_wait (studio_test_mapped, window, 10));
  g_assert_true (studio_test_wait (studio_test_model_ready, app, 30));
  g_autofree char *image = studio_test_image_path ("progressive.jpg");
  g_autoptr (GFile) file = g_file_new_for_path (image);
  g_autoptr (GError) error = NULL;
  g_assert_true (jds_window_open_file (window, file, &error));
  g_assert_no_error (error);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.compare", NULL));
  g_assert_true (studio_test_wait (compare_shown, NULL, 10));
  JdsCompareWindow *compare = find_compare ();
  /* Nothing to play or hear before a clip is done. */
  g_assert_cmpint (jds_compare_window_get_audible (compare), ==, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.play", NULL));

  g_assert_true (jds_compare_window_start (compare, JDS_COMPARE_OMEGA, "1, 4"));
  g_assert_false (gtk_widget_get_sensitive (jds_compare_window_get_speaker (compare, 0)));
  g_assert_true (studio_test_wait (studio_test_compare_done, compare, 120));

  /* The first clip is heard until another is picked; nothing plays before Play. */
  g_assert_cmpint (jds_compare_window_get_audible (compare), ==, 0);
  g_assert_true (is_marked (compare, 0));
  g_assert_false (is_marked (compare, 1));
  GtkMediaStream *first = jds_compare_window_get_stream (compare, 0);
  GtkMediaStream *second = jds_compare_window_get_stream (compare, 1);
  g_assert_nonnull (first);
  g_assert_nonnull (second);
  g_assert_false (gtk_media_stream_get_playing (first));
  g_assert_false (gtk_media_stream_get_playing (second));
  int n_frames = jds_clip_stream_get_n_frames (JDS_CLIP_STREAM (first));
  g_assert_cmpint (n_frames, >=, 2);
  gint64 duration = gtk_media_stream_get_duration (first);
  g_assert_cmpint (duration, >, 0);
  GtkWidget *speaker = jds_compare_window_get_speaker (compare, 1);
  g_assert_nonnull (gtk_widget_get_tooltip_text (speaker));

  /* Moving the audible clip's clock moves every column to its frame. */
  gtk_media_stream_seek (first, duration * 7 / 10);
  studio_test_spin (0.2);
  g_assert_cmpint (jds_compare_window_get_shown_frame (compare, 0), >, 0);
  assert_columns_follow (compare);

  /* Play (on the silent clock here, which says why it is silent) plays the audible clip only. */
  gtk_media_stream_seek (first, duration / 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.play", NULL));
  g_assert_true (gtk_media_stream_get_playing (first));
  g_assert_false (gtk_media_stream_get_playing (second));
  g_assert_nonnull (jds_clip_stream_get_silent_reason (JDS_CLIP_STREAM (first)));
  studio_test_spin (0.3);
  g_assert_true (gtk_media_stream_get_playing (first));

  /* Space pauses and plays again, like the Play button. */
  GtkWidget *columns = columns_of (compare);
  g_assert_true (studio_test_send_key (columns, GDK_KEY_space, 0));
  g_assert_false (gtk_media_stream_get_playing (first));
  g_assert_true (studio_test_send_key (columns, GDK_KEY_KP_Space, 0));
  g_assert_true (gtk_media_stream_get_playing (first));
  g_assert_false (gtk_media_stream_get_playing (second));
  g_assert_false (studio_test_send_key (columns, GDK_KEY_space, GDK_CONTROL_MASK));
  g_assert_false (studio_test_send_key (columns, GDK_KEY_Return, 0));
  g_assert_true (gtk_media_stream_get_playing (first));

  /* Clicking the other speaker switches the sound there, where the first one was. */
  g_assert_true (gtk_media_stream_get_playing (first));
  gtk_media_stream_seek (first, duration * 3 / 10);
  gint64 before = clock_of (first);
  g_signal_emit_by_name (speaker, "clicked");
  gint64 after = clock_of (second);
  g_assert_cmpint (jds_compare_window_get_audible (compare), ==, 1);
  g_assert_true (is_marked (compare, 1));
  g_assert_false (is_marked (compare, 0));
  g_assert_false (gtk_media_stream_get_playing (first));
  g_assert_true (gtk_media_stream_get_playing (second));
  g_assert_cmpint (after, >=, before % gtk_media_stream_get_duration (second));
  g_assert_cmpint (after, <=, before + G_USEC_PER_SEC / 5);

  /* Paused, the columns rest on the frame of the new audible clock. */
  studio_test_spin (0.2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (compare), "compare.play", NULL));
  g_assert_false (gtk_media_stream_get_playing (second));
  studio_test_spin (0.2);
  assert_columns_follow (compare);
  gint64 rested = clock_of (second);
  studio_test_spin (0.2);
  g_assert_cmpint (clock_of (second), ==, rested);

  /* A new comparison starts over: nothing heard until its first clip. */
  g_assert_true (jds_compare_window_start (compare, JDS_COMPARE_OMEGA, "2, 3"));
  g_assert_cmpint (jds_compare_window_get_audible (compare), ==, -1);
  g_assert_true (studio_test_wait (studio_test_compare_done, compare, 120));
  g_assert_cmpint (jds_compare_window_get_audible (compare), ==, 0);

  studio_test_spin (0.2);
  g_free (studio_test_screenshot (GTK_WIDGET (compare), "compare-sound", 32));
  gtk_window_destroy (GTK_WINDOW (compare));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);
  app = studio_test_application ();

  g_test_add_func ("/studio/compare/sound", test_compare_sound);
  int status = g_test_run ();
  studio_test_application_free (app);
  return status;
}
