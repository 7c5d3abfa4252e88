/* test-studio-window.c — the studio's window driven as a person would: drops, controls bound to
 * settings, a generation on the test bundle with previews, the player (silent clock, copy frame,
 * drag out), cancel, export, and screenshots of
 * each state on the GL path or (GDK_DEBUG=gl-disable) the picture fallback.
 *
 * JDS_TEST_EXPECT_GL=1 or 0 says which drawing path the run must take. */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "jd-clip-eval.h"
#include "jds-canvas.h"
#include "jds-compare-window.h"
#include "jds-controls.h"
#include "jds-launch.h"
#include "jds-preview-view.h"
#include "jds-window-private.h"
#include "studio-test-util.h"

static JdsApplication *app;

static JdsWindow *
new_window (void)
{
  studio_test_reset_settings (app);
  JdsWindow *window = jds_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
show_window (JdsWindow *window)
{
  g_assert_true (studio_test_wait (studio_test_mapped, window, 10));
  g_assert_true (studio_test_wait (studio_test_model_ready, app, 30));
  studio_test_spin (0.3);
}

static const char *
path_suffix (void)
{
  return jds_canvas_gl_available () ? "gl" : "fallback";
}

static gboolean
emit_drop (JdsWindow    *window,
           const GValue *value)
{
  gboolean accepted = FALSE;
  g_signal_emit_by_name (jds_window_get_drop_target (window), "drop", value, 10.0, 10.0,
                         &accepted);
  return accepted;
}

/* ---- drops ---- */

static void
test_drop_file_list (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_EMPTY);
  g_autofree char *screenshot = NULL;
  g_autofree char *name = g_strdup_printf ("empty-%s", path_suffix ());
  screenshot = studio_test_screenshot (GTK_WIDGET (window), name, 16);

  /* A non-image is refused and leaves the window as it was. */
  g_autofree char *not_image = g_test_build_filename (G_TEST_DIST, "meson.build", NULL);
  g_autoptr (GFile) text_file = g_file_new_for_path (not_image);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, g_slist_prepend (NULL, g_object_ref (text_file)));
  g_assert_false (emit_drop (window, &value));
  g_value_unset (&value);
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_EMPTY);

  /* A file list with a picture opens it. */
  g_autofree char *image = studio_test_image_path ("progressive.jpg");
  g_autoptr (GFile) image_file = g_file_new_for_path (image);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, g_slist_prepend (NULL, g_object_ref (image_file)));
  g_assert_true (emit_drop (window, &value));
  g_value_unset (&value);
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_READY);
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "generate"));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_drop_texture (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  guint8 pixels[8 * 6 * 4];
  for (guint i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) (i * 37);
  g_autoptr (GBytes) bytes = g_bytes_new (pixels, sizeof pixels);
  g_autoptr (GdkTexture) texture = gdk_memory_texture_new (8, 6, GDK_MEMORY_R8G8B8A8, bytes, 32);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_TEXTURE);
  g_value_set_object (&value, texture);
  g_assert_true (emit_drop (window, &value));
  g_value_unset (&value);
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_READY);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- controls ---- */

static GtkAdjustment *
find_adjustment (GtkWidget *root,
                 double     upper)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_SPIN_BUTTON (child))
        {
          GtkAdjustment *adjustment = gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (child));
          if (gtk_adjustment_get_upper (adjustment) == upper)
            return adjustment;
        }
      GtkAdjustment *found = find_adjustment (child, upper);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkAdjustment *
find_omega_adjustment (GtkWidget *root,
                       int        which)
{
  /* The two ω spin buttons (upper 20) in template order: picture, then sound. */
  int seen = 0;
  GtkWidget *stack[256];
  int top = 0;
  stack[top++] = root;
  GPtrArray *order = g_ptr_array_new ();
  /* Depth-first, children in order. */
  while (top > 0)
    {
      GtkWidget *w = stack[--top];
      if (GTK_IS_SPIN_BUTTON (w)
          && gtk_adjustment_get_upper (gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (w))) == 20)
        g_ptr_array_add (order, gtk_spin_button_get_adjustment (GTK_SPIN_BUTTON (w)));
      GtkWidget *children[64];
      int n = 0;
      for (GtkWidget *c = gtk_widget_get_first_child (w); c && n < 64;
           c = gtk_widget_get_next_sibling (c))
        children[n++] = c;
      while (n > 0 && top < 256)
        stack[top++] = children[--n];
    }
  GtkAdjustment *result = which < (int) order->len ? order->pdata[which] : NULL;
  seen = order->len;
  g_ptr_array_unref (order);
  g_assert_cmpint (seen, ==, 2);
  return result;
}

