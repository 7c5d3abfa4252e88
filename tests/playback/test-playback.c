/* Playback: the audio clock (PortAudio or the silent clock it falls back to) and the
 * GtkMediaStream whose picture follows it. No display is needed.
 *
 * Timing assertions use bounds measured around the call on the same clock (g_get_monotonic_time),
 * so a loaded machine makes them wider, never false. ALSA prints a lot on a machine without a
 * sound card: stderr is never asserted. */
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "jds-audio-output.h"
#include "jds-clip-stream.h"

#define N_FRAMES    10
#define WIDTH       8
#define HEIGHT      6
#define FPS         12.5
#define DURATION_US 800000
#define SAMPLE_RATE 16000

static guint8
pixel_value (int frame, int x, int y, int channel)
{
  switch (channel)
    {
    case 0: return (guint8) (x * 30);
    case 1: return (guint8) (y * 40);
    case 2: return (guint8) (frame * 25);
    default: return 255;
    }
}

static JdResult *
make_result (void)
{
  JdResult *r = g_new0 (JdResult, 1);
  r->n_frames = N_FRAMES;
  r->width = WIDTH;
  r->height = HEIGHT;
  r->fps = FPS;
  r->frames = g_malloc ((gsize) N_FRAMES * WIDTH * HEIGHT * 4);
  for (int f = 0; f < N_FRAMES; f++)
    for (int y = 0; y < HEIGHT; y++)
      for (int x = 0; x < WIDTH; x++)
        for (int c = 0; c < 4; c++)
          r->frames[(((gsize) f * HEIGHT + y) * WIDTH + x) * 4 + c] = pixel_value (f, x, y, c);
  r->sample_rate = SAMPLE_RATE;
  r->n_samples = SAMPLE_RATE * 8 / 10;
  r->pcm = g_new (float, r->n_samples);
  /* Quiet, in case the machine has speakers. */
  for (gsize i = 0; i < r->n_samples; i++)
    r->pcm[i] = 0.02f * (float) sin (2 * G_PI * 330.0 * (double) i / SAMPLE_RATE);
  return r;
}

