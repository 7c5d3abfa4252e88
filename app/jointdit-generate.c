/* jointdit generate — animate and sound one picture from the command line.
 *
 * The picture is loaded at the model's size (centre-cropped, resized), the engine generates
 * the clip on a worker thread while the main thread shows progress and turns Ctrl-C into a
 * cancellation, and the outputs are written by the media library (each through a temporary
 * file that is renamed into place, so a failure never leaves a half file behind).
 */
#include <errno.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jd-data-paths.h"
#include "jd-image.h"
#include "jd-media-error.h"
#include "jd-mp4.h"
#include "jd-png-frames.h"
#include "jd-wav.h"
#include "jointdit-cli.h"
#include "jointdit.h"

#define USAGE "Run 'jointdit generate --help' for the options."

#define DEFAULT_GUIDANCE JD_GUIDANCE_JOINT
#define DEFAULT_OMEGA    2.0
/* ω_v at the first frame: 0, a ramp up to ω at the last frame as Stable Video Diffusion samples
 * (DESIGN.md §5), which keeps the first frame true to the picture. */
#define DEFAULT_OMEGA_FIRST 0.0

typedef struct {
  /* options as given */
  const char    *image_path;
  char          *output;
  char          *frames_dir;
  char          *wav_path;
  char          *report_path;
  char          *model_path;
  int            steps;
  JdGuidanceMode guidance_mode;
  double         omega_video;
  double         omega_video_first;
  double         omega_audio;
  guint64        seed;
  JdDevice       device;
  int            threads;
  /* outputs, resolved */
  char          *mp4_path;
  /* run state */
  JdEngine      *engine;
  JdImage       *image;
  GCancellable  *cancellable;
  gboolean       progress_bar;
  JdResult      *result;
  GError        *error;
  GMainLoop     *loop;
  double         write_s;
} Generate;

static void
generate_clear (Generate *g)
{
  g_free (g->output);
  g_free (g->frames_dir);
  g_free (g->wav_path);
  g_free (g->report_path);
  g_free (g->model_path);
  g_free (g->mp4_path);
  g_clear_pointer (&g->engine, jd_engine_free);
  g_clear_pointer (&g->image, jd_image_free);
  g_clear_object (&g->cancellable);
  g_clear_pointer (&g->result, jd_result_free);
  g_clear_error (&g->error);
  g_clear_pointer (&g->loop, g_main_loop_unref);
}

static gboolean
parse_int (const char *text, int64_t min, int64_t max, int64_t *out)
{
  gint64 value;
  if (text == NULL || !g_ascii_string_to_signed (text, 10, min, max, &value, NULL))
    return FALSE;
  *out = value;
  return TRUE;
}

static gboolean
parse_scale (const char *text, double *out)
{
  char *end = NULL;
  if (text == NULL || *text == '\0')
    return FALSE;
  errno = 0;
  double value = g_ascii_strtod (text, &end);
  if (*end != '\0' || errno != 0 || !isfinite (value) || value < 0 || value > 100)
    return FALSE;
  *out = value;
  return TRUE;
}

/* What an output name asks for. */
typedef enum { OUTPUT_MP4, OUTPUT_WAV, OUTPUT_FOLDER, OUTPUT_UNKNOWN } OutputKind;

static OutputKind
output_kind (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".mp4"))
    return OUTPUT_MP4;
  if (g_str_has_suffix (lower, ".wav"))
    return OUTPUT_WAV;
  if (g_str_has_suffix (path, "/") || g_file_test (path, G_FILE_TEST_IS_DIR))
    return OUTPUT_FOLDER;
  g_autofree char *base = g_path_get_basename (path);
  return strchr (base, '.') == NULL ? OUTPUT_FOLDER : OUTPUT_UNKNOWN;
}