/* The first widget of `type` under `root`, depth first. */
static GtkWidget *
find_descendant (GtkWidget *root,
                 GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_descendant (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_controls_settings (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  GSettings *settings = jds_application_get_settings (app);
  GtkWidget *controls = jds_window_get_controls (window);
  GtkAdjustment *video = find_omega_adjustment (controls, 0);
  GtkAdjustment *audio = find_omega_adjustment (controls, 1);
  GtkAdjustment *seed = find_adjustment (controls, 4294967295.0);
  GtkAdjustment *steps = find_adjustment (controls, 200);
  g_assert_nonnull (seed);
  g_assert_nonnull (steps);

  /* Settings → widgets. */
  g_settings_set_int (settings, "steps", 7);
  g_assert_cmpfloat (gtk_adjustment_get_value (steps), ==, 7);
  g_settings_set_uint (settings, "seed", 123456789);
  g_assert_cmpfloat (gtk_adjustment_get_value (seed), ==, 123456789);

  /* Widgets → settings; linked scales move together. */
  gtk_adjustment_set_value (video, 3.5);
  g_assert_cmpfloat (g_settings_get_double (settings, "omega-video"), ==, 3.5);
  g_assert_cmpfloat (g_settings_get_double (settings, "omega-audio"), ==, 3.5);
  g_assert_cmpfloat (gtk_adjustment_get_value (audio), ==, 3.5);

  /* Unlinked, they part; the engine's shared guidance follows at once. */
  g_settings_set_boolean (settings, "omega-linked", FALSE);
  gtk_adjustment_set_value (audio, 1.25);
  g_assert_cmpfloat (g_settings_get_double (settings, "omega-video"), ==, 3.5);
  g_settings_set_string (settings, "guidance-mode", "cfg");
  JdGuidanceSnapshot snapshot =
    jd_guidance_snapshot (jds_worker_get_guidance (jds_application_get_worker (app)));
  g_assert_cmpint (snapshot.mode, ==, JD_GUIDANCE_CFG);
  /* The picture's ω ramps from 0 at the first frame by default (SVD's sampling)... */
  g_assert_cmpfloat (snapshot.omega_video_first, ==, 0.0);
  g_assert_cmpfloat (snapshot.omega_video_last, ==, 3.5);
  g_assert_cmpfloat (snapshot.omega_audio, ==, 1.25);
  /* ...and the "Ramp Picture ω" switch makes it one scale throughout. */
  GtkSwitch *ramp = GTK_SWITCH (find_descendant (controls, GTK_TYPE_SWITCH));
  g_assert_true (gtk_switch_get_active (ramp));
  gtk_switch_set_active (ramp, FALSE);
  g_assert_false (g_settings_get_boolean (settings, "omega-video-ramp"));
  snapshot = jd_guidance_snapshot (jds_worker_get_guidance (jds_application_get_worker (app)));
  g_assert_cmpfloat (snapshot.omega_video_first, ==, 3.5);
  g_assert_cmpfloat (snapshot.omega_video_last, ==, 3.5);
  g_settings_reset (settings, "omega-video-ramp");

  /* The dice picks a seed in range and writes it to the settings. */
  g_settings_set_uint (settings, "seed", 0);
  for (int i = 0; i < 4 && g_settings_get_uint (settings, "seed") == 0; i++)
    jds_controls_roll_seed (JDS_CONTROLS (controls));
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), !=, 0);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- generating ---- */

static gboolean
state_is (gpointer data)
{
  JdsWindow **window = data;
  return (int) jds_window_get_state (window[0]) == GPOINTER_TO_INT (window[1]);
}

static gboolean
wait_state (JdsWindow      *window,
            JdsWindowState  state,
            double          timeout_s)
{
  gpointer data[2] = { window, GINT_TO_POINTER (state) };
  return studio_test_wait (state_is, data, timeout_s);
}

static gboolean
preview_arrived (gpointer data)
{
  JdsPreviewView *view = data;
  JdsFrames *frames = jds_preview_view_get_frames (view);
  return frames != NULL && frames->step >= 2 && frames->step < frames->total;
}

static JdsWindow *
window_with_image (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  g_autofree char *image = studio_test_image_path ("progressive.jpg");
  g_autoptr (GFile) file = g_file_new_for_path (image);
  g_autoptr (GError) error = NULL;
  g_assert_true (jds_window_open_file (window, file, &error));
  g_assert_no_error (error);
  return window;
}

static gboolean
stream_moved (gpointer data)
{
  return gtk_media_stream_get_timestamp (GTK_MEDIA_STREAM (data)) > 100000;
}

/* ffprobe reads path as an MP4 with a video and a sound stream. */
static void
assert_probed_mp4 (const char *path)
{
  g_autofree char *quoted = g_shell_quote (path);
  g_autofree char *command =
    g_strdup_printf ("ffprobe -v error -show_entries stream=codec_type -of csv=p=0 %s", quoted);
  g_autofree char *output = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_command_line_sync (command, &output, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (output, "video"));
  g_assert_nonnull (strstr (output, "audio"));
}

static gboolean
sync_measured (gpointer data)
{
  return !jds_sync_timeline_get_busy (data);
}

/* The sync readout under the player shows clip's events and onsets and the offset between
 * them: the numbers `jointdit eval` (jd_eval_clip) finds in the same frames and sound. */
static void
assert_readout_shows (JdsSyncTimeline *timeline,
                      const JdResult  *clip)
{
  g_assert_true (studio_test_wait (sync_measured, timeline, 60));
  gsize n_visual = 0, n_audio = 0, n_pairs = 0;
  double offset = 0, error = 0;
  g_assert_true (jds_sync_timeline_get_measurement (timeline, &n_visual, &n_audio, &n_pairs,
                                                    &offset, &error));

  gsize pixels = (gsize) clip->n_frames * clip->width * clip->height;
  g_autofree guint8 *rgb = g_malloc (pixels * 3);
  for (gsize i = 0; i < pixels; i++)
    memcpy (rgb + 3 * i, clip->frames + 4 * i, 3);
  JdEvalClip eval_clip = { rgb, clip->n_frames, clip->width, clip->height, clip->fps, clip->pcm,
                           clip->n_samples, clip->sample_rate };
  g_autoptr (GError) eval_error = NULL;
  g_autoptr (JdEvalReport) report = jd_eval_clip (&eval_clip, NULL, 0, &eval_error);
  g_assert_no_error (eval_error);
  g_test_message ("readout: %zu picture events, %zu sound onsets, %zu pairs, offset %.1f ms",
                  n_visual, n_audio, n_pairs, offset * 1000);
  g_assert_cmpuint (n_visual, ==, report->n_visual);
  g_assert_cmpuint (n_audio, ==, report->n_audio);
  g_assert_cmpint (!isnan (offset), ==, report->sync.has_offset);
  if (report->sync.has_offset)
    {
      g_assert_cmpfloat (offset, ==, report->sync.offset);
      g_assert_cmpuint (n_pairs, ==, report->sync.offset_pairs);
    }

  /* In words, as a person and a screen reader get them: the counts of both lanes, and the
   * offset in milliseconds when there is one. */
  const char *summary = jds_sync_timeline_get_summary (timeline);
  const char *description = jds_sync_timeline_get_description (timeline);
  g_assert_cmpstr (summary, !=, "");
  g_assert_cmpstr (summary, !=, "Measuring sync…");
  g_autofree char *lanes = g_strdup_printf ("Picture events: %zu. Sound onsets: %zu",
                                            n_visual, n_audio);
  g_assert_nonnull (strstr (description, lanes));
  if (report->sync.has_offset)
    {
      int ms = (int) lround (offset * 1000);
      g_autofree char *words = ms == 0 ? g_strdup ("Sound and picture at the same moment")
                               : g_strdup_printf (ms > 0 ? "Sound %d ms after picture"
                                                         : "Sound %d ms before picture", abs (ms));
      g_assert_true (strstr (summary, words) || strstr (jds_sync_timeline_get_detail (timeline),
                                                         words));
    }
  /* On screen, under the player. */
  g_assert_true (studio_test_wait (studio_test_mapped, timeline, 10));
}

static void
test_generate_finishes (void)
{
  JdsWindow *window = window_with_image ();
  JdsPreviewView *view = JDS_PREVIEW_VIEW (jds_window_get_preview_view (window));
  GSettings *settings = jds_application_get_settings (app);
  g_settings_set_int (settings, "steps", 12);
  g_settings_set_string (settings, "seed-policy", "increment");
  g_settings_set_uint (settings, "seed", 5);
  g_assert_cmpint (jds_preview_view_get_uses_gl (view), ==,
                   g_strcmp0 (g_getenv ("JDS_TEST_EXPECT_GL"), "0") != 0);

  g_action_group_activate_action (G_ACTION_GROUP (app), "generate", NULL);
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_RUNNING);
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "generate"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "cancel"));

  /* Previews of the intermediate steps reach the canvas while it samples. */
  g_assert_true (studio_test_wait (preview_arrived, view, 60));
  guint serial_preview = jds_preview_view_get_serial (view);
  g_assert_cmpuint (serial_preview, >=, 1);
  g_assert_true (g_str_has_prefix (jds_window_get_progress_text (window), "Step ")
                 || g_str_has_prefix (jds_window_get_progress_text (window), "Schritt "));
  /* The work page is up (not the start page), with the preview in it. */
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (view)));
  g_autofree char *running = g_strdup_printf ("running-%s", path_suffix ());
  g_free (studio_test_screenshot (GTK_WIDGET (window), running, 64));
  g_autofree char *canvas = g_strdup_printf ("running-canvas-%s", path_suffix ());
  g_free (studio_test_screenshot (GTK_WIDGET (view), canvas, 32));

  g_assert_true (wait_state (window, JDS_WINDOW_FINISHED, 120));
  JdsResult *result = jds_window_get_result (window);
  g_assert_nonnull (result);
  g_assert_cmpint (result->clip->n_frames, ==, 5);
  g_assert_cmpuint (result->seed, ==, 5);
  g_assert_cmpint (result->steps, ==, 12);
  g_assert_nonnull (result->frames->mel);
  g_assert_true (jds_preview_view_get_frames (view) == result->frames);
  g_assert_cmpuint (jds_preview_view_get_serial (view), >, serial_preview);
  /* The seed policy ran. */
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 6);
  /* The player shows the clip: a JdsClipStream with its frames and rate, looping. */
  JdsClipStream *stream = jds_window_get_stream (window);
  g_assert_true (JDS_IS_CLIP_STREAM (stream));
  GtkWidget *player = jds_window_get_player (window);
  g_assert_true (gtk_video_get_media_stream (GTK_VIDEO (player)) == GTK_MEDIA_STREAM (stream));
  g_assert_true (gtk_widget_get_visible (gtk_widget_get_parent (player)));
  g_assert_cmpint (jds_clip_stream_get_n_frames (stream), ==, result->clip->n_frames);
  g_assert_cmpfloat (jds_clip_stream_get_fps (stream), ==, result->clip->fps);
  g_assert_true (gtk_media_stream_get_loop (GTK_MEDIA_STREAM (stream)));
  /* The sync readout under the player measures this clip and follows the player's clock. */
  JdsSyncTimeline *timeline = JDS_SYNC_TIMELINE (jds_window_get_sync_timeline (window));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (timeline)));
  g_assert_cmpfloat_with_epsilon (jds_sync_timeline_get_duration (timeline),
                                  result->clip->n_frames / result->clip->fps, 1e-9);
  assert_readout_shows (timeline, result->clip);
  /* The finished state (before playing and copying, whose toasts would cover the player). */
  studio_test_spin (0.3);
  g_autofree char *finished = g_strdup_printf ("finished-%s", path_suffix ());
  g_free (studio_test_screenshot (GTK_WIDGET (window), finished, 64));
  g_autofree char *finished_player = g_strdup_printf ("finished-player-%s", path_suffix ());
  g_free (studio_test_screenshot (player, finished_player, 16));

  /* It advances on the silent clock (JDS_AUDIO_DEVICE=none: no sound card is opened). */
  gint64 start = gtk_media_stream_get_timestamp (GTK_MEDIA_STREAM (stream));
  g_action_group_activate_action (G_ACTION_GROUP (window), "play-pause", NULL);
  g_assert_true (gtk_media_stream_get_playing (GTK_MEDIA_STREAM (stream)));
  g_assert_true (studio_test_wait (stream_moved, stream, 10));
  g_assert_cmpint (gtk_media_stream_get_timestamp (GTK_MEDIA_STREAM (stream)), !=, start);
  g_assert_nonnull (jds_clip_stream_get_silent_reason (stream));
  g_action_group_activate_action (G_ACTION_GROUP (window), "play-pause", NULL);
  g_assert_false (gtk_media_stream_get_playing (GTK_MEDIA_STREAM (stream)));
  /* The readout's playhead is the player's position. */
  g_assert_cmpfloat_with_epsilon (jds_sync_timeline_get_position (timeline),
                                  gtk_media_stream_get_timestamp (GTK_MEDIA_STREAM (stream)) / 1e6,
                                  1e-9);
  GtkWidget *player_area = gtk_widget_get_parent (player);
  /* Space in the player area plays and pauses; Ctrl+Space is left to others. */
  g_assert_true (studio_test_send_key (player_area, GDK_KEY_space, 0));
  g_assert_true (gtk_media_stream_get_playing (GTK_MEDIA_STREAM (stream)));
  g_assert_false (studio_test_send_key (player_area, GDK_KEY_space, GDK_CONTROL_MASK));
  g_assert_true (gtk_media_stream_get_playing (GTK_MEDIA_STREAM (stream)));
  g_assert_true (studio_test_send_key (player_area, GDK_KEY_space, 0));
  g_assert_false (gtk_media_stream_get_playing (GTK_MEDIA_STREAM (stream)));

  /* Copy Frame puts the current frame, at its generated size, on the clipboard. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "copy-frame", NULL);
  GdkContentProvider *content = gdk_clipboard_get_content (gtk_widget_get_clipboard (player));
  g_assert_nonnull (content);
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_TEXTURE);
  g_assert_true (gdk_content_provider_get_value (content, &value, NULL));
  GdkTexture *copied = g_value_get_object (&value);
  g_assert_cmpint (gdk_texture_get_width (copied), ==, result->clip->width);
  g_assert_cmpint (gdk_texture_get_height (copied), ==, result->clip->height);
  g_value_unset (&value);

  /* A drag from the player offers the clip as an MP4 file and the frame as a picture. */
  g_autoptr (GdkContentProvider) drag = _jds_window_player_drag_content (window);
  g_assert_nonnull (drag);
  g_value_init (&value, G_TYPE_FILE);
  g_assert_true (gdk_content_provider_get_value (drag, &value, NULL));
  g_autofree char *dragged = g_file_get_path (g_value_get_object (&value));
  g_value_unset (&value);
  assert_probed_mp4 (dragged);
  g_value_init (&value, GDK_TYPE_TEXTURE);
  g_assert_true (gdk_content_provider_get_value (drag, &value, NULL));
  g_value_unset (&value);


  /* The result was not exported: closing asks first and keeps the window. */
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint before = g_list_model_get_n_items (toplevels);
  gtk_window_close (GTK_WINDOW (window));
  studio_test_spin (0.2);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_assert_cmpuint (g_list_model_get_n_items (toplevels), ==, before + 1);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) toplevel = g_list_model_get_item (toplevels, i);
      if (ADW_IS_MESSAGE_DIALOG (toplevel))
        {
          g_assert_true (gtk_window_get_transient_for (toplevel) == GTK_WINDOW (window));
          gtk_window_destroy (toplevel);
          break;
        }
    }
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
has_toplevel (gpointer data)
{
  return studio_test_find_toplevel (GPOINTER_TO_SIZE (data)) != NULL;
}