static void
count (guint *counter)
{
  (*counter)++;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop (so the stream's ticks happen) for at least ms milliseconds. */
static void
run_for (int ms)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (ms, quit_loop, loop);
  g_main_loop_run (loop);
}

/* A clock that started between started_before and started_after, read between read_before and
 * read_after at position from origin, has run at real rate. */
static void
assert_real_rate (gint64 position, gint64 origin, gint64 started_before, gint64 started_after,
                  gint64 read_before, gint64 read_after)
{
  gint64 lowest = origin + (read_before - started_after);
  gint64 highest = origin + (read_after - started_before);
  g_test_message ("position %" G_GINT64_FORMAT " µs, expected %" G_GINT64_FORMAT " … %"
                  G_GINT64_FORMAT, position, lowest, highest);
  g_assert_cmpint (position, >=, lowest);
  g_assert_cmpint (position, <=, highest);
}

/* Plays output for ms from origin and checks the silent clock ran at real rate. */
static void
play_and_check_silent_clock (JdsAudioOutput *output, gint64 origin, int ms)
{
  gint64 t0 = g_get_monotonic_time ();
  g_assert_false (jds_audio_output_play (output));
  gint64 t1 = g_get_monotonic_time ();
  g_usleep (ms * 1000);
  gint64 t2 = g_get_monotonic_time ();
  gint64 position = jds_audio_output_get_position (output);
  gint64 t3 = g_get_monotonic_time ();
  assert_real_rate (position, origin, t0, t1, t2, t3);
}

static JdsAudioOutput *
new_output (gint64 duration_us)
{
  g_autoptr (JdResult) r = make_result ();
  return jds_audio_output_new (r->pcm, r->n_samples, r->sample_rate, duration_us);
}

static void
test_silent_clock_runs_at_real_rate (void)
{
  g_autoptr (JdsAudioOutput) output = new_output (10 * G_USEC_PER_SEC);
  g_assert_null (jds_audio_output_get_silent_reason (output));
  jds_audio_output_set_device (output, JDS_AUDIO_OUTPUT_NO_DEVICE);
  g_assert_nonnull (strstr (jds_audio_output_get_silent_reason (output), "playing silently"));
  g_assert_cmpint (jds_audio_output_get_duration (output), ==, 10 * G_USEC_PER_SEC);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, 0);

  play_and_check_silent_clock (output, 0, 150);
  g_assert_true (jds_audio_output_get_playing (output));
  g_assert_cmpint (jds_audio_output_get_device_rate (output), ==, 0);

  /* Paused, the clock stands still. */
  jds_audio_output_pause (output);
  g_assert_false (jds_audio_output_get_playing (output));
  gint64 paused = jds_audio_output_get_position (output);
  g_assert_cmpint (paused, >=, 150000);
  g_usleep (60000);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, paused);

  /* Seeking while paused moves the clock and nothing else; play continues from there. */
  jds_audio_output_seek (output, 3 * G_USEC_PER_SEC);
  g_assert_false (jds_audio_output_get_playing (output));
  g_assert_cmpint (jds_audio_output_get_position (output), ==, 3 * G_USEC_PER_SEC);
  play_and_check_silent_clock (output, 3 * G_USEC_PER_SEC, 80);

  /* Seeking while playing keeps playing from the new place. */
  gint64 t0 = g_get_monotonic_time ();
  jds_audio_output_seek (output, G_USEC_PER_SEC);
  gint64 t1 = g_get_monotonic_time ();
  g_assert_true (jds_audio_output_get_playing (output));
  g_usleep (50000);
  gint64 t2 = g_get_monotonic_time ();
  gint64 position = jds_audio_output_get_position (output);
  gint64 t3 = g_get_monotonic_time ();
  assert_real_rate (position, G_USEC_PER_SEC, t0, t1, t2, t3);

  /* Out of range seeks are clamped. */
  jds_audio_output_pause (output);
  jds_audio_output_seek (output, -5);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, 0);
  jds_audio_output_seek (output, 99 * G_USEC_PER_SEC);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, 10 * G_USEC_PER_SEC);
}

static void
test_end_and_loop (void)
{
  const gint64 duration = 100000;
  g_autoptr (JdsAudioOutput) output = new_output (duration);
  jds_audio_output_set_device (output, JDS_AUDIO_OUTPUT_NO_DEVICE);

  /* Without looping the clock stops at the end. */
  g_assert_false (jds_audio_output_play (output));
  g_usleep (2 * duration);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, duration);
  jds_audio_output_pause (output);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, duration);

  /* Play at the end starts over. */
  gint64 t0 = g_get_monotonic_time ();
  jds_audio_output_play (output);
  gint64 t1 = g_get_monotonic_time ();
  gint64 position = jds_audio_output_get_position (output);
  gint64 t2 = g_get_monotonic_time ();
  if (t2 - t0 < duration)
    assert_real_rate (position, 0, t0, t1, t1, t2);
  jds_audio_output_pause (output);

  /* Looping, the clock wraps: the elapsed time modulo the duration. */
  jds_audio_output_seek (output, 0);
  jds_audio_output_set_loop (output, TRUE);
  t0 = g_get_monotonic_time ();
  jds_audio_output_play (output);
  t1 = g_get_monotonic_time ();
  g_usleep (2 * duration + duration / 2);
  gint64 t3 = g_get_monotonic_time ();
  position = jds_audio_output_get_position (output);
  gint64 t4 = g_get_monotonic_time ();
  g_assert_cmpint (position, >=, 0);
  g_assert_cmpint (position, <, duration);
  gboolean found = FALSE;
  for (gint64 unwrapped = position; unwrapped <= t4 - t0; unwrapped += duration)
    found |= unwrapped >= t3 - t1;
  g_assert_true (found);

  /* Turning looping off keeps the place reached, then runs to the end. */
  jds_audio_output_set_loop (output, FALSE);
  g_assert_true (jds_audio_output_get_playing (output));
  g_usleep (2 * duration);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, duration);
}

