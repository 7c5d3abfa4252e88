/* `jointdit generate` as a user runs it, on the parity bundle: MP4, WAV, PNG frames and the
 * report; with ffprobe (when installed) the MP4's streams, durations and metadata; bad pictures
 * (exit 1, one message naming the file, nothing written) and usage errors (exit 2).
 *
 * Arguments: the built `jointdit` program. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "jd-wav.h"

static char *jointdit;

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static char *
parity_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "reference", "parity.safetensors",
                                NULL);
}

static char *
picture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "media", "fixtures", name, NULL);
}

/* Runs argv (NULL-terminated, program first) in folder. */
static void
run_in_env (Run *run, const char *folder, const char *const *argv, char **envp)
{
  g_autoptr (GError) error = NULL;
  g_spawn_sync (folder, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &run->out, &run->err,
                &run->status, &error);
  g_assert_no_error (error);
  run->status = WIFEXITED (run->status) ? WEXITSTATUS (run->status) : -1;
}

static void
run_in (Run *run, const char *folder, const char *const *argv)
{
  run_in_env (run, folder, argv, NULL);
}

/* `jointdit generate --model PARITY --steps 2 ARGS…` in folder. */
static void
generate_in (Run *run, const char *folder, ...)
{
  g_autofree char *model = parity_path ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) jointdit);
  g_ptr_array_add (argv, "generate");
  g_ptr_array_add (argv, "--model");
  g_ptr_array_add (argv, model);
  g_ptr_array_add (argv, "--steps");
  g_ptr_array_add (argv, "2");
  g_ptr_array_add (argv, "--threads");
  g_ptr_array_add (argv, "2");
  va_list args;
  va_start (args, folder);
  for (const char *arg = va_arg (args, const char *); arg; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  run_in (run, folder, (const char *const *) argv->pdata);
  g_test_message ("exit %d, stderr: %s", run->status, run->err);
}