static void
destroy_toplevels_of_type (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = g_list_model_get_n_items (toplevels); i > 0; i--)
    {
      g_autoptr (GObject) toplevel = g_list_model_get_item (toplevels, i - 1);
      if (G_TYPE_CHECK_INSTANCE_TYPE (toplevel, type))
        gtk_window_destroy (GTK_WINDOW (toplevel));
    }
}

/* The secondary windows open from their actions and render. */
static void
test_secondary_windows (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  struct { const char *action; GType type; const char *name; } windows[] = {
    { "app.preferences", ADW_TYPE_PREFERENCES_WINDOW, "preferences" },
    { "app.about", ADW_TYPE_ABOUT_WINDOW, "about" },
    { "win.show-help-overlay", GTK_TYPE_SHORTCUTS_WINDOW, "shortcuts" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (windows); i++)
    {
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), windows[i].action, NULL));
      g_assert_true (studio_test_wait (has_toplevel, GSIZE_TO_POINTER (windows[i].type), 10));
      studio_test_spin (0.3);
      GListModel *toplevels = gtk_window_get_toplevels ();
      for (guint k = 0; k < g_list_model_get_n_items (toplevels); k++)
        {
          g_autoptr (GObject) toplevel = g_list_model_get_item (toplevels, k);
          if (G_TYPE_CHECK_INSTANCE_TYPE (toplevel, windows[i].type))
            g_test_message ("%s: %s %d × %d", windows[i].name, G_OBJECT_TYPE_NAME (toplevel),
                            gtk_widget_get_width (GTK_WIDGET (toplevel)),
                            gtk_widget_get_height (GTK_WIDGET (toplevel)));
          if (G_TYPE_CHECK_INSTANCE_TYPE (toplevel, windows[i].type))
            g_free (studio_test_screenshot (GTK_WIDGET (toplevel), windows[i].name, 16));
        }
      destroy_toplevels_of_type (windows[i].type);
    }
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_cancel (void)
{
  JdsWindow *window = window_with_image ();
  JdsPreviewView *view = JDS_PREVIEW_VIEW (jds_window_get_preview_view (window));
  g_settings_set_int (jds_application_get_settings (app), "steps", 200);
  jds_window_generate (window);
  g_assert_true (studio_test_wait (preview_arrived, view, 60));

  gint64 start = g_get_monotonic_time ();
  g_action_group_activate_action (G_ACTION_GROUP (app), "cancel", NULL);
  g_assert_true (wait_state (window, JDS_WINDOW_READY, 30));
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("cancel took %.2f s", seconds);
  g_assert_null (jds_window_get_result (window));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "generate"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "cancel"));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- export ---- */