static void
test_clip_without_sound (void)
{
  g_autoptr (JdsAudioOutput) output = jds_audio_output_new (NULL, 0, SAMPLE_RATE, 500000);
  g_assert_cmpstr (jds_audio_output_get_silent_reason (output), ==, "This clip has no sound");
  g_assert_cmpint (jds_audio_output_get_duration (output), ==, 500000);
  play_and_check_silent_clock (output, 0, 50);
}

static void
test_bad_device_falls_back_to_silence (void)
{
  g_autoptr (JdsAudioOutput) output = new_output (10 * G_USEC_PER_SEC);
  jds_audio_output_set_device (output, 99999);
  g_assert_null (jds_audio_output_get_silent_reason (output));
  play_and_check_silent_clock (output, 0, 60);
  const char *reason = jds_audio_output_get_silent_reason (output);
  g_test_message ("reason: %s", reason);
  g_assert_nonnull (reason);
  g_assert_true (strstr (reason, "could not be opened") != NULL
                 || strstr (reason, "No sound device") != NULL);
  g_assert_nonnull (strstr (reason, "playing silently"));
}

/* Whatever this machine has (nothing in CI), playing works: audible, or silent with a reason. */
static void
check_default_device (int sample_rate)
{
  gsize n = (gsize) sample_rate * 2;
  g_autofree float *quiet = g_new0 (float, n);
  g_autoptr (JdsAudioOutput) output = jds_audio_output_new (quiet, n, sample_rate, 0);
  g_assert_cmpint (jds_audio_output_get_duration (output), ==, 2 * G_USEC_PER_SEC);
  gint64 t0 = g_get_monotonic_time ();
  gboolean audible = jds_audio_output_play (output);
  g_usleep (200000);
  gint64 position = jds_audio_output_get_position (output);
  gint64 t1 = g_get_monotonic_time ();
  const char *reason = jds_audio_output_get_silent_reason (output);
  g_test_message ("%d Hz: %s, position %" G_GINT64_FORMAT " µs after %" G_GINT64_FORMAT " µs",
                  sample_rate, reason != NULL ? reason : "audible", position, t1 - t0);
  if (audible && reason == NULL)
    {
      g_assert_cmpint (jds_audio_output_get_device_rate (output), >, 0);
      /* Counted frames less the latency never run ahead of real time by more than a buffer. */
      g_assert_cmpint (position, <=, t1 - t0 + 100000);
    }
  else
    {
      g_assert_nonnull (reason);
      g_assert_nonnull (strstr (reason, "silently"));
      g_assert_cmpint (jds_audio_output_get_device_rate (output), ==, 0);
      g_assert_cmpint (position, <=, t1 - t0);
      /* Silent from the start, the clock ran the whole time (a device that stopped later
       * hands over the position it had reached, less its latency). */
      if (!audible)
        g_assert_cmpint (position, >=, 200000);
    }
  g_assert_cmpint (position, >=, 0);
  jds_audio_output_pause (output);
  gint64 paused = jds_audio_output_get_position (output);
  g_usleep (30000);
  g_assert_cmpint (jds_audio_output_get_position (output), ==, paused);
}

static void
test_default_device (void)
{
  check_default_device (SAMPLE_RATE);
}

/* 7 Hz: no device takes it, so it is resampled to the device's rate (or silent). */
static void
test_rate_no_device_takes (void)
{
  check_default_device (7);
}

typedef struct
{
  JdsAudioOutput *output;
  gint64          duration;
  gint             stop;
  guint           reads;
} Reader;

static gpointer
read_positions (gpointer data)
{
  Reader *reader = data;
  while (!g_atomic_int_get (&reader->stop))
    {
      gint64 position = jds_audio_output_get_position (reader->output);
      if (position < 0 || position > reader->duration)
        g_error ("position %" G_GINT64_FORMAT " outside [0, %" G_GINT64_FORMAT "]", position,
                 reader->duration);
      reader->reads++;
      g_thread_yield ();
    }
  return NULL;
}

