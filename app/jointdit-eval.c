/* jointdit eval — measure a clip: how well its sound and picture agree (sync offset and error,
 * AV-Align), how much it moves (motion score) and, for a world clip, how close its events are
 * to the true event times. */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jd-clip-eval.h"
#include "jd-image.h"
#include "jd-json-depth.h"
#include "jd-mp4-read.h"
#include "jd-wav.h"
#include "jointdit-cli.h"

#define USAGE "Usage: jointdit eval CLIP [--truth truth.json] [--fps F] [--json]"
#define TRUTH_MAX_BYTES (16 << 20)
#define TRUTH_MAX_DEPTH 16

typedef struct {
  char        *path;
  guint        n_frames;
  int          width, height;
  double       fps;
  guint8      *rgb;     /* n_frames × height × width × 3 */
  JdAudio     *audio;   /* mono */
} Clip;

static void
clip_clear (Clip *c)
{
  g_free (c->path);
  g_free (c->rgb);
  jd_audio_free (c->audio);
}

static gboolean
pack_frames (Clip *c, JdImage *const *frames, guint n, const char *where, GError **error)
{
  c->n_frames = n;
  c->width = frames[0]->width;
  c->height = frames[0]->height;
  gsize bytes = (gsize) c->width * c->height * 3;
  c->rgb = g_try_malloc ((gsize) n * bytes);
  if (!c->rgb)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                   "the %u frames of “%s” do not fit in memory", n, where);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      if (frames[i]->width != c->width || frames[i]->height != c->height)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                       "frame %u of “%s” is %d×%d but frame 0 is %d×%d; all frames must have "
                       "one size", i, where, frames[i]->width, frames[i]->height, c->width,
                       c->height);
          return FALSE;
        }
      for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
          memcpy (c->rgb + i * bytes + ((gsize) y * c->width + x) * 3,
                  frames[i]->pixels + y * frames[i]->stride + (gsize) x * frames[i]->channels, 3);
    }
  return TRUE;
}