static guint
count_entries (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static char *
make_folder (void)
{
  g_autoptr (GError) error = NULL;
  char *folder = g_dir_make_tmp ("jd-generate-XXXXXX", &error);
  g_assert_no_error (error);
  return folder;
}

static JsonObject *
read_json (const char *path, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* ffprobe's JSON for path, or NULL when ffprobe is not installed. */
static JsonObject *
probe (const char *path, JsonParser *parser)
{
  g_autofree char *ffprobe = g_find_program_in_path ("ffprobe");
  if (ffprobe == NULL)
    return NULL;
  const char *argv[] = { ffprobe, "-v", "error", "-print_format", "json", "-show_streams",
                         "-show_format", path, NULL };
  Run run;
  run_in (&run, NULL, argv);
  g_assert_cmpint (run.status, ==, 0);
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, run.out, -1, &error);
  g_assert_no_error (error);
  run_clear (&run);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_all_outputs (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *picture = picture_path ("progressive.jpg");
  Run run;
  generate_in (&run, folder, picture, "-o", "clip.mp4", "--wav", "sound.wav", "--frames",
               "frames", "--report", "report.json", "--seed", "7", "--guidance", "cfg",
               "--omega", "1.5", "--omega-audio", "0.5", NULL);
  g_assert_cmpint (run.status, ==, 0);
  /* Not a terminal: one line per step, no progress bar. */
  g_assert_nonnull (strstr (run.err, "step 1/2"));
  g_assert_nonnull (strstr (run.err, "step 2/2"));
  g_assert_null (strchr (run.err, '\r'));
  run_clear (&run);

  g_autofree char *mp4 = g_build_filename (folder, "clip.mp4", NULL);
  g_autofree char *wav = g_build_filename (folder, "sound.wav", NULL);
  g_autofree char *frames = g_build_filename (folder, "frames", NULL);
  g_autofree char *report = g_build_filename (folder, "report.json", NULL);
  g_assert_true (g_file_test (mp4, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_entries (frames), ==, 5);
  g_autofree char *last = g_build_filename (frames, "00004.png", NULL);
  g_assert_true (g_file_test (last, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_entries (folder), ==, 4);  /* no temporary file left over */

  g_autoptr (GError) error = NULL;
  g_autoptr (JdAudio) audio = jd_wav_read (wav, &error);
  g_assert_no_error (error);
  g_assert_cmpint (audio->sample_rate, ==, 16000);
  g_assert_cmpint (audio->channels, ==, 1);
  g_assert_cmpuint (audio->n_frames, ==, 40 * 160);

  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = read_json (report, parser);
  g_assert_cmpint (json_object_get_int_member (root, "frames"), ==, 5);
  g_assert_cmpfloat (json_object_get_double_member (root, "fps"), ==, 12.5);
  g_assert_cmpint (json_object_get_int_member (root, "sample_rate"), ==, 16000);
  g_assert_cmpint (json_object_get_int_member (root, "samples"), ==, 40 * 160);
  g_assert_cmpint (json_object_get_int_member (root, "width"), ==, 16);
  JsonObject *settings = json_object_get_object_member (root, "settings");
  g_assert_cmpint (json_object_get_int_member (settings, "seed"), ==, 7);
  g_assert_cmpint (json_object_get_int_member (settings, "steps"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (settings, "guidance"), ==, "cfg");
  g_assert_cmpfloat (json_object_get_double_member (settings, "omega_video"), ==, 1.5);
  g_assert_cmpfloat (json_object_get_double_member (settings, "omega_audio"), ==, 0.5);
  /* By default ω_v ramps from 0 at the first frame (SVD's sampling). */
  g_assert_cmpfloat (json_object_get_double_member (settings, "omega_video_first"), ==, 0.0);
  g_assert_cmpstr (json_object_get_string_member (settings, "model_name"), ==, "parity");
  const char *sha256 = json_object_get_string_member (settings, "model_sha256");
  g_assert_cmpuint (strlen (sha256), ==, 64);
  JsonObject *timings = json_object_get_object_member (root, "timings_s");
  for (const char *const *key = (const char *const[]) { "load", "condition", "sampling",
                                                        "decode", "write", NULL };
       *key; key++)
    g_assert_cmpfloat (json_object_get_double_member (timings, *key), >=, 0);

  g_autoptr (JsonParser) probe_parser = json_parser_new ();
  JsonObject *info = probe (mp4, probe_parser);
  if (info == NULL)
    g_test_message ("ffprobe not installed: MP4 streams not inspected");
  else
    {
      JsonArray *streams = json_object_get_array_member (info, "streams");
      g_assert_cmpuint (json_array_get_length (streams), ==, 2);
      double duration[2];
      for (guint i = 0; i < 2; i++)
        {
          JsonObject *stream = json_array_get_object_element (streams, i);
          const char *codec = json_object_get_string_member (stream, "codec_name");
          const char *kind = json_object_get_string_member (stream, "codec_type");
          g_assert_cmpstr (codec, ==, strcmp (kind, "video") == 0 ? "h264" : "aac");
          duration[i] = g_ascii_strtod (json_object_get_string_member (stream, "duration"),
                                        NULL);
        }
      /* 5 frames at 12.5 fps; the sound padded to the same length (AAC frames: 1024). */
      g_assert_cmpfloat_with_epsilon (duration[0], 0.4, 1e-6);
      g_assert_cmpfloat_with_epsilon (duration[1], duration[0], 1024 / 16000.0);
      JsonObject *tags = json_object_get_object_member (
        json_object_get_object_member (info, "format"), "tags");
      g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_seed"), ==, "7");
      g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_steps"), ==, "2");
      g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_guidance"), ==, "cfg");
      g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_video"), ==, "1.5");
      g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_video_first"), ==,
                       "0");
      g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_model_sha256"), ==,
                       sha256);
    }
  remove_tree (folder);
}

/* -o picks the output by its name: a folder gets PNG frames, .wav the sound; the same seed
 * gives the same sound. */
static void
test_output_kinds (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *picture = picture_path ("grey.png");
  Run run;
  generate_in (&run, folder, picture, "-o", "pngs", "--seed", "3", NULL);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  g_autofree char *pngs = g_build_filename (folder, "pngs", NULL);
  g_assert_cmpuint (count_entries (pngs), ==, 5);

  generate_in (&run, folder, picture, "-o", "a.wav", "--seed", "3", NULL);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  generate_in (&run, folder, picture, "-o", "b.wav", "--seed", "3", NULL);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  generate_in (&run, folder, picture, "-o", "c.wav", "--seed", "4", NULL);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  g_autofree char *a = NULL, *b = NULL, *c = NULL;
  gsize na, nb, nc;
  g_autofree char *pa = g_build_filename (folder, "a.wav", NULL);
  g_autofree char *pb = g_build_filename (folder, "b.wav", NULL);
  g_autofree char *pc = g_build_filename (folder, "c.wav", NULL);
  g_assert_true (g_file_get_contents (pa, &a, &na, NULL));
  g_assert_true (g_file_get_contents (pb, &b, &nb, NULL));
  g_assert_true (g_file_get_contents (pc, &c, &nc, NULL));
  g_assert_cmpmem (a, na, b, nb);
  g_assert_cmpuint (na, ==, nc);
  g_assert_cmpint (memcmp (a, c, na), !=, 0);
  g_assert_cmpuint (count_entries (folder), ==, 4);

  /* Without -o: IMAGE-NAME.mp4 in the current folder. */
  generate_in (&run, folder, picture, "--seed", "3", NULL);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  g_autofree char *default_mp4 = g_build_filename (folder, "grey.mp4", NULL);
  g_assert_true (g_file_test (default_mp4, G_FILE_TEST_IS_REGULAR));
  remove_tree (folder);
}

/* --omega-first sets ω_v of the first frame, from which it ramps to --omega: the default ramp
 * (from 0) and one scale throughout (--omega-first = --omega) make different clips, and the
 * report says which was used. */
static void
test_omega_ramp (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *picture = picture_path ("progressive.jpg");
  const char *const names[2] = { "ramp", "flat" };
  char *frame[2] = { NULL, NULL };   /* g_autofree would free only the first element */
  gsize size[2];
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *report = g_strdup_printf ("%s.json", names[i]);
      Run run;
      if (i == 0)
        generate_in (&run, folder, picture, "-o", names[i], "--report", report, "--seed", "5",
                     "--guidance", "cfg", "--omega", "3", NULL);
      else
        generate_in (&run, folder, picture, "-o", names[i], "--report", report, "--seed", "5",
                     "--guidance", "cfg", "--omega", "3", "--omega-first", "3", NULL);
      g_assert_cmpint (run.status, ==, 0);
      run_clear (&run);
      g_autofree char *report_path = g_build_filename (folder, report, NULL);
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *settings = json_object_get_object_member (read_json (report_path, parser),
                                                            "settings");
      g_assert_cmpfloat (json_object_get_double_member (settings, "omega_video_first"), ==,
                         i == 0 ? 0.0 : 3.0);
      g_assert_cmpfloat (json_object_get_double_member (settings, "omega_video"), ==, 3.0);
      g_autofree char *last = g_build_filename (folder, names[i], "00004.png", NULL);
      g_assert_true (g_file_get_contents (last, &frame[i], &size[i], NULL));
    }
  g_assert_true (size[0] != size[1] || memcmp (frame[0], frame[1], size[0]) != 0);
  g_free (frame[0]);
  g_free (frame[1]);
  remove_tree (folder);
}

/* Without --model: $JOINTDIT_MODEL (the built-in model's stand-in), or a clear failure. */
static void
test_default_model (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *picture = picture_path ("grey.png");
  g_autofree char *model = parity_path ();
  const char *argv[] = { jointdit, "generate", "--steps", "1", "-o", "x.wav", picture, NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "JOINTDIT_MODEL", model, TRUE);
  Run run;
  run_in_env (&run, folder, argv, envp);
  g_assert_cmpint (run.status, ==, 0);
  run_clear (&run);
  g_autofree char *wav = g_build_filename (folder, "x.wav", NULL);
  g_assert_true (g_file_test (wav, G_FILE_TEST_IS_REGULAR));
  g_unlink (wav);

  g_autofree char *nowhere = g_build_filename (folder, "no-model.safetensors", NULL);
  envp = g_environ_setenv (envp, "JOINTDIT_MODEL", nowhere, TRUE);
  run_in_env (&run, folder, argv, envp);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "no-model.safetensors"));
  run_clear (&run);
  g_assert_cmpuint (count_entries (folder), ==, 0);
  remove_tree (folder);
}

