/* test-studio-units.c — the studio's pieces that need no display: the one-slot mailbox, the
 * spectrogram and its colour map, the time axis' tick steps, the
 * filmstrip layout. (Export formats by path are app/export's: tests/media/test-media-export.c.) */
#include <math.h>
#include <string.h>

#include "jds-frames.h"
#include "jds-mailbox.h"
#include "jds-spectrogram.h"
#include "jds-time-axis.h"

static JdsFrames *
frames_with_step (int step)
{
  guint8 pixels[2 * 3 * 2 * 4];
  for (guint i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) (i + step);
  JdsFrames *frames = jds_frames_new (2, 3, 2, pixels, 0, 0, NULL);
  frames->step = step;
  frames->total = 10;
  return frames;
}

static void
test_mailbox_newest_wins (void)
{
  g_autoptr (JdsMailbox) mailbox = jds_mailbox_new ();
  JdProgress progress = { 0 };
  g_assert_false (jds_mailbox_take_progress (mailbox, &progress));
  g_assert_null (jds_mailbox_take_preview (mailbox));

  for (int step = 1; step <= 3; step++)
    {
      g_autoptr (JdsFrames) frames = frames_with_step (step);
      jds_mailbox_post_preview (mailbox, frames);
      jds_mailbox_post_progress (mailbox, &(JdProgress) { .step = step, .total = 10 });
    }
  /* Only the newest of the unread previews is delivered; the two older ones were dropped. */
  g_autoptr (JdsFrames) newest = jds_mailbox_take_preview (mailbox);
  g_assert_nonnull (newest);
  g_assert_cmpint (newest->step, ==, 3);
  g_assert_cmpuint (jds_mailbox_get_dropped (mailbox), ==, 2);
  g_assert_null (jds_mailbox_take_preview (mailbox));
  g_assert_true (jds_mailbox_take_progress (mailbox, &progress));
  g_assert_cmpint (progress.step, ==, 3);
  g_assert_false (jds_mailbox_take_progress (mailbox, &progress));
}

typedef struct {
  JdsMailbox *mailbox;
  int         posts;
} Poster;

static gpointer
post_many (gpointer data)
{
  Poster *poster = data;
  for (int i = 1; i <= poster->posts; i++)
    {
      g_autoptr (JdsFrames) frames = frames_with_step (i);
      jds_mailbox_post_preview (poster->mailbox, frames);
    }
  return NULL;
}

/* A reader racing a writer sees steps only ever increase and never loses the last one. */
static void
test_mailbox_threads (void)
{
  g_autoptr (JdsMailbox) mailbox = jds_mailbox_new ();
  Poster poster = { mailbox, 2000 };
  GThread *thread = g_thread_new ("poster", post_many, &poster);
  int last = 0, taken = 0;
  while (last < poster.posts)
    {
      g_autoptr (JdsFrames) frames = jds_mailbox_take_preview (mailbox);
      if (frames == NULL)
        continue;
      g_assert_cmpint (frames->step, >, last);
      last = frames->step;
      taken++;
    }
  g_thread_join (thread);
  g_assert_cmpint (last, ==, poster.posts);
  g_assert_cmpuint (jds_mailbox_get_dropped (mailbox) + taken, ==, poster.posts);
}

/* A 2 kHz tone at 16 kHz: its row is the brightest in every column. */
static void
test_spectrogram_tone (void)
{
  const int rate = 16000, n = rate / 2, bins = 64;
  g_autofree float *pcm = g_new (float, n);
  for (int i = 0; i < n; i++)
    pcm[i] = 0.5f * sinf (2.0f * (float) G_PI * 2000.0f * i / rate);
  int width = 0, height = 0;
  g_autofree guint8 *picture = jds_spectrogram_from_pcm (pcm, n, bins, &width, &height);
  g_assert_cmpint (height, ==, bins);
  g_assert_cmpint (width, ==, (n - 256) / 128 + 1);
  /* Bin b covers b/bins of 8 kHz, and row 0 is the top (the highest frequency). */
  int expected_row = bins - 1 - (int) lround (2000.0 / 8000.0 * bins);
  for (int x = 0; x < width; x += 7)
    {
      int best = 0;
      for (int y = 1; y < height; y++)
        if (picture[((gsize) y * width + x) * 4] > picture[((gsize) best * width + x) * 4])
          best = y;
      g_assert_cmpint (ABS (best - expected_row), <=, 1);
      g_assert_cmpuint (picture[((gsize) best * width + x) * 4 + 3], ==, 255);
    }
}

static void
test_colormap (void)
{
  guint8 low[3], high[3], nan_colour[3];
  jds_colormap (0.0f, low);
  jds_colormap (1.0f, high);
  jds_colormap (NAN, nan_colour);
  g_assert_cmpuint (low[0] + low[1] + low[2], <, 20);
  g_assert_cmpuint (high[0] + high[1] + high[2], >, 600);
  g_assert_cmpmem (nan_colour, 3, low, 3);
  /* Brightness rises along the map. */
  int previous = -1;
  for (int i = 0; i <= 16; i++)
    {
      guint8 c[3];
      jds_colormap (i / 16.0f, c);
      int luma = 2 * c[0] + 5 * c[1] + c[2];
      g_assert_cmpint (luma, >=, previous);
      previous = luma;
    }
}

static void
test_time_axis_steps (void)
{
  g_assert_cmpfloat_with_epsilon (jds_time_axis_tick_step (0.4), 0.1, 1e-12);
  g_assert_cmpfloat_with_epsilon (jds_time_axis_tick_step (2.56), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (jds_time_axis_tick_step (10.0), 2.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (jds_time_axis_tick_step (0.0), 1.0, 1e-12);
}

static void
test_filmstrip (void)
{
  g_autoptr (JdsFrames) frames = frames_with_step (0);
  int w = 0, h = 0;
  g_autoptr (GBytes) strip = jds_frames_make_strip (frames, &w, &h);
  g_assert_cmpint (w, ==, 2 * 3 + 1);
  g_assert_cmpint (h, ==, 2);
  const guint8 *p = g_bytes_get_data (strip, NULL);
  /* Frame 1 starts after frame 0 and a transparent one-pixel gap. */
  g_assert_cmpmem (p + 4 * 4, 3 * 4, jds_frames_get_frame (frames, 1), 3 * 4);
  g_assert_cmpuint (p[3 * 4 + 3], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/studio/mailbox/newest-wins", test_mailbox_newest_wins);
  g_test_add_func ("/studio/mailbox/threads", test_mailbox_threads);
  g_test_add_func ("/studio/spectrogram/tone", test_spectrogram_tone);
  g_test_add_func ("/studio/spectrogram/colormap", test_colormap);
  g_test_add_func ("/studio/time-axis/steps", test_time_axis_steps);
  g_test_add_func ("/studio/frames/filmstrip", test_filmstrip);
  return g_test_run ();
}