typedef struct {
  guint   count;
  GError *error;
} Exported;

static void
on_exported (JdsWorker    *worker,
             const char   *path,
             const GError *error,
             Exported     *exported)
{
  exported->count++;
  g_clear_error (&exported->error);
  if (error != NULL)
    exported->error = g_error_copy (error);
}

static gboolean
exported_n (gpointer data)
{
  Exported *exported = data;
  return exported->count >= GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (app), "want"));
}

static void
assert_file_starts (const char *path,
                    gsize       offset,
                    const char *magic)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >, offset + strlen (magic) + 100);
  g_assert_cmpint (memcmp (contents + offset, magic, strlen (magic)), ==, 0);
}

static void
test_export (void)
{
  JdsWindow *window = window_with_image ();
  JdsWorker *worker = jds_application_get_worker (app);
  Exported exported = { 0 };
  gulong handler = g_signal_connect (worker, "exported", G_CALLBACK (on_exported), &exported);
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("jds-export-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *mp4 = g_build_filename (folder, "clip.mp4", NULL);
  g_autofree char *wav = g_build_filename (folder, "clip.wav", NULL);
  g_autofree char *frames = g_build_filename (folder, "frames", NULL);

  /* Exports asked for while the generation runs wait for its result. */
  g_settings_set_int (jds_application_get_settings (app), "steps", 6);
  jds_window_generate (window);
  g_action_group_activate_action (G_ACTION_GROUP (app), "export", g_variant_new_string (mp4));
  g_action_group_activate_action (G_ACTION_GROUP (app), "export", g_variant_new_string (wav));
  jds_window_export (window, frames, TRUE);
  g_object_set_data (G_OBJECT (app), "want", GUINT_TO_POINTER (3));
  g_assert_true (studio_test_wait (exported_n, &exported, 120));
  g_assert_no_error (exported.error);
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_FINISHED);
  g_assert_true (jds_window_get_result (window)->exported);

  assert_file_starts (mp4, 4, "ftyp");
  assert_probed_mp4 (mp4);
  assert_file_starts (wav, 0, "RIFF");
  assert_file_starts (wav, 8, "WAVE");
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("%05d.png", i);
      g_autofree char *png = g_build_filename (frames, name, NULL);
      assert_file_starts (png, 1, "PNG");
    }

  /* A bad place is an error that names it, and leaves nothing behind. */
  g_autofree char *missing = g_build_filename (folder, "no-such-folder", "clip.mp4", NULL);
  jds_window_export (window, missing, FALSE);
  g_object_set_data (G_OBJECT (app), "want", GUINT_TO_POINTER (4));
  g_assert_true (studio_test_wait (exported_n, &exported, 30));
  g_assert_nonnull (exported.error);
  g_assert_nonnull (strstr (exported.error->message, "no-such-folder"));

  /* Only the three exports are in the folder: no temporary files are left. */
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  guint n = 0;
  for (const char *entry; (entry = g_dir_read_name (dir)) != NULL; n++)
    g_assert_false (g_str_has_suffix (entry, ".tmp"));
  g_assert_cmpuint (n, ==, 3);

  g_signal_handler_disconnect (worker, handler);
  g_clear_error (&exported.error);
  gtk_window_destroy (GTK_WINDOW (window));
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", folder);
  g_assert_cmpint (system (command), ==, 0);
}