static void
test_position_reads_from_another_thread (void)
{
  g_autoptr (JdsAudioOutput) output = new_output (300000);
  jds_audio_output_set_device (output, JDS_AUDIO_OUTPUT_NO_DEVICE);
  Reader reader = { output, 300000, 0, 0 };
  GThread *thread = g_thread_new ("position-reader", read_positions, &reader);
  for (int i = 0; i < 300; i++)
    {
      switch (i % 5)
        {
        case 0: jds_audio_output_play (output); break;
        case 1: jds_audio_output_seek (output, (i * 7919) % 400000); break;
        case 2: jds_audio_output_set_loop (output, i % 2); break;
        case 3: jds_audio_output_pause (output); break;
        default: g_usleep (100); break;
        }
    }
  g_atomic_int_set (&reader.stop, 1);
  g_thread_join (thread);
  g_assert_cmpuint (reader.reads, >, 0);
}

/* The clip stream */

static void
assert_texture_is_frame (GdkTexture *texture, int frame, int factor)
{
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_assert_cmpint (width, ==, WIDTH * factor);
  g_assert_cmpint (height, ==, HEIGHT * factor);
  g_autofree guint8 *pixels = g_malloc ((gsize) width * height * 4);
  /* Downloads as premultiplied BGRA (GDK_MEMORY_DEFAULT); the frames are opaque, so the
   * values are the frame's own. */
  gdk_texture_download (texture, pixels, (gsize) width * 4);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guint8 *p = pixels + ((gsize) y * width + x) * 4;
        int sx = x / factor, sy = y / factor;
        guint8 want[4] = { pixel_value (frame, sx, sy, 2), pixel_value (frame, sx, sy, 1),
                           pixel_value (frame, sx, sy, 0), 255 };
        if (memcmp (p, want, 4) != 0)
          g_error ("frame %d ×%d at (%d, %d): %u %u %u %u, expected %u %u %u %u", frame, factor,
                   x, y, p[0], p[1], p[2], p[3], want[0], want[1], want[2], want[3]);
      }
}

static JdsClipStream *
new_silent_stream (guint *silent_notes)
{
  g_autoptr (JdResult) r = make_result ();
  JdsClipStream *stream = jds_clip_stream_new (r);
  if (silent_notes != NULL)
    g_signal_connect_swapped (stream, "notify::silent-reason", G_CALLBACK (count),
                              silent_notes);
  jds_clip_stream_set_audio_device (stream, JDS_AUDIO_OUTPUT_NO_DEVICE);
  return stream;
}