/* Every picture format the media library reads (tests/media/fixtures: CMYK and progressive
 * JPEG, grey, grey+alpha, 16-bit and interlaced PNG, an animated GIF's first frame) goes through
 * the whole pipeline to a WAV and a folder of frames. */
static void
test_picture_formats (void)
{
  const char *const names[] = { "cmyk.jpg", "progressive.jpg", "grey.png", "grey-alpha.png",
                                "grey16.png", "rgba16.png", "interlaced.png", "two-frames.gif" };
  g_autofree char *folder = make_folder ();
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *picture = picture_path (names[i]);
      g_autofree char *wav = g_strdup_printf ("%zu.wav", i);
      g_autofree char *frames = g_strdup_printf ("%zu-frames", i);
      Run run;
      generate_in (&run, folder, picture, "-o", wav, "--frames", frames, NULL);
      if (run.status != 0)
        g_error ("%s: exit %d: %s", names[i], run.status, run.err);
      run_clear (&run);
      g_autofree char *frames_path = g_build_filename (folder, frames, NULL);
      g_assert_cmpuint (count_entries (frames_path), ==, 5);
    }
  g_assert_cmpuint (count_entries (folder), ==, 2 * G_N_ELEMENTS (names));
  remove_tree (folder);
}

static void
test_bad_pictures (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *garbage = g_build_filename (folder, "garbage.png", NULL);
  g_autofree char *empty = g_build_filename (folder, "empty.jpg", NULL);
  g_assert_true (g_file_set_contents (garbage, "this is not a picture", -1, NULL));
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_autofree char *huge = picture_path ("huge.png");
  g_autofree char *missing = g_build_filename (folder, "missing.png", NULL);
  const char *const pictures[] = { garbage, empty, huge, missing };
  for (gsize i = 0; i < G_N_ELEMENTS (pictures); i++)
    {
      Run run;
      generate_in (&run, folder, pictures[i], "-o", "clip.mp4", "--wav", "s.wav", "--frames",
                   "f", "--report", "r.json", NULL);
      g_assert_cmpint (run.status, ==, 1);
      g_autofree char *base = g_path_get_basename (pictures[i]);
      g_assert_nonnull (strstr (run.err, base));
      /* One message, one line. */
      g_assert_nonnull (g_str_has_prefix (run.err, "jointdit: ") ? run.err : NULL);
      g_assert_true (strchr (run.err, '\n') == run.err + strlen (run.err) - 1);
      g_assert_cmpuint (count_entries (folder), ==, 2);  /* garbage.png, empty.jpg */
      run_clear (&run);
    }
  remove_tree (folder);
}

