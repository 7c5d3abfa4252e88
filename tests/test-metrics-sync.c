/* The synchronisation metric on the world's ground-truth clips (tools/worldgen, made here):
 * its floor (the median sync error of clips whose sound and picture agree by construction) and
 * known shifts (the same clips with the sound moved by ±80 to ±250 ms must read back within
 * one frame of the shift). Needs /usr/bin/python3 with numpy, like the world's own tests. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jd-audio-onsets.h"
#include "jd-clip-eval.h"
#include "jd-sync-match.h"
#include "jd-image.h"
#include "jd-wav.h"
#include "test-util.h"

#define FLOOR_MS 15.0           /* the bound on the median sync error */
#define SEEDS_PER_SCENE 4

static const char *const scenes[] = { "bounce", "strike", "flash" };

typedef struct {
  char    *name;
  guint8  *rgb;
  gsize    n_frames;
  int      width, height;
  double   fps;
  JdAudio *audio;
  double  *truth;
  gsize    n_truth;
} WorldClip;

static char *work_dir;

static void
world_clip_free (WorldClip *c)
{
  g_free (c->name);
  g_free (c->rgb);
  jd_audio_free (c->audio);
  g_free (c->truth);
  g_free (c);
}

static WorldClip *
make_clip (const char *scene, int seed)
{
  WorldClip *c = g_new0 (WorldClip, 1);
  c->name = g_strdup_printf ("%s-%d", scene, seed);
  g_autofree char *dir = g_build_filename (work_dir, c->name, NULL);
  g_autofree char *tool = g_test_build_filename (G_TEST_DIST, "..", "tools", "worldgen.py", NULL);
  g_autofree char *seed_text = g_strdup_printf ("%d", seed);
  const char *argv[] = { "/usr/bin/python3", tool, "--scene", scene, "--seed", seed_text,
                         "--out", dir, NULL };
  int status = 0;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("tools/worldgen.py failed for %s: %s", c->name, err);

  g_autofree char *truth_path = g_build_filename (dir, "truth.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, truth_path, &error));
  JsonObject *truth = json_node_get_object (json_parser_get_root (parser));
  c->fps = json_object_get_double_member (truth, "fps");
  c->n_frames = json_object_get_int_member (truth, "frames");
  JsonArray *events = json_object_get_array_member (truth, "events");
  c->n_truth = json_array_get_length (events);
  c->truth = g_new (double, MAX (c->n_truth, 1));
  for (gsize i = 0; i < c->n_truth; i++)
    c->truth[i] = json_object_get_double_member (json_array_get_object_element (events, i),
                                                 "time");
  for (gsize k = 0; k < c->n_frames; k++)
    {
      g_autofree char *file = g_strdup_printf ("%05u.png", (unsigned) k);
      g_autofree char *path = g_build_filename (dir, "frames", file, NULL);
      g_autoptr (JdImage) image = jd_image_load (path, 0, 0, &error);
      g_assert_no_error (error);
      if (!c->rgb)
        {
          c->width = image->width;
          c->height = image->height;
          c->rgb = g_new (guint8, c->n_frames * image->width * image->height * 3);
        }
      memcpy (c->rgb + k * c->width * c->height * 3, image->pixels,
              (gsize) c->width * c->height * 3);
    }
  g_autofree char *wav = g_build_filename (dir, "audio.wav", NULL);
  c->audio = jd_wav_read (wav, &error);
  g_assert_no_error (error);
  return c;
}

static GPtrArray *
world_clips (void)
{
  static GPtrArray *clips;
  if (!clips)
    {
      clips = g_ptr_array_new_with_free_func ((GDestroyNotify) world_clip_free);
      for (gsize s = 0; s < G_N_ELEMENTS (scenes); s++)
        for (int i = 0; i < SEEDS_PER_SCENE; i++)
          g_ptr_array_add (clips, make_clip (scenes[s], 500 + 7 * i));
    }
  return clips;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, gsize n)
{
  qsort (v, n, sizeof (double), compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The median |detected − true| of times matched one to one within 100 ms (NAN with none). */
static double
truth_median (const double *truth, gsize n_truth, const double *found, gsize n_found)
{
  g_autofree gssize *pair = g_new (gssize, MAX (n_truth, 1));
  g_autofree double *errors = g_new (double, MAX (n_truth, 1));
  jd_sync_pairs (truth, n_truth, found, n_found, 0, JD_SYNC_MATCH_SECONDS, pair);
  gsize m = 0;
  for (gsize i = 0; i < n_truth; i++)
    if (pair[i] >= 0)
      errors[m++] = fabs (found[pair[i]] - truth[i]);
  return m ? median (errors, m) : NAN;
}

static void
test_floor (void)
{
  /* What `jointdit eval` reports as sync_error_ms and sync_offset_ms (jd-clip-eval.c runs
   * the same three steps; AV-Align is left out here to keep the test fast). */
  GPtrArray *clips = world_clips ();
  g_autofree double *errors = g_new (double, clips->len);
  g_autofree double *offsets = g_new (double, clips->len);
  gsize n = 0, n_offsets = 0;
  for (guint i = 0; i < clips->len; i++)
    {
      WorldClip *c = g_ptr_array_index (clips, i);
      g_autoptr (GError) error = NULL;
      gsize n_visual = 0, n_onsets = 0;
      g_autofree JdVisualEvent *visual = jd_visual_events (c->rgb, c->n_frames, c->width,
                                                           c->height, c->fps, &n_visual, &error);
      g_assert_no_error (error);
      g_autofree double *onsets = jd_audio_onsets (c->audio->samples, c->audio->n_frames,
                                                   c->audio->sample_rate, &n_onsets, &error);
      g_assert_no_error (error);
      g_autofree double *times = g_new (double, MAX (n_visual, 1));
      g_autofree double *strength = g_new (double, MAX (n_visual, 1));
      for (gsize v = 0; v < n_visual; v++)
        times[v] = visual[v].time, strength[v] = visual[v].strength;
      JdSyncMatch m;
      jd_sync_match (times, strength, n_visual, onsets, n_onsets, &m);
      double picture = truth_median (c->truth, c->n_truth, times, n_visual);
      double sound = truth_median (c->truth, c->n_truth, onsets, n_onsets);
      g_test_message ("%s: sync error %.1f ms over %" G_GSIZE_FORMAT " matches, offset %.1f ms; "
                      "median |error| against truth: picture %.1f ms, sound %.1f ms", c->name,
                      m.error * 1000, m.matched, m.offset * 1000, picture * 1000, sound * 1000);
      /* The sound onsets are exact; the picture's events are found in most clips (a ball
       * whose later bounces are small, or a swinging stick, can hide an impact). */
      g_assert_cmpfloat (sound, <, 0.002);
      if (m.has_error)
        errors[n++] = m.error * 1000;
      if (m.has_offset)
        offsets[n_offsets++] = fabs (m.offset) * 1000;
    }
  g_assert_cmpuint (n * 4, >=, clips->len * 3);
  g_assert_cmpuint (n_offsets * 4, >=, clips->len * 3);
  double floor_ms = median (errors, n), offset_ms = median (offsets, n_offsets);
  g_test_message ("floor: median sync error %.1f ms, median |offset| %.1f ms over %" G_GSIZE_FORMAT
                  " of %u ground-truth clips", floor_ms, offset_ms, n, clips->len);
  g_assert_cmpfloat (floor_ms, <=, FLOOR_MS);
  g_assert_cmpfloat (offset_ms, <=, FLOOR_MS);
}

static void
test_known_shift (void)
{
  static const double shifts_ms[] = { -250, -150, -80, 80, 150, 250 };
  GPtrArray *clips = world_clips ();
  g_autofree double *deviation = g_new (double, clips->len * G_N_ELEMENTS (shifts_ms));
  gsize n = 0, used = 0;
  double worst = 0;
  for (guint i = 0; i < clips->len; i++)
    {
      WorldClip *c = g_ptr_array_index (clips, i);
      g_autoptr (GError) error = NULL;
      gsize n_visual = 0;
      g_autofree JdVisualEvent *visual = jd_visual_events (c->rgb, c->n_frames, c->width,
                                                           c->height, c->fps, &n_visual, &error);
      g_assert_no_error (error);
      g_autofree double *times = g_new (double, MAX (n_visual, 1));
      g_autofree double *strength = g_new (double, MAX (n_visual, 1));
      for (gsize v = 0; v < n_visual; v++)
        times[v] = visual[v].time, strength[v] = visual[v].strength;
      gsize samples = c->audio->n_frames;
      g_autofree float *moved = g_new (float, samples);
      /* Only clips in which the metric pairs at least two events unshifted can show a shift
       * unambiguously (with one pair, moving the sound onto another event reads as well). */
      {
        gsize n_onsets = 0;
        g_autofree double *onsets = jd_audio_onsets (c->audio->samples, samples,
                                                     c->audio->sample_rate, &n_onsets, &error);
        JdSyncMatch m;
        jd_sync_match (times, strength, n_visual, onsets, n_onsets, &m);
        if (!m.has_offset || m.offset_pairs < 2 || fabs (m.offset) > 0.04)
          {
            g_test_message ("%s: %" G_GSIZE_FORMAT " pairs unshifted, not used for shifts",
                            c->name, m.offset_pairs);
            continue;
          }
        used++;
      }
      for (gsize s = 0; s < G_N_ELEMENTS (shifts_ms); s++)
        {
          /* the sound moved later by shift (earlier when negative), silence filling the gap */
          gssize by = (gssize) lrint (shifts_ms[s] / 1000 * c->audio->sample_rate);
          for (gsize t = 0; t < samples; t++)
            {
              gssize from = (gssize) t - by;
              moved[t] = from >= 0 && from < (gssize) samples ? c->audio->samples[from] : 0;
            }
          gsize n_onsets = 0;
          g_autofree double *onsets = jd_audio_onsets (moved, samples, c->audio->sample_rate,
                                                       &n_onsets, &error);
          g_assert_no_error (error);
          JdSyncMatch m;
          jd_sync_match (times, strength, n_visual, onsets, n_onsets, &m);
          g_assert_true (m.has_offset);
          double d = m.offset * 1000 - shifts_ms[s];
          g_test_message ("%s moved %+.0f ms: read %+.1f ms (%+.1f)", c->name, shifts_ms[s],
                          m.offset * 1000, d);
          /* within one frame of the shift */
          g_assert_cmpfloat (fabs (d), <=, 1000 / c->fps);
          deviation[n++] = fabs (d);
          worst = MAX (worst, fabs (d));
        }
    }
  g_assert_cmpuint (used * 2, >=, clips->len);
  double typical = median (deviation, n);
  g_test_message ("known shifts: median |read − shift| %.1f ms, worst %.1f ms over %" G_GSIZE_FORMAT
                  " readings of %" G_GSIZE_FORMAT " clips", typical, worst, n, used);
  g_assert_cmpfloat (typical, <=, FLOOR_MS);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
    }
  g_remove (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  work_dir = g_dir_make_tmp ("jd-metrics-sync-XXXXXX", NULL);
  g_assert_nonnull (work_dir);
  g_test_add_func ("/metrics-sync/floor", test_floor);
  g_test_add_func ("/metrics-sync/known-shift", test_known_shift);
  int status = g_test_run ();
  remove_tree (work_dir);
  g_free (work_dir);
  return status;
}