static int
parse_arguments (Generate *g, int argc, char **argv)
{
  char *steps = NULL, *guidance = NULL, *omega = NULL, *omega_first = NULL, *omega_audio = NULL;
  char *seed = NULL;
  char *device = NULL, *threads = NULL;
  char **rest = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &g->output,
      "Write the clip here: OUT.mp4 (video + sound), OUT.wav (sound) or a folder (PNG frames); "
      "default IMAGE-NAME.mp4", "OUT" },
    { "frames", 0, 0, G_OPTION_ARG_FILENAME, &g->frames_dir,
      "Also write the frames as PNG files into this new folder", "DIR" },
    { "wav", 0, 0, G_OPTION_ARG_FILENAME, &g->wav_path, "Also write the sound as WAV", "FILE" },
    { "report", 0, 0, G_OPTION_ARG_FILENAME, &g->report_path,
      "Write the settings, sizes and timings as JSON", "FILE.json" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &g->model_path,
      "Model bundle (default: the built-in model, or $JOINTDIT_MODEL)", "PATH" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps, "Denoising steps (default 25)", "N" },
    { "guidance", 0, 0, G_OPTION_ARG_STRING, &guidance,
      "Guidance mode: none, cfg, joint or joint-star (default joint)", "MODE" },
    { "omega", 0, 0, G_OPTION_ARG_STRING, &omega,
      "Guidance scale ω of the video at its last frame, and of the sound unless --omega-audio "
      "(default 2)", "W" },
    { "omega-first", 0, 0, G_OPTION_ARG_STRING, &omega_first,
      "Guidance scale of the video at its first frame, ramping linearly to --omega at the last "
      "(default 0, as Stable Video Diffusion; give --omega's value for one scale throughout)",
      "W" },
    { "omega-audio", 0, 0, G_OPTION_ARG_STRING, &omega_audio,
      "Guidance scale ω of the sound (default: as --omega)", "W" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Noise seed (default: a random one)", "S" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto, cpu or cuda (default auto)",
      "DEVICE" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads,
      "CPU worker threads (default 0: one per core)", "N" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "IMAGE" },
    { NULL },
  };
  g_set_prgname ("jointdit generate");
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "Animate and sound a still picture: a short video "
                                         "clip with its sound, made by the JointDiT model.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  int status = JD_EXIT_OK;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: %s. " USAGE, error->message);
      goto out;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: needs exactly one picture. " USAGE);
      goto out;
    }
  g->image_path = g_intern_string (rest[0]);

  int64_t value;
  g->steps = JD_DEFAULT_STEPS;
  if (steps != NULL)
    {
      if (!parse_int (steps, 1, 1000, &value))
        {
          status = jd_cli_fail (JD_EXIT_USAGE, "generate: --steps must be a whole number from "
                                               "1 to 1000, not “%s”", steps);
          goto out;
        }
      g->steps = (int) value;
    }
  g->guidance_mode = DEFAULT_GUIDANCE;
  if (guidance != NULL && !jd_guidance_mode_parse (guidance, &g->guidance_mode))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: --guidance must be none, cfg, joint or "
                                           "joint-star, not “%s”", guidance);
      goto out;
    }
  g->omega_video = DEFAULT_OMEGA;
  if (omega != NULL && !parse_scale (omega, &g->omega_video))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: --omega must be a number from 0 to 100, "
                                           "not “%s”", omega);
      goto out;
    }
  g->omega_video_first = DEFAULT_OMEGA_FIRST;
  if (omega_first != NULL && !parse_scale (omega_first, &g->omega_video_first))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: --omega-first must be a number from 0 "
                                           "to 100, not “%s”", omega_first);
      goto out;
    }
  g->omega_audio = g->omega_video;
  if (omega_audio != NULL && !parse_scale (omega_audio, &g->omega_audio))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: --omega-audio must be a number from 0 "
                                           "to 100, not “%s”", omega_audio);
      goto out;
    }
  /* Seeds stay below 2^63 so the report's JSON integer holds them exactly. */
  g->seed = g_random_int ();
  if (seed != NULL)
    {
      if (!parse_int (seed, 0, G_MAXINT64, &value))
        {
          status = jd_cli_fail (JD_EXIT_USAGE, "generate: --seed must be a whole number from 0 "
                                               "to %" G_GINT64_FORMAT ", not “%s”",
                                G_MAXINT64, seed);
          goto out;
        }
      g->seed = (guint64) value;
    }
  g->device = JD_DEVICE_AUTO;
  if (device != NULL && !jd_device_parse (device, &g->device))
    {
      status = jd_cli_fail (JD_EXIT_USAGE, "generate: --device must be auto, cpu or cuda, not "
                                           "“%s”", device);
      goto out;
    }
  if (threads != NULL)
    {
      if (!parse_int (threads, 0, 1024, &value))
        {
          status = jd_cli_fail (JD_EXIT_USAGE, "generate: --threads must be a whole number "
                                               "from 0 (one per core) to 1024, not “%s”",
                                threads);
          goto out;
        }
      g->threads = (int) value;
    }

  if (g->output == NULL && g->frames_dir == NULL && g->wav_path == NULL)
    {
      g_autofree char *base = g_path_get_basename (g->image_path);
      char *dot = strrchr (base, '.');
      if (dot != NULL && dot != base)
        *dot = '\0';
      g->output = g_strconcat (base, ".mp4", NULL);
    }
  if (g->output != NULL)
    switch (output_kind (g->output))
      {
      case OUTPUT_MP4:
        g->mp4_path = g_strdup (g->output);
        break;
      case OUTPUT_WAV:
        if (g->wav_path != NULL)
          {
            status = jd_cli_fail (JD_EXIT_USAGE, "generate: -o %s and --wav both ask for a WAV "
                                                 "file; give one", g->output);
            goto out;
          }
        g->wav_path = g_strdup (g->output);
        break;
      case OUTPUT_FOLDER:
        if (g->frames_dir != NULL)
          {
            status = jd_cli_fail (JD_EXIT_USAGE, "generate: -o %s and --frames both ask for a "
                                                 "frame folder; give one", g->output);
            goto out;
          }
        g->frames_dir = g_strdup (g->output);
        break;
      case OUTPUT_UNKNOWN:
      default:
        status = jd_cli_fail (JD_EXIT_USAGE, "generate: cannot tell what to write to “%s”: "
                                             "name an .mp4 or .wav file or a folder", g->output);
        goto out;
      }