/* Ctrl-C during sampling stops the run: exit 1, a message, and no output file. */
static void
test_interrupt (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *picture = picture_path ("grey.png");
  g_autofree char *model = parity_path ();
  const char *argv[] = { jointdit, "generate", "--model", model, "--steps", "1000", "--threads",
                         "1", "-o", "clip.mp4", "--report", "r.json", picture, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int err_fd;
  g_assert_true (g_spawn_async_with_pipes (folder, (char **) argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                           NULL, &err_fd, &error));
  g_assert_no_error (error);
  FILE *err = fdopen (err_fd, "r");
  char line[512];
  gboolean interrupted = FALSE;
  g_autoptr (GString) rest = g_string_new (NULL);
  while (fgets (line, sizeof line, err) != NULL)
    {
      if (!interrupted && strstr (line, "step 2/1000") != NULL)
        {
          kill (pid, SIGINT);
          interrupted = TRUE;
        }
      else if (interrupted)
        g_string_append (rest, line);
    }
  fclose (err);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (interrupted);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (rest->str, "stopped before the clip was finished"));
  g_assert_null (strstr (rest->str, "step 1000/1000"));
  g_assert_cmpuint (count_entries (folder), ==, 0);
  remove_tree (folder);
}

static void
test_usage_errors (void)
{
  g_autofree char *folder = make_folder ();
  g_autofree char *picture = picture_path ("grey.png");
  static const char *const cases[][3] = {
    { "--steps", "0", "--steps" },
    { "--steps", "many", "--steps" },
    { "--guidance", "strong", "--guidance" },
    { "--omega", "-1", "--omega" },
    { "--omega-audio", "nan", "--omega-audio" },
    { "--omega-first", "-2", "--omega-first" },
    { "--seed", "-5", "--seed" },
    { "--device", "tpu", "--device" },
    { "--threads", "x", "--threads" },
    { "-o", "clip.mkv", "clip.mkv" },
    { "--unknown", "1", "--unknown" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Run run;
      generate_in (&run, folder, picture, cases[i][0], cases[i][1], NULL);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_nonnull (strstr (run.err, cases[i][2]));
      run_clear (&run);
    }
  Run run;
  generate_in (&run, folder, NULL);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "one picture"));
  run_clear (&run);
  generate_in (&run, folder, picture, picture, NULL);
  g_assert_cmpint (run.status, ==, 2);
  run_clear (&run);

  /* A runtime failure, not a usage error: this build has no CUDA. */
  generate_in (&run, folder, picture, "--device", "cuda", NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "CUDA"));
  run_clear (&run);

  g_assert_cmpuint (count_entries (folder), ==, 0);
  remove_tree (folder);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    g_error ("usage: test-generate-cli JOINTDIT");
  /* Absolute: the program runs in temporary folders. */
  jointdit = g_canonicalize_filename (argv[1], NULL);
  g_test_add_func ("/generate-cli/all-outputs", test_all_outputs);
  g_test_add_func ("/generate-cli/output-kinds", test_output_kinds);
  g_test_add_func ("/generate-cli/omega-ramp", test_omega_ramp);
  g_test_add_func ("/generate-cli/default-model", test_default_model);
  g_test_add_func ("/generate-cli/picture-formats", test_picture_formats);
  g_test_add_func ("/generate-cli/bad-pictures", test_bad_pictures);
  g_test_add_func ("/generate-cli/interrupt", test_interrupt);
  g_test_add_func ("/generate-cli/usage-errors", test_usage_errors);
  return g_test_run ();
}