/* ---- the export toast's actions ---- */

/* What the desktop was asked to open (the launcher hook of jds-launch.c). */
static GPtrArray *launched_uris;

static void
fake_launch_uri (const char          *uri,
                 GAppLaunchContext   *context,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_assert_true (G_IS_APP_LAUNCH_CONTEXT (context));
  g_ptr_array_add (launched_uris, g_strdup (uri));
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_return_boolean (task, TRUE);
}

static gboolean
fake_launch_uri_finish (GAsyncResult *result,
                        GError      **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A file manager on the test's session bus that records what ShowItems was asked to show. */
typedef struct
{
  GDBusConnection *bus;
  guint            registration;
  GPtrArray       *shown;
  char            *startup_id;
} FakeFileManager;

static void
fake_file_manager_call (GDBusConnection       *connection,
                        const char            *sender,
                        const char            *object_path,
                        const char            *interface_name,
                        const char            *method_name,
                        GVariant              *parameters,
                        GDBusMethodInvocation *invocation,
                        gpointer               user_data)
{
  FakeFileManager *manager = user_data;
  g_assert_cmpstr (method_name, ==, "ShowItems");
  g_autofree const char **uris = NULL;
  const char *startup_id = NULL;
  g_variant_get (parameters, "(^a&s&s)", &uris, &startup_id);
  for (gsize i = 0; uris[i] != NULL; i++)
    g_ptr_array_add (manager->shown, g_strdup (uris[i]));
  g_free (manager->startup_id);
  manager->startup_id = g_strdup (startup_id);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static guint32
bus_name_request (GDBusConnection *bus,
                  const char      *method,
                  GVariant        *parameters)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply =
    g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", method, parameters,
                                 G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                                 &error);
  g_assert_no_error (error);
  guint32 answer = 0;
  g_variant_get (reply, "(u)", &answer);
  return answer;
}

/* Owns org.freedesktop.FileManager1 on a connection of its own to the session bus. */
static void
fake_file_manager_start (FakeFileManager *manager)
{
  static const char introspection[] =
    "<node><interface name='org.freedesktop.FileManager1'>"
    "<method name='ShowItems'><arg type='as' name='URIs' direction='in'/>"
    "<arg type='s' name='StartupId' direction='in'/></method>"
    "</interface></node>";
  static const GDBusInterfaceVTable vtable = { fake_file_manager_call };
  g_autoptr (GError) error = NULL;
  g_autofree char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  manager->bus = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
             | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (introspection, &error);
  g_assert_no_error (error);
  manager->registration =
    g_dbus_connection_register_object (manager->bus, "/org/freedesktop/FileManager1",
                                       node->interfaces[0], &vtable, manager, NULL, &error);
  g_assert_no_error (error);
  manager->shown = g_ptr_array_new_with_free_func (g_free);
  /* 4: DBUS_NAME_FLAG_DO_NOT_QUEUE; 1: DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER. */
  g_assert_cmpuint (bus_name_request (manager->bus, "RequestName",
                                      g_variant_new ("(su)", "org.freedesktop.FileManager1", 4)),
                    ==, 1);
}

