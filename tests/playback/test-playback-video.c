/* JdsClipStream inside a GtkVideo in a real window (run under Xvfb): the video plays on the
 * audio clock (silent here), and what the window draws is the frame the clock points at. */
#include <gtk/gtk.h>

#include "jds-clip-stream.h"

#define N_FRAMES 10
#define SIDE     64

/* Frame f is one flat colour, so any pixel of the picture tells which frame is shown. */
static void
frame_colour (int frame, guint8 rgb[3])
{
  rgb[0] = (guint8) (20 + frame * 23);
  rgb[1] = (guint8) (200 - frame * 17);
  rgb[2] = (guint8) (frame % 2 ? 40 : 220);
}

static JdsClipStream *
make_stream (void)
{
  JdResult r = { 0 };
  r.n_frames = N_FRAMES;
  r.width = SIDE;
  r.height = SIDE;
  r.fps = 12.5;
  g_autofree guint8 *frames = g_malloc ((gsize) N_FRAMES * SIDE * SIDE * 4);
  for (int f = 0; f < N_FRAMES; f++)
    for (int i = 0; i < SIDE * SIDE; i++)
      {
        guint8 *p = frames + ((gsize) f * SIDE * SIDE + i) * 4;
        frame_colour (f, p);
        p[3] = 255;
      }
  r.frames = frames;
  r.sample_rate = 16000;
  r.n_samples = 12800;
  g_autofree float *pcm = g_new0 (float, r.n_samples);
  r.pcm = pcm;
  JdsClipStream *clip = jds_clip_stream_new (&r);
  jds_clip_stream_set_audio_device (clip, JDS_AUDIO_OUTPUT_NO_DEVICE);
  return clip;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
run_for (int ms)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (ms, quit_loop, loop);
  g_main_loop_run (loop);
}

/* The window as drawn, as a texture of width × height. */
static GdkTexture *
render_window (GtkWidget *window, int width, int height)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static void
test_plays_in_gtk_video (void)
{
  g_autoptr (JdsClipStream) clip = make_stream ();
  GtkMediaStream *stream = GTK_MEDIA_STREAM (clip);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *video = gtk_video_new_for_media_stream (stream);
  gtk_window_set_child (GTK_WINDOW (window), video);
  gtk_window_set_default_size (GTK_WINDOW (window), 320, 320);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gtk_video_get_media_stream (GTK_VIDEO (video)) == stream);

  gtk_media_stream_set_loop (stream, TRUE);
  gtk_media_stream_play (stream);
  run_for (1000);
  g_assert_true (gtk_media_stream_get_playing (stream));
  gint64 timestamp = gtk_media_stream_get_timestamp (stream);
  g_test_message ("after 1 s looping an 0.8 s clip: %" G_GINT64_FORMAT " µs, frame %d", timestamp,
                  jds_clip_stream_get_frame_index (clip));
  g_assert_cmpint (timestamp, <, gtk_media_stream_get_duration (stream));

  gtk_media_stream_pause (stream);
  int frame = jds_clip_stream_get_frame_index (clip);
  g_assert_cmpint (frame, ==, jds_clip_stream_frame_at (clip, gtk_media_stream_get_timestamp (stream)));
  run_for (100); /* let the window redraw the paused frame */

  int width = gtk_widget_get_width (window), height = gtk_widget_get_height (window);
  g_assert_cmpint (width, >, 0);
  g_autoptr (GdkTexture) drawn = render_window (window, width, height);
  g_autofree guint8 *pixels = g_malloc ((gsize) width * height * 4);
  gdk_texture_download (drawn, pixels, (gsize) width * 4);
  /* Off centre: a paused GtkVideo draws a play icon in the middle. */
  const guint8 *pixel = pixels + ((gsize) (height / 3) * width + width / 4) * 4;
  guint8 rgb[3];
  frame_colour (frame, rgb);
  g_test_message ("pixel BGRA %u %u %u %u, frame %d is RGB %u %u %u", pixel[0], pixel[1],
                  pixel[2], pixel[3], frame, rgb[0], rgb[1], rgb[2]);
  /* gdk_texture_download gives premultiplied B, G, R, A; the frame is opaque. */
  g_assert_cmpint (ABS (pixel[2] - rgb[0]), <=, 1);
  g_assert_cmpint (ABS (pixel[1] - rgb[1]), <=, 1);
  g_assert_cmpint (ABS (pixel[0] - rgb[2]), <=, 1);

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  g_test_add_func ("/playback/video/plays-in-gtk-video", test_plays_in_gtk_video);
  return g_test_run ();
}