static void
test_stream_is_prepared (void)
{
  g_autoptr (JdResult) r = make_result ();
  g_autoptr (JdsClipStream) clip = jds_clip_stream_new (r);
  GtkMediaStream *stream = GTK_MEDIA_STREAM (clip);
  g_assert_true (gtk_media_stream_is_prepared (stream));
  g_assert_true (gtk_media_stream_has_video (stream));
  g_assert_true (gtk_media_stream_has_audio (stream));
  g_assert_true (gtk_media_stream_is_seekable (stream));
  g_assert_cmpint (gtk_media_stream_get_duration (stream), ==, DURATION_US);
  g_assert_cmpint (gtk_media_stream_get_timestamp (stream), ==, 0);
  g_assert_false (gtk_media_stream_get_playing (stream));
  g_assert_cmpint (jds_clip_stream_get_n_frames (clip), ==, N_FRAMES);
  g_assert_cmpfloat (jds_clip_stream_get_fps (clip), ==, FPS);
  /* PortAudio is not touched before the first play. */
  g_assert_null (jds_clip_stream_get_silent_reason (clip));

  GdkPaintable *paintable = GDK_PAINTABLE (clip);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (paintable), ==, WIDTH);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (paintable), ==, HEIGHT);
  g_assert_cmpfloat (gdk_paintable_get_intrinsic_aspect_ratio (paintable), ==,
                     (double) WIDTH / HEIGHT);

  /* frame = floor(t × fps): 80 ms per frame at 12.5 fps. */
  g_assert_cmpint (jds_clip_stream_frame_at (clip, 0), ==, 0);
  g_assert_cmpint (jds_clip_stream_frame_at (clip, 79999), ==, 0);
  g_assert_cmpint (jds_clip_stream_frame_at (clip, 80000), ==, 1);
  g_assert_cmpint (jds_clip_stream_frame_at (clip, 719999), ==, 8);
  g_assert_cmpint (jds_clip_stream_frame_at (clip, DURATION_US), ==, N_FRAMES - 1);
  g_assert_cmpint (jds_clip_stream_frame_at (clip, -1), ==, 0);

  /* Without sound the stream says so and still plays. */
  JdResult mute = *r;
  mute.n_samples = 0;
  mute.pcm = NULL;
  g_autoptr (JdsClipStream) silent = jds_clip_stream_new (&mute);
  g_assert_false (gtk_media_stream_has_audio (GTK_MEDIA_STREAM (silent)));
  g_assert_cmpstr (jds_clip_stream_get_silent_reason (silent), ==, "This clip has no sound");
}

static void
test_picture_follows_the_clock (void)
{
  guint notes = 0;
  g_autoptr (JdsClipStream) clip = new_silent_stream (&notes);
  GtkMediaStream *stream = GTK_MEDIA_STREAM (clip);
  g_assert_cmpuint (notes, ==, 1);
  g_assert_nonnull (strstr (jds_clip_stream_get_silent_reason (clip), "playing silently"));
  guint invalidations = 0;
  g_signal_connect_swapped (clip, "invalidate-contents", G_CALLBACK (count),
                            &invalidations);

  gint64 t0 = g_get_monotonic_time ();
  gtk_media_stream_play (stream);
  gint64 t1 = g_get_monotonic_time ();
  g_assert_true (gtk_media_stream_get_playing (stream));
  run_for (250);
  gint64 t2 = g_get_monotonic_time ();
  jds_clip_stream_tick (clip);
  gint64 t3 = g_get_monotonic_time ();
  gint64 timestamp = gtk_media_stream_get_timestamp (stream);
  if (t3 - t0 < DURATION_US)
    assert_real_rate (timestamp, 0, t0, t1, t2, t3);
  int frame = jds_clip_stream_get_frame_index (clip);
  g_assert_cmpint (frame, ==, jds_clip_stream_frame_at (clip, timestamp));
  g_assert_cmpint (frame, >=, 3); /* at least 250 ms: frame 3 starts at 240 ms */
  /* The picture changed once per frame at most (frames 1, 2, … reached so far). */
  g_assert_cmpuint (invalidations, >=, 1);
  g_assert_cmpuint (invalidations, <=, (guint) frame);

  /* The picture drawn is that frame. */
  g_autoptr (GdkPaintable) image = gdk_paintable_get_current_image (GDK_PAINTABLE (clip));
  g_assert_true (GDK_IS_TEXTURE (image));
  assert_texture_is_frame (GDK_TEXTURE (image), frame, 1);
  g_autoptr (GdkTexture) copy = jds_clip_stream_copy_current_frame (clip, 1);
  assert_texture_is_frame (copy, frame, 1);
  g_assert_cmpuint (notes, ==, 1);
}