out:
  g_free (steps);
  g_free (guidance);
  g_free (omega);
  g_free (omega_first);
  g_free (omega_audio);
  g_free (seed);
  g_free (device);
  g_free (threads);
  g_strfreev (rest);
  return status;
}

static char *
format_duration (double seconds)
{
  if (!(seconds >= 0) || seconds > 359999)
    return g_strdup ("--:--");
  int s = (int) lround (seconds);
  return s >= 3600 ? g_strdup_printf ("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                   : g_strdup_printf ("%d:%02d", s / 60, s % 60);
}

/* Runs on the worker thread, between steps. */
static void
on_progress (const JdProgress *p, gpointer user_data)
{
  Generate *g = user_data;
  g_autofree char *elapsed = format_duration (p->elapsed_s);
  g_autofree char *eta = format_duration (p->eta_s);
  if (g->progress_bar)
    {
      enum { WIDTH = 30 };
      char bar[WIDTH + 1];
      int filled = p->step * WIDTH / MAX (p->total, 1);
      for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
      bar[WIDTH] = '\0';
      fprintf (stderr, "\r[%s] step %d/%d  %s elapsed  ETA %s ", bar, p->step, p->total,
               elapsed, eta);
      if (p->step == p->total)
        fputc ('\n', stderr);
    }
  else
    fprintf (stderr, "jointdit: step %d/%d, %s elapsed, ETA %s\n", p->step, p->total, elapsed,
             eta);
  fflush (stderr);
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gpointer
generate_thread (gpointer user_data)
{
  Generate *g = user_data;
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  JdGuidanceSnapshot settings = {
    .mode = g->guidance_mode,
    .omega_video_first = g->omega_video_first,
    .omega_video_last = g->omega_video,
    .omega_audio = g->omega_audio,
  };
  if (jd_guidance_set (guidance, &settings, &g->error))
    {
      JdGenerateParams params;
      jd_generate_params_init (&params);
      params.steps = g->steps;
      params.seed = g->seed;
      params.guidance = guidance;
      params.cancellable = g->cancellable;
      params.on_progress = on_progress;
      params.user_data = g;
      jd_engine_generate (g->engine, g->image->pixels, g->image->width, g->image->height,
                          g->image->stride, &params, &g->result, &g->error);
    }
  /* Through an idle source, so the quit cannot come before the loop runs. */
  g_idle_add (quit_loop, g->loop);
  return NULL;
}

static gboolean
on_interrupt (gpointer user_data)
{
  Generate *g = user_data;
  g_cancellable_cancel (g->cancellable);
  return G_SOURCE_CONTINUE;
}

static gboolean
write_outputs (Generate *g, GError **error)
{
  JdResult *r = g->result;
  const JdModelInfo *info = jd_engine_get_info (g->engine);
  gint64 start = g_get_monotonic_time ();
  /* The result's frames as images, without copying. */
  g_autofree JdImage *images = g_new0 (JdImage, r->n_frames);
  g_autofree JdImage **frames = g_new0 (JdImage *, r->n_frames);
  gsize frame_bytes = (gsize) r->width * r->height * 4;
  for (int i = 0; i < r->n_frames; i++)
    {
      images[i] = (JdImage) { r->width, r->height, 4, (gsize) r->width * 4,
                              r->frames + i * frame_bytes };
      frames[i] = &images[i];
    }
  JdAudio audio = { r->sample_rate, 1, r->n_samples, r->pcm };

  if (g->mp4_path != NULL)
    {
      JdMediaSettings settings = {
        .seed = g->seed,
        .steps = g->steps,
        .guidance_mode = jd_guidance_mode_name (g->guidance_mode),
        .omega_video = g->omega_video,
        .omega_video_first = g->omega_video_first,
        .omega_audio = g->omega_audio,
        .model_name = info->name,
        .model_sha256 = jd_engine_get_sha256 (g->engine),
      };
      JdMp4Input input = { .frames = (JdImage *const *) frames, .n_frames = r->n_frames,
                           .audio = &audio, .settings = &settings };
      jd_mp4_fps_fraction (r->fps, &input.fps_num, &input.fps_den);
      if (!jd_mp4_write (g->mp4_path, &input, error))
        return FALSE;
    }
  if (g->wav_path != NULL
      && !jd_wav_write (g->wav_path, r->pcm, r->n_samples, 1, r->sample_rate, error))
    return FALSE;
  if (g->frames_dir != NULL
      && !jd_png_frames_write (g->frames_dir, (JdImage *const *) frames, r->n_frames, error))
    return FALSE;
  g->write_s = (g_get_monotonic_time () - start) / 1e6;
  return TRUE;
}

static void
add_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_double (JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_double_value (b, value);
}

static void
add_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

/* json-glib writes doubles with g_ascii_dtostr, so the report reads the same in every locale. */
static gboolean
write_report (Generate *g, GError **error)
{
  const JdModelInfo *info = jd_engine_get_info (g->engine);
  JdResult *r = g->result;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "image", g->image_path);

  json_builder_set_member_name (b, "settings");
  json_builder_begin_object (b);
  add_string (b, "model", info->path);
  add_string (b, "model_name", info->name);
  add_string (b, "model_sha256", jd_engine_get_sha256 (g->engine));
  add_int (b, "steps", g->steps);
  add_int (b, "seed", (gint64) g->seed);
  add_string (b, "guidance", jd_guidance_mode_name (g->guidance_mode));
  add_double (b, "omega_video", g->omega_video);
  add_double (b, "omega_video_first", g->omega_video_first);
  add_double (b, "omega_audio", g->omega_audio);
  add_string (b, "device", jd_device_name (g->device));
  add_string (b, "backend", info->backend);
  add_int (b, "threads", info->threads);
  json_builder_end_object (b);

  add_double (b, "fps", r->fps);
  add_int (b, "frames", r->n_frames);
  add_int (b, "width", r->width);
  add_int (b, "height", r->height);
  add_int (b, "sample_rate", r->sample_rate);
  add_int (b, "samples", (gint64) r->n_samples);
  add_double (b, "video_seconds", r->n_frames / r->fps);
  add_double (b, "audio_seconds", (double) r->n_samples / r->sample_rate);

  json_builder_set_member_name (b, "outputs");
  json_builder_begin_object (b);
  add_string (b, "mp4", g->mp4_path);
  add_string (b, "wav", g->wav_path);
  add_string (b, "frames", g->frames_dir);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "timings_s");
  json_builder_begin_object (b);
  add_double (b, "load", r->load_s);
  add_double (b, "condition", r->condition_s);
  add_double (b, "sampling", r->sampling_s);
  add_double (b, "sampling_per_step", r->sampling_s / g->steps);
  add_double (b, "decode", r->decode_s);
  add_double (b, "write", g->write_s);
  json_builder_end_object (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  g_autofree char *with_newline = g_strconcat (text, "\n", NULL);
  /* g_file_set_contents writes a temporary file and renames it. */
  return g_file_set_contents (g->report_path, with_newline, -1, error);
}

int
jd_cli_generate (int argc, char **argv)
{
  Generate g = { 0 };
  g_autoptr (GError) error = NULL;  /* before the first goto: cleanup must see it set */
  int status = parse_arguments (&g, argc, argv);
  if (status != JD_EXIT_OK)
    goto out;

  const char *model = g.model_path ? g.model_path : jd_data_default_model_path ();
  g.engine = jd_engine_open (model, g.device, g.threads, &error);
  if (g.engine == NULL)
    {
      status = jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
      goto out;
    }
  const JdModelInfo *info = jd_engine_get_info (g.engine);
  g.image = jd_image_load (g.image_path, info->width, info->height, &error);
  if (g.image == NULL)
    {
      status = jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
      goto out;
    }

  g.progress_bar = isatty (STDERR_FILENO);
  if (g.progress_bar)
    fprintf (stderr, "jointdit: %s makes %d frames of %d×%d at %g fps and %.2f s of sound; "
             "%d steps on %s with %d threads, seed %" G_GUINT64_FORMAT "\n", info->name,
             info->frames, info->width, info->height, info->fps, info->audio_seconds, g.steps,
             info->backend, info->threads, g.seed);
  g.cancellable = g_cancellable_new ();
  g.loop = g_main_loop_new (NULL, FALSE);
  guint sigint = g_unix_signal_add (SIGINT, on_interrupt, &g);
  guint sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &g);
  GThread *worker = g_thread_new ("jointdit-generate", generate_thread, &g);
  g_main_loop_run (g.loop);
  g_thread_join (worker);
  g_source_remove (sigint);
  g_source_remove (sigterm);

  if (g.result == NULL)
    {
      if (g_error_matches (g.error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        status = jd_cli_fail (JD_EXIT_FAILURE, "stopped before the clip was finished; nothing "
                                               "was written");
      else
        status = jd_cli_fail (JD_EXIT_FAILURE, "%s", g.error ? g.error->message
                                                             : "generation failed");
      goto out;
    }
  if (!write_outputs (&g, &error) || (g.report_path != NULL && !write_report (&g, &error)))
    {
      status = jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
      goto out;
    }

out:
  generate_clear (&g);
  return status;
}