/* Gives the name up: the bus then has no file manager. */
static void
fake_file_manager_stop (FakeFileManager *manager)
{
  /* 1: DBUS_RELEASE_NAME_REPLY_RELEASED. */
  g_assert_cmpuint (bus_name_request (manager->bus, "ReleaseName",
                                      g_variant_new ("(s)", "org.freedesktop.FileManager1")),
                    ==, 1);
  g_dbus_connection_unregister_object (manager->bus, manager->registration);
  g_dbus_connection_close_sync (manager->bus, NULL, NULL);
  g_clear_object (&manager->bus);
  g_clear_pointer (&manager->shown, g_ptr_array_unref);
  g_clear_pointer (&manager->startup_id, g_free);
}

static gboolean
array_has_n (gpointer data)
{
  GPtrArray *array = data;
  return array->len >= GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (app), "want"));
}

static gboolean
wait_array_len (GPtrArray *array,
                guint      n)
{
  g_object_set_data (G_OBJECT (app), "want", GUINT_TO_POINTER (n));
  return studio_test_wait (array_has_n, array, 10);
}

/* The button under root that activates action with the string target, or NULL. */
static GtkWidget *
find_action_button (GtkWidget  *root,
                    const char *action,
                    const char *target)
{
  if (GTK_IS_BUTTON (root)
      && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (root)), action) == 0)
    {
      GVariant *value = gtk_actionable_get_action_target_value (GTK_ACTIONABLE (root));
      if (value && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
          && g_str_equal (g_variant_get_string (value, NULL), target))
        return root;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_action_button (child, action, target);
      if (found)
        return found;
    }
  return NULL;
}

typedef struct
{
  GtkWidget  *root;
  const char *action;
  const char *target;
} ButtonQuery;

static gboolean
button_shown (gpointer data)
{
  ButtonQuery *query = data;
  GtkWidget *button = find_action_button (query->root, query->action, query->target);
  return button != NULL && gtk_widget_get_mapped (button);
}

/* After an export the toast's "Show in Folder" asks the file manager over D-Bus to select the
 * file (or, with none on the bus, opens the folder), and "Open" opens the file in its default
 * application; both reach the desktop as URIs, seen here through fakes. */
static void
test_export_toast_actions (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("jds-toast-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (folder, "clip with space.mp4", NULL);
  g_assert_true (g_file_set_contents (path, "not really an MP4", -1, NULL));
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFile) parent = g_file_get_parent (file);
  g_autofree char *file_uri = g_file_get_uri (file);
  g_autofree char *folder_uri = g_file_get_uri (parent);

  launched_uris = g_ptr_array_new_with_free_func (g_free);
  _jds_launch_set_uri_launcher (fake_launch_uri, fake_launch_uri_finish);
  FakeFileManager manager = { 0 };
  fake_file_manager_start (&manager);

  /* The worker says the export is written: the window shows its toast with both buttons. */
  g_signal_emit_by_name (jds_application_get_worker (app), "exported", path, NULL);
  GtkWidget *overlay = GTK_WIDGET (window->toast_overlay);
  ButtonQuery show_query = { overlay, "win.show-in-folder", path };
  ButtonQuery open_query = { overlay, "win.open-exported", path };
  g_assert_true (studio_test_wait (button_shown, &show_query, 10));
  g_assert_true (studio_test_wait (button_shown, &open_query, 10));
  GtkWidget *show = find_action_button (overlay, show_query.action, path);
  GtkWidget *open = find_action_button (overlay, open_query.action, path);

  /* Show in Folder: the file manager is asked to select the file; nothing is launched. */
  g_assert_true (gtk_widget_activate (show));
  g_assert_true (wait_array_len (manager.shown, 1));
  g_assert_cmpuint (manager.shown->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (manager.shown, 0), ==, file_uri);
  g_assert_nonnull (manager.startup_id);
  studio_test_spin (0.1);
  g_assert_cmpuint (launched_uris->len, ==, 0);

  /* With no file manager on the bus, the folder is opened instead. */
  fake_file_manager_stop (&manager);
  g_assert_true (gtk_widget_activate (show));
  g_assert_true (wait_array_len (launched_uris, 1));
  g_assert_cmpstr (g_ptr_array_index (launched_uris, 0), ==, folder_uri);

  /* Open: the file itself goes to its default application (the toast closes with it). */
  g_assert_true (gtk_widget_activate (open));
  g_assert_true (wait_array_len (launched_uris, 2));
  g_assert_cmpuint (launched_uris->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (launched_uris, 1), ==, file_uri);

  _jds_launch_set_uri_launcher (NULL, NULL);
  g_clear_pointer (&launched_uris, g_ptr_array_unref);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (folder), ==, 0);
}

/* ---- history ---- */