static void
test_pause_and_seek (void)
{
  g_autoptr (JdsClipStream) clip = new_silent_stream (NULL);
  GtkMediaStream *stream = GTK_MEDIA_STREAM (clip);
  gtk_media_stream_play (stream);
  run_for (100);
  gtk_media_stream_pause (stream);
  g_assert_false (gtk_media_stream_get_playing (stream));
  gint64 paused = gtk_media_stream_get_timestamp (stream);
  g_assert_cmpint (paused, >=, 100000);
  run_for (100);
  jds_clip_stream_tick (clip);
  g_assert_cmpint (gtk_media_stream_get_timestamp (stream), ==, paused);

  gtk_media_stream_seek (stream, 400000);
  g_assert_false (gtk_media_stream_is_seeking (stream));
  g_assert_cmpint (gtk_media_stream_get_timestamp (stream), ==, 400000);
  g_assert_cmpint (jds_clip_stream_get_frame_index (clip), ==, 5);
  g_autoptr (GdkTexture) five = jds_clip_stream_copy_current_frame (clip, 1);
  assert_texture_is_frame (five, 5, 1);
  g_assert_false (gtk_media_stream_get_playing (stream));

  /* Seeking while playing keeps playing from there. */
  gtk_media_stream_play (stream);
  gint64 t0 = g_get_monotonic_time ();
  gtk_media_stream_seek (stream, 160000);
  gint64 t1 = g_get_monotonic_time ();
  g_assert_true (gtk_media_stream_get_playing (stream));
  run_for (50);
  gint64 t2 = g_get_monotonic_time ();
  jds_clip_stream_tick (clip);
  gint64 t3 = g_get_monotonic_time ();
  gint64 timestamp = gtk_media_stream_get_timestamp (stream);
  if (t3 - t0 < DURATION_US - 160000)
    assert_real_rate (timestamp, 160000, t0, t1, t2, t3);
  gtk_media_stream_pause (stream);
}

static void
wait_for_end (GtkMediaStream *stream, int max_ms)
{
  gint64 deadline = g_get_monotonic_time () + max_ms * 1000;
  while (!gtk_media_stream_get_ended (stream) && g_get_monotonic_time () < deadline)
    run_for (20);
}

static void
test_end_and_restart (void)
{
  g_autoptr (JdsClipStream) clip = new_silent_stream (NULL);
  GtkMediaStream *stream = GTK_MEDIA_STREAM (clip);
  gtk_media_stream_seek (stream, DURATION_US - 100000);
  gtk_media_stream_play (stream);
  wait_for_end (stream, 5000);
  g_assert_true (gtk_media_stream_get_ended (stream));
  g_assert_false (gtk_media_stream_get_playing (stream));
  g_assert_cmpint (gtk_media_stream_get_timestamp (stream), ==, DURATION_US);
  g_assert_cmpint (jds_clip_stream_get_frame_index (clip), ==, N_FRAMES - 1);
  g_assert_false (jds_audio_output_get_playing (jds_clip_stream_get_audio_output (clip)));

  /* Play after the end starts from the beginning. */
  gint64 t0 = g_get_monotonic_time ();
  gtk_media_stream_play (stream);
  gint64 t1 = g_get_monotonic_time ();
  g_assert_false (gtk_media_stream_get_ended (stream));
  jds_clip_stream_tick (clip);
  gint64 t2 = g_get_monotonic_time ();
  gint64 timestamp = gtk_media_stream_get_timestamp (stream);
  if (t2 - t0 < DURATION_US)
    assert_real_rate (timestamp, 0, t0, t1, t1, t2);
  gtk_media_stream_pause (stream);
}

static void
test_loop (void)
{
  g_autoptr (JdsClipStream) clip = new_silent_stream (NULL);
  GtkMediaStream *stream = GTK_MEDIA_STREAM (clip);
  gtk_media_stream_set_loop (stream, TRUE);
  gtk_media_stream_seek (stream, DURATION_US - 100000);
  gtk_media_stream_play (stream);
  run_for (300);
  jds_clip_stream_tick (clip);
  g_assert_true (gtk_media_stream_get_playing (stream));
  g_assert_false (gtk_media_stream_get_ended (stream));
  gint64 timestamp = gtk_media_stream_get_timestamp (stream);
  g_test_message ("timestamp after wrapping: %" G_GINT64_FORMAT, timestamp);
  g_assert_cmpint (timestamp, <, DURATION_US);
  /* 300 ms from 100 ms before the end: wrapped (unless the machine stalled for a whole loop). */
  g_assert_cmpint (jds_clip_stream_get_frame_index (clip), ==,
                   jds_clip_stream_frame_at (clip, timestamp));

  /* Loop off while playing: it plays on to the end and stops. */
  gtk_media_stream_set_loop (stream, FALSE);
  wait_for_end (stream, 5000);
  g_assert_true (gtk_media_stream_get_ended (stream));
  g_assert_cmpint (gtk_media_stream_get_timestamp (stream), ==, DURATION_US);
}