/* g_ptr_array_sort hands over pointers to the elements. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
read_folder (Clip *c, const char *folder, GError **error)
{
  g_autofree char *frames_dir = g_build_filename (folder, "frames", NULL);
  g_autoptr (GDir) dir = g_dir_open (frames_dir, 0, NULL);
  if (!dir)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "the folder “%s” has no frames/ folder; a clip folder holds frames/00000.png… "
                   "and audio.wav", folder);
      return FALSE;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".png"))
      g_ptr_array_add (names, g_strdup (name));
  if (names->len < 4)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "“%s” holds %u PNG frames; a clip needs at least 4", frames_dir, names->len);
      return FALSE;
    }
  g_ptr_array_sort (names, compare_names);
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) jd_image_free);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (frames_dir, g_ptr_array_index (names, i), NULL);
      JdImage *image = jd_image_load (path, 0, 0, error);
      if (!image)
        return FALSE;
      g_ptr_array_add (images, image);
    }
  if (!pack_frames (c, (JdImage *const *) images->pdata, images->len, frames_dir, error))
    return FALSE;
  g_autofree char *wav = g_build_filename (folder, "audio.wav", NULL);
  if (!g_file_test (wav, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "the folder “%s” has no audio.wav; a clip folder holds frames/ and audio.wav",
                   folder);
      return FALSE;
    }
  g_autoptr (JdAudio) audio = jd_wav_read (wav, error);
  if (!audio)
    return FALSE;
  c->audio = jd_audio_to_mono (audio);
  return TRUE;
}

static gboolean
read_video (Clip *c, const char *path, GError **error)
{
  g_autoptr (JdVideoClip) video = jd_video_clip_read (path, error);
  if (!video)
    return FALSE;
  if (!video->audio || video->audio->n_frames == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "the video “%s” has no sound; eval compares sound with picture", path);
      return FALSE;
    }
  if (video->n_frames < 4)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "the video “%s” has %u frames; a clip needs at least 4", path,
                   video->n_frames);
      return FALSE;
    }
  c->fps = video->fps;
  c->audio = g_steal_pointer (&video->audio);
  return pack_frames (c, video->frames, video->n_frames, path, error);
}

/* truth.json: the event times (s) and the frame rate. */
static gboolean
read_truth (const char *path, GArray *times, double *fps, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;
  if (!g_file_get_contents (path, &text, &length, error))
    return FALSE;
  const char *problem = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (length > TRUTH_MAX_BYTES)
    problem = "it is larger than 16 MB";
  else if (!jd_json_depth_within (text, length, TRUTH_MAX_DEPTH))
    problem = "it is nested too deeply";
  else if (!json_parser_load_from_data (parser, text, length, NULL))
    problem = "it is not valid JSON";
  JsonNode *root = problem ? NULL : json_parser_get_root (parser);
  JsonObject *object = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *events = object ? json_object_get_member (object, "events") : NULL;
  if (!problem && (!events || !JSON_NODE_HOLDS_ARRAY (events)))
    problem = "it has no \"events\" list";
  if (!problem)
    {
      JsonArray *list = json_node_get_array (events);
      for (guint i = 0; i < json_array_get_length (list) && !problem; i++)
        {
          JsonNode *e = json_array_get_element (list, i);
          JsonNode *t = JSON_NODE_HOLDS_OBJECT (e)
                          ? json_object_get_member (json_node_get_object (e), "time") : NULL;
          if (!t || !JSON_NODE_HOLDS_VALUE (t)
              || (json_node_get_value_type (t) != G_TYPE_DOUBLE
                  && json_node_get_value_type (t) != G_TYPE_INT64))
            problem = "an event has no numeric \"time\"";
          else
            {
              double v = json_node_get_double (t);
              if (!isfinite (v) || v < 0)
                problem = "an event time is negative or not finite";
              g_array_append_val (times, v);
            }
        }
      JsonNode *f = json_object_get_member (object, "fps");
      *fps = 0;
      if (f && JSON_NODE_HOLDS_VALUE (f)
          && (json_node_get_value_type (f) == G_TYPE_DOUBLE
              || json_node_get_value_type (f) == G_TYPE_INT64))
        *fps = json_node_get_double (f);
    }
  if (problem)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "the truth file “%s” cannot be used: %s (expected the truth.json that "
                   "tools/worldgen writes)", path, problem);
      return FALSE;
    }
  return TRUE;
}