static void
test_history_restores (void)
{
  JdsWindow *window = window_with_image ();
  GSettings *settings = jds_application_get_settings (app);
  g_settings_set_int (settings, "steps", 3);
  g_settings_set_string (settings, "seed-policy", "keep");

  g_settings_set_uint (settings, "seed", 5);
  g_settings_set_double (settings, "omega-video", 1.5);
  jds_window_generate (window);
  g_assert_true (wait_state (window, JDS_WINDOW_FINISHED, 120));
  JdsResult *first = jds_window_get_result (window);

  g_settings_set_uint (settings, "seed", 9);
  g_settings_set_double (settings, "omega-video", 4.0);
  g_settings_set_string (settings, "guidance-mode", "cfg");
  jds_window_generate (window);
  g_assert_true (wait_state (window, JDS_WINDOW_FINISHED, 120));
  g_assert_true (jds_window_get_result (window) != first);

  /* The newest is on top; activating the older one brings back its clip and its settings. */
  GtkListBox *history = jds_controls_get_history (JDS_CONTROLS (jds_window_get_controls (window)));
  GtkListBoxRow *older = gtk_list_box_get_row_at_index (history, 1);
  g_assert_nonnull (older);
  g_assert_null (gtk_list_box_get_row_at_index (history, 2));
  g_signal_emit_by_name (history, "row-activated", older);
  g_assert_true (jds_window_get_result (window) == first);
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 5);
  g_assert_cmpfloat (g_settings_get_double (settings, "omega-video"), ==, 1.5);
  g_autofree char *mode = g_settings_get_string (settings, "guidance-mode");
  g_assert_cmpstr (mode, ==, "joint-star");
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_FINISHED);
  g_assert_true (jds_preview_view_get_frames (JDS_PREVIEW_VIEW (jds_window_get_preview_view (window)))
                 == first->frames);
  /* The player plays the restored clip. */
  JdsClipStream *stream = jds_window_get_stream (window);
  g_assert_nonnull (stream);
  g_assert_cmpint (jds_clip_stream_get_n_frames (stream), ==, first->clip->n_frames);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- a model that cannot be loaded ---- */

static void
test_model_error (void)
{
  JdsWindow *window = window_with_image ();
  GSettings *settings = jds_application_get_settings (app);
  g_autofree char *missing = g_build_filename (g_get_tmp_dir (), "no-such-model.safetensors", NULL);
  g_settings_set_string (settings, "model-path", missing);
  /* The error page says what is wrong, and Generate is off until a model loads. */
  g_assert_true (wait_state (window, JDS_WINDOW_MODEL_ERROR, 30));
  const GError *error = jds_worker_get_model_error (jds_application_get_worker (app));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no-such-model.safetensors"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "generate"));
  studio_test_spin (0.3);
  g_autofree char *name = g_strdup_printf ("model-error-%s", path_suffix ());
  g_free (studio_test_screenshot (GTK_WIDGET (window), name, 16));

  /* "Use the Built-in Model" brings the studio back. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "reset-model", NULL);
  g_assert_true (wait_state (window, JDS_WINDOW_READY, 30));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (app), "generate"));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- compare ---- */

static void
test_compare (void)
{
  JdsWindow *window = window_with_image ();
  GSettings *settings = jds_application_get_settings (app);
  g_settings_set_int (settings, "steps", 4);
  g_settings_set_uint (settings, "seed", 77);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.compare", NULL));
  g_assert_true (studio_test_wait (has_toplevel, GSIZE_TO_POINTER (JDS_TYPE_COMPARE_WINDOW), 10));
  JdsCompareWindow *compare = (JdsCompareWindow *)
    studio_test_find_toplevel (JDS_TYPE_COMPARE_WINDOW);
  g_assert_nonnull (compare);

  /* A list that is not numbers is refused. */
  g_assert_false (jds_compare_window_start (compare, JDS_COMPARE_OMEGA, "1, lots"));
  g_assert_cmpuint (jds_compare_window_get_n_total (compare), ==, 0);

  g_assert_true (jds_compare_window_start (compare, JDS_COMPARE_OMEGA, "0.5, 3"));
  g_assert_true (studio_test_wait (studio_test_compare_done, compare, 120));
  JdsResult *a = jds_compare_window_get_result (compare, 0);
  JdsResult *b = jds_compare_window_get_result (compare, 1);
  g_assert_cmpfloat (a->omega_video, ==, 0.5);
  g_assert_cmpfloat (b->omega_video, ==, 3.0);
  g_assert_cmpfloat (b->omega_video_first, ==, 0.0);   /* the window's ramp, on by default */
  g_assert_cmpuint (a->seed, ==, 77);
  g_assert_cmpuint (b->seed, ==, 77);
  /* Different guidance, different clips, from one image and seed. */
  g_assert_cmpint (memcmp (a->clip->frames, b->clip->frames,
                           (gsize) a->clip->n_frames * a->clip->width * a->clip->height * 4), !=, 0);
  /* The main window's state and history are not touched by compare runs. */
  g_assert_cmpint (jds_window_get_state (window), ==, JDS_WINDOW_READY);

  g_assert_true (jds_compare_window_start (compare, JDS_COMPARE_MODE, NULL));
  g_assert_true (studio_test_wait (studio_test_compare_done, compare, 180));
  g_assert_cmpuint (jds_compare_window_get_n_total (compare), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (((JdsResult *) jds_compare_window_get_result (compare, i))->mode, ==, i);
  studio_test_spin (0.3);
  g_autofree char *name = g_strdup_printf ("compare-%s", path_suffix ());
  g_free (studio_test_screenshot (GTK_WIDGET (compare), name, 64));
  gtk_window_destroy (GTK_WINDOW (compare));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- adaptive layout ---- */

static gboolean
flap_folded (gpointer data)
{
  GtkWidget *flap = gtk_widget_get_ancestor (jds_window_get_controls (data), ADW_TYPE_FLAP);
  return adw_flap_get_folded (ADW_FLAP (flap));
}

static void
test_narrow (void)
{
  studio_test_reset_settings (app);
  /* GNOME's title bar has only a close button (Xvfb without a desktop shows three). */
  g_object_set (gtk_settings_get_default (), "gtk-decoration-layout", "menu:close", NULL);
  JdsWindow *window = jds_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 640);
  gtk_window_present (GTK_WINDOW (window));
  show_window (window);
  g_autofree char *image = studio_test_image_path ("progressive.jpg");
  g_autoptr (GFile) file = g_file_new_for_path (image);
  g_assert_true (jds_window_open_file (window, file, NULL));
  /* At 360 px the settings fold away behind the sidebar button; the work view fits. */
  g_assert_true (studio_test_wait (flap_folded, window, 10));
  g_settings_set_int (jds_application_get_settings (app), "steps", 6);
  jds_window_generate (window);
  g_assert_true (wait_state (window, JDS_WINDOW_FINISHED, 120));
  studio_test_spin (0.3);
  /* The window can be 360 px wide (Xvfb without a window manager may place it a little wider). */
  int min_width = 0;
  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL,
                      NULL, NULL);
  g_assert_cmpint (min_width, <=, 360);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (window)), <=, 400);
  g_autofree char *name = g_strdup_printf ("narrow-%s", path_suffix ());
  g_free (studio_test_screenshot (GTK_WIDGET (window), name, 64));
  gtk_window_destroy (GTK_WINDOW (window));
  gtk_settings_reset_property (gtk_settings_get_default (), "gtk-decoration-layout");
}