static void
test_nearest_neighbour_upscale (void)
{
  g_autoptr (JdsClipStream) clip = new_silent_stream (NULL);
  for (int factor = 1; factor <= 5; factor += 2)
    {
      g_autoptr (GdkTexture) texture = jds_clip_stream_get_frame_texture (clip, 3, factor);
      assert_texture_is_frame (texture, 3, factor);
    }
  g_autoptr (GdkTexture) largest =
    jds_clip_stream_get_frame_texture (clip, N_FRAMES - 1, JDS_CLIP_STREAM_MAX_UPSCALE);
  assert_texture_is_frame (largest, N_FRAMES - 1, JDS_CLIP_STREAM_MAX_UPSCALE);

  /* A fixed factor sets the intrinsic size and the picture. */
  jds_clip_stream_set_upscale (clip, 3);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (GDK_PAINTABLE (clip)), ==, WIDTH * 3);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (GDK_PAINTABLE (clip)), ==, HEIGHT * 3);
  g_autoptr (GdkPaintable) image = gdk_paintable_get_current_image (GDK_PAINTABLE (clip));
  assert_texture_is_frame (GDK_TEXTURE (image), 0, 3);

  /* Automatic: the smallest factor covering the size drawn (40×30 from 8×6: ×5). */
  jds_clip_stream_set_upscale (clip, 0);
  gtk_media_stream_seek (GTK_MEDIA_STREAM (clip), 240000);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (GDK_PAINTABLE (clip), snapshot, 37, 30);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  g_assert_cmpint (gsk_render_node_get_node_type (node), ==, GSK_TEXTURE_NODE);
  GdkTexture *drawn = gsk_texture_node_get_texture (node);
  assert_texture_is_frame (drawn, 3, 5);
  graphene_rect_t bounds;
  gsk_render_node_get_bounds (node, &bounds);
  g_assert_cmpfloat (bounds.size.width, ==, 37);
  g_assert_cmpfloat (bounds.size.height, ==, 30);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* gtk_init registers the render node types; without a display, asking for one does. */
  g_type_ensure (GSK_TYPE_TEXTURE_NODE);
  g_test_add_func ("/playback/audio/silent-clock-real-rate", test_silent_clock_runs_at_real_rate);
  g_test_add_func ("/playback/audio/end-and-loop", test_end_and_loop);
  g_test_add_func ("/playback/audio/clip-without-sound", test_clip_without_sound);
  g_test_add_func ("/playback/audio/bad-device", test_bad_device_falls_back_to_silence);
  g_test_add_func ("/playback/audio/default-device", test_default_device);
  g_test_add_func ("/playback/audio/rate-no-device-takes", test_rate_no_device_takes);
  g_test_add_func ("/playback/audio/position-from-another-thread",
                   test_position_reads_from_another_thread);
  g_test_add_func ("/playback/stream/prepared", test_stream_is_prepared);
  g_test_add_func ("/playback/stream/picture-follows-clock", test_picture_follows_the_clock);
  g_test_add_func ("/playback/stream/pause-and-seek", test_pause_and_seek);
  g_test_add_func ("/playback/stream/end-and-restart", test_end_and_restart);
  g_test_add_func ("/playback/stream/loop", test_loop);
  g_test_add_func ("/playback/stream/nearest-neighbour-upscale", test_nearest_neighbour_upscale);
  return g_test_run ();
}