static void
add_number (JsonBuilder *b, const char *key, double value, gboolean present)
{
  json_builder_set_member_name (b, key);
  if (present && isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
add_times_ms (JsonBuilder *b, const char *key, const double *times, gsize n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    json_builder_add_double_value (b, times[i] * 1000);
  json_builder_end_array (b);
}

static void
print_json (const Clip *c, const JdEvalReport *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "clip");
  json_builder_add_string_value (b, c->path);
  add_int (b, "frames", c->n_frames);
  add_int (b, "width", c->width);
  add_int (b, "height", c->height);
  add_number (b, "fps", c->fps, TRUE);
  add_int (b, "sample_rate", c->audio->sample_rate);
  add_number (b, "seconds", c->audio->n_frames / (double) c->audio->sample_rate, TRUE);
  add_number (b, "sync_offset_ms", r->sync.offset * 1000, r->sync.has_offset);
  add_int (b, "sync_offset_pairs", r->sync.offset_pairs);
  add_number (b, "sync_error_ms", r->sync.error * 1000, r->sync.has_error);
  add_int (b, "sync_matched", r->sync.matched);
  add_number (b, "precision", r->sync.precision, TRUE);
  add_number (b, "recall", r->sync.recall, TRUE);
  add_number (b, "av_align", r->av_align->score, TRUE);
  add_number (b, "motion_score", r->motion_score, TRUE);
  json_builder_set_member_name (b, "visual_events");
  json_builder_begin_array (b);
  for (gsize i = 0; i < r->n_visual; i++)
    {
      json_builder_begin_object (b);
      add_number (b, "time_ms", r->visual[i].time * 1000, TRUE);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, r->visual[i].kind == JD_VISUAL_EVENT_IMPACT ? "impact"
                                                                                    : "brightness");
      add_number (b, "strength", r->visual[i].strength, TRUE);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  add_times_ms (b, "audio_onsets_ms", r->audio, r->n_audio);
  add_times_ms (b, "av_align_video_peaks_ms", r->av_align->video_peaks, r->av_align->n_video_peaks);
  add_times_ms (b, "av_align_audio_peaks_ms", r->av_align->audio_peaks, r->av_align->n_audio_peaks);
  json_builder_set_member_name (b, "truth");
  if (!r->truth)
    json_builder_add_null_value (b);
  else
    {
      json_builder_begin_object (b);
      add_number (b, "visual_median_abs_error_ms", r->truth_visual_median * 1000, TRUE);
      add_number (b, "audio_median_abs_error_ms", r->truth_audio_median * 1000, TRUE);
      json_builder_set_member_name (b, "events");
      json_builder_begin_array (b);
      for (gsize i = 0; i < r->n_truth; i++)
        {
          json_builder_begin_object (b);
          add_number (b, "time_ms", r->truth[i] * 1000, TRUE);
          add_number (b, "visual_error_ms", r->truth_visual_error[i] * 1000, TRUE);
          add_number (b, "audio_error_ms", r->truth_audio_error[i] * 1000, TRUE);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

static char *
ms (double seconds, gboolean present)
{
  return present && isfinite (seconds) ? g_strdup_printf ("%+.1f ms", seconds * 1000)
                                       : g_strdup ("—");
}

static void
print_text (const Clip *c, const JdEvalReport *r)
{
  g_autofree char *offset = ms (r->sync.offset, r->sync.has_offset);
  g_autofree char *err = r->sync.has_error ? g_strdup_printf ("%.1f ms", r->sync.error * 1000)
                                           : g_strdup ("—");
  printf ("%s: %u frames of %d×%d at %g fps, %.2f s of sound at %d Hz\n", c->path, c->n_frames,
          c->width, c->height, c->fps, c->audio->n_frames / (double) c->audio->sample_rate,
          c->audio->sample_rate);
  printf ("  sync offset   %s (sound after picture when positive; %" G_GSIZE_FORMAT " pairs)\n",
          offset, r->sync.offset_pairs);
  printf ("  sync error    %s (mean |Δ| of %" G_GSIZE_FORMAT " matches within 100 ms)\n", err,
          r->sync.matched);
  printf ("  within 40 ms  precision %.2f, recall %.2f (%" G_GSIZE_FORMAT " onsets, %"
          G_GSIZE_FORMAT " visual events)\n", r->sync.precision, r->sync.recall, r->n_audio,
          r->n_visual);
  printf ("  AV-Align      %.3f (%" G_GSIZE_FORMAT " audio, %" G_GSIZE_FORMAT " video peaks)\n",
          r->av_align->score, r->av_align->n_audio_peaks, r->av_align->n_video_peaks);
  printf ("  motion score  %.3f px per pair (Farnebäck, 2 fps)\n", r->motion_score);
  if (r->truth)
    {
      g_autofree char *vm = isfinite (r->truth_visual_median)
                              ? g_strdup_printf ("%.1f ms", r->truth_visual_median * 1000)
                              : g_strdup ("—");
      g_autofree char *am = isfinite (r->truth_audio_median)
                              ? g_strdup_printf ("%.1f ms", r->truth_audio_median * 1000)
                              : g_strdup ("—");
      printf ("  against the truth (%" G_GSIZE_FORMAT " events): median |error| picture %s, "
              "sound %s\n", r->n_truth, vm, am);
      for (gsize i = 0; i < r->n_truth; i++)
        {
          g_autofree char *v = ms (r->truth_visual_error[i], TRUE);
          g_autofree char *a = ms (r->truth_audio_error[i], TRUE);
          printf ("    %8.1f ms: picture %s, sound %s\n", r->truth[i] * 1000, v, a);
        }
    }
}

static gboolean
parse_fps (const char *text, double *fps)
{
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (text, &end);
  if (errno || end == text || *end != '\0' || !(v > 0 && v <= 1000))
    return FALSE;
  *fps = v;
  return TRUE;
}

int
jd_cli_eval (int argc, char **argv)
{
  char *truth_path = NULL, *fps_text = NULL;
  gboolean json = FALSE;
  char **rest = NULL;
  const GOptionEntry entries[] = {
    { "truth", 0, 0, G_OPTION_ARG_FILENAME, &truth_path,
      "The world clip's truth.json: report each event's time error (and take fps from it)",
      "FILE" },
    { "fps", 0, 0, G_OPTION_ARG_STRING, &fps_text,
      "Frame rate of a folder clip (required for a folder unless --truth gives it)", "F" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON object instead of text", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "CLIP" },
    { NULL },
  };
  g_set_prgname ("jointdit eval");
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
    "Measure a clip (an MP4, or a folder with frames/00000.png… and audio.wav): the offset\n"
    "and error between sound onsets and visible events, precision and recall within 40 ms,\n"
    "AV-Align, the motion score and, with --truth, each event's error against the truth.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JdEvalReport) report = NULL;
  Clip clip = { 0 };
  g_autoptr (GArray) truth = g_array_new (FALSE, FALSE, sizeof (double));
  int status = JD_EXIT_OK;
  double fps = 0, truth_fps = 0;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "eval: %s. " USAGE, error->message);
      goto out;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "eval: needs exactly one clip. " USAGE);
      goto out;
    }
  if (fps_text && !parse_fps (fps_text, &fps))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "eval: --fps must be a number above 0 and at most "
                                           "1000, not “%s”", fps_text);
      goto out;
    }
  if (truth_path && !read_truth (truth_path, truth, &truth_fps, &error))
    {
      status = jd_cli_fail (JD_EXIT_FAILURE, "eval: %s", error->message);
      goto out;
    }
  clip.path = g_strdup (rest[0]);
  if (!g_file_test (clip.path, G_FILE_TEST_EXISTS))
    {
      status = jd_cli_fail (JD_EXIT_FAILURE, "eval: there is no file or folder “%s”", clip.path);
      goto out;
    }
  if (g_file_test (clip.path, G_FILE_TEST_IS_DIR))
    {
      if (fps <= 0)
        fps = truth_fps;
      if (fps <= 0)
        {
          status = jd_cli_fail (JD_EXIT_FAILURE, "eval: “%s” is a folder of frames, which "
                                "carries no frame rate; give it with --fps (e.g. --fps 12.5) "
                                "or --truth truth.json", clip.path);
          goto out;
        }
      if (!read_folder (&clip, clip.path, &error))
        {
          status = jd_cli_fail (JD_EXIT_FAILURE, "eval: %s", error->message);
          goto out;
        }
      clip.fps = fps;
    }
  else
    {
      if (!read_video (&clip, clip.path, &error))
        {
          status = jd_cli_fail (JD_EXIT_FAILURE, "eval: %s", error->message);
          goto out;
        }
      if (fps > 0)
        clip.fps = fps;
      if (!(clip.fps > 0))
        {
          status = jd_cli_fail (JD_EXIT_FAILURE, "eval: the video “%s” does not say its frame "
                                "rate; give it with --fps", clip.path);
          goto out;
        }
    }

  JdEvalClip in = { .rgb = clip.rgb, .n_frames = clip.n_frames, .width = clip.width,
                    .height = clip.height, .fps = clip.fps, .audio = clip.audio->samples,
                    .samples = clip.audio->n_frames, .sample_rate = clip.audio->sample_rate };
  report = jd_eval_clip (&in, (const double *) truth->data, truth->len,
                                                  &error);
  if (!report)
    {
      status = jd_cli_fail (JD_EXIT_FAILURE, "eval: “%s”: %s", clip.path, error->message);
      goto out;
    }
  if (!truth_path)
    g_clear_pointer (&report->truth, g_free);
  if (json)
    print_json (&clip, report);
  else
    print_text (&clip, report);

out:
  clip_clear (&clip);
  g_free (truth_path);
  g_free (fps_text);
  g_strfreev (rest);
  return status;
}