/* ---- accessibility and translation ---- */

static void
test_translation (void)
{
  JdsWindow *window = new_window ();
  show_window (window);
  /* The start page's title, in the language the test runs in. */
  const char *language = g_getenv ("LANGUAGE");
  const char *expected = language && g_str_has_prefix (language, "de")
                         ? "Ein Bild zum Animieren ablegen" : "Drop an Image to Animate";
  g_assert_cmpstr (g_dgettext ("jointdit-studio", "Drop an Image to Animate"), ==, expected);
  /* The player's strings too (a toast the playback library words in English). */
  gboolean german = language && g_str_has_prefix (language, "de");
  g_assert_cmpstr (g_dgettext ("jointdit-studio", "Copy _Frame"), ==,
                   german ? "_Bild kopieren" : "Copy _Frame");
  g_assert_cmpstr (g_dgettext ("jointdit-studio", "No sound device: playing silently"), ==,
                   german ? "Kein Audiogerät: Wiedergabe ohne Ton"
                          : "No sound device: playing silently");
  g_assert_cmpstr (g_dgettext ("jointdit-studio", "Ramp Picture ω"), ==,
                   german ? "Bild-ω ansteigen lassen" : "Ramp Picture ω");
  /* The import dialog's and the compare window's. */
  g_assert_cmpstr (g_dgettext ("jointdit-studio", "Import Checkpoints…"), ==,
                   german ? "Checkpoints importieren …" : "Import Checkpoints…");
  g_assert_cmpstr (g_dgettext ("jointdit-studio", "Hear the sound of “%s”"), ==,
                   german ? "Den Ton von „%s“ hören" : "Hear the sound of “%s”");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- the size contract check itself ---- */

/* A widget that breaks the contract on purpose: no width at all when nothing is said about the
 * height, 51 px for any height. */
typedef struct { GtkWidget parent_instance; } TestGreedyWidget;
typedef struct { GtkWidgetClass parent_class; } TestGreedyWidgetClass;
GType test_greedy_widget_get_type (void);
G_DEFINE_TYPE (TestGreedyWidget, test_greedy_widget, GTK_TYPE_WIDGET)

static void
test_greedy_widget_measure (GtkWidget      *widget,
                            GtkOrientation  orientation,
                            int             for_size,
                            int            *minimum,
                            int            *natural,
                            int            *minimum_baseline,
                            int            *natural_baseline)
{
  *minimum = *natural = orientation == GTK_ORIENTATION_HORIZONTAL && for_size >= 0 ? 51 : 0;
}

static GtkSizeRequestMode
test_greedy_widget_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_WIDTH_FOR_HEIGHT;
}

static void
test_greedy_widget_class_init (TestGreedyWidgetClass *klass)
{
  GTK_WIDGET_CLASS (klass)->measure = test_greedy_widget_measure;
  GTK_WIDGET_CLASS (klass)->get_request_mode = test_greedy_widget_get_request_mode;
}

static void
test_greedy_widget_init (TestGreedyWidget *self)
{
}

/* The check finds a widget that breaks the contract, deep in a tree, and passes an honest tree. */
static void
test_size_contract (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  g_object_ref_sink (box);
  gtk_box_append (GTK_BOX (box), gtk_label_new ("A label"));
  gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name ("go-next-symbolic"));
  g_assert_null (studio_test_size_violations (box));

  GtkWidget *inner = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_box_append (GTK_BOX (inner), g_object_new (test_greedy_widget_get_type (), NULL));
  gtk_box_append (GTK_BOX (box), inner);
  g_autofree char *violations = studio_test_size_violations (box);
  g_assert_nonnull (violations);
  g_assert_nonnull (strstr (violations, "TestGreedyWidget"));
  g_assert_nonnull (strstr (violations, "minimum width 0, but 51 for a height of 1048576"));
  g_object_unref (box);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain ("jointdit-studio", g_getenv ("JDS_LOCALEDIR"));
  bind_textdomain_codeset ("jointdit-studio", "UTF-8");
  textdomain ("jointdit-studio");
  g_test_init (&argc, &argv, NULL);
  app = studio_test_application ();

  g_test_add_func ("/studio/size-contract", test_size_contract);
  g_test_add_func ("/studio/drop/file-list", test_drop_file_list);
  g_test_add_func ("/studio/drop/texture", test_drop_texture);
  g_test_add_func ("/studio/controls/settings", test_controls_settings);
  g_test_add_func ("/studio/generate/finishes", test_generate_finishes);
  g_test_add_func ("/studio/generate/cancel", test_cancel);
  g_test_add_func ("/studio/export", test_export);
  g_test_add_func ("/studio/export-toast", test_export_toast_actions);
  g_test_add_func ("/studio/compare", test_compare);
  g_test_add_func ("/studio/history", test_history_restores);
  g_test_add_func ("/studio/model-error", test_model_error);
  g_test_add_func ("/studio/narrow", test_narrow);
  g_test_add_func ("/studio/secondary-windows", test_secondary_windows);
  g_test_add_func ("/studio/translation", test_translation);
  int status = g_test_run ();
  studio_test_application_free (app);
  return status;
}
