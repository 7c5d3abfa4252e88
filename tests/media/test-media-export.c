/* Export of a generated clip: the format follows the destination, the MP4 carries H.264 + AAC
 * with the settings (ffprobe), the WAV and the PNG frames read back as written, and failures
 * (missing folder, read-only place, full disk, file size limit) leave nothing and say what to do. */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "jd-export.h"
#include "jd-media-error.h"
#include "media-test-probe.h"
#include "media-test-util.h"

static char *scratch;

#define N_FRAMES    8
#define SIDE        64
#define FPS         12.5
#define SAMPLE_RATE 16000

/* A clip like the engine's: N_FRAMES opaque RGBA frames with a moving bright square, and
 * N_FRAMES / FPS seconds of a 440 Hz tone. */
static JdResult *
make_result (void)
{
  JdResult *r = g_new0 (JdResult, 1);
  r->n_frames = N_FRAMES;
  r->width = SIDE;
  r->height = SIDE;
  r->fps = FPS;
  r->frames = g_malloc ((gsize) N_FRAMES * SIDE * SIDE * 4);
  for (int f = 0; f < N_FRAMES; f++)
    for (int y = 0; y < SIDE; y++)
      for (int x = 0; x < SIDE; x++)
        {
          guint8 *p = r->frames + (((gsize) f * SIDE + y) * SIDE + x) * 4;
          gboolean square = x >= 4 * f && x < 4 * f + 16 && y >= 20 && y < 36;
          p[0] = square ? 250 : (guint8) (x * 3);
          p[1] = square ? 240 : (guint8) (y * 2 + f);
          /* Noise in blue, so no frame compresses below a few kilobytes. */
          guint32 h = (guint32) ((f * SIDE + y) * SIDE + x) * 2654435761u;
          h ^= h >> 15;
          h *= 2246822519u;
          h ^= h >> 13;
          p[2] = (guint8) (h >> 24);
          p[3] = 255;
        }
  r->sample_rate = SAMPLE_RATE;
  r->n_samples = (gsize) (N_FRAMES / FPS * SAMPLE_RATE);
  r->pcm = g_new (float, r->n_samples);
  for (gsize i = 0; i < r->n_samples; i++)
    r->pcm[i] = 0.5f * (float) sin (2 * G_PI * 440.0 * (double) i / SAMPLE_RATE);
  return r;
}

static const JdMediaSettings settings = {
  .seed = 1234567,
  .steps = 12,
  .guidance_mode = "joint-star",
  .omega_video = 1.5,
  .omega_audio = 0.75,
  .model_name = "jointdit-test",
  .model_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
};

static char *
fresh_folder (const char *name)
{
  char *path = g_build_filename (scratch, name, NULL);
  media_test_rmtree (path);
  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  return path;
}

static void
test_format_follows_destination (void)
{
  g_autofree char *folder = fresh_folder ("formats");
  struct { const char *path; JdExportFormat format; } cases[] = {
    { "clip.mp4", JD_EXPORT_MP4 },
    { "CLIP.MP4", JD_EXPORT_MP4 },
    { "clip.m4v", JD_EXPORT_MP4 },
    { "sound.wav", JD_EXPORT_WAV },
    { "Sound.Wav", JD_EXPORT_WAV },
    { "frames", JD_EXPORT_PNG_FRAMES },
    { "frames/", JD_EXPORT_PNG_FRAMES },
    { ".hidden", JD_EXPORT_PNG_FRAMES },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (folder, cases[i].path, NULL);
      JdExportFormat format = -1;
      g_autoptr (GError) error = NULL;
      g_assert_true (jd_export_format_for_path (path, &format, &error));
      g_assert_no_error (error);
      g_assert_cmpint (format, ==, cases[i].format);
    }
  /* An existing folder means frames even with a dot in its name. */
  g_autofree char *dotted = g_build_filename (folder, "take.2.mp4", NULL);
  g_assert_cmpint (g_mkdir (dotted, 0755), ==, 0);
  JdExportFormat format = -1;
  g_assert_true (jd_export_format_for_path (dotted, &format, NULL));
  g_assert_cmpint (format, ==, JD_EXPORT_PNG_FRAMES);

  g_autoptr (GError) error = NULL;
  g_autofree char *avi = g_build_filename (folder, "clip.avi", NULL);
  g_assert_false (jd_export_format_for_path (avi, &format, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_UNSUPPORTED, "clip.avi");
  g_assert_nonnull (strstr (error->message, ".mp4"));
  g_assert_nonnull (strstr (error->message, ".wav"));
  g_clear_error (&error);
  g_assert_false (jd_export_format_for_path ("", &format, &error));
  g_assert_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT);
}

static void
test_suggested_names (void)
{
  struct { const char *image; guint64 seed; JdExportFormat format; const char *name; } cases[] = {
    { "/home/ada/Pictures/cat.png", 42, JD_EXPORT_MP4, "cat-seed-42.mp4" },
    { "cat.jpeg", 42, JD_EXPORT_WAV, "cat-seed-42.wav" },
    { "/tmp/cat.png", 42, JD_EXPORT_PNG_FRAMES, "cat-seed-42" },
    { "archive.tar.gz", 7, JD_EXPORT_MP4, "archive.tar-seed-7.mp4" },
    { ".hidden", 1, JD_EXPORT_MP4, ".hidden-seed-1.mp4" },
    { "no-extension", 0, JD_EXPORT_WAV, "no-extension-seed-0.wav" },
    { "line\nbreak.png", 3, JD_EXPORT_MP4, "line_break-seed-3.mp4" },
    { NULL, G_MAXUINT64, JD_EXPORT_MP4, "jointdit-seed-18446744073709551615.mp4" },
    { "", 5, JD_EXPORT_PNG_FRAMES, "jointdit-seed-5" },
    { "/", 5, JD_EXPORT_WAV, "jointdit-seed-5.wav" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = jd_export_suggest_name (cases[i].image, cases[i].seed,
                                                      cases[i].format);
      g_assert_cmpstr (name, ==, cases[i].name);
    }
}

static void
test_mp4 (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("mp4");
  g_autofree char *path = g_build_filename (folder, "cat-seed-1234567.mp4", NULL);
  g_autoptr (GError) error = NULL;
  JdExportFormat format = -1;
  g_assert_true (jd_export_result (result, &settings, path, &format, &error));
  g_assert_no_error (error);
  g_assert_cmpint (format, ==, JD_EXPORT_MP4);
  g_autofree char *listing = media_test_listing (folder);
  g_assert_cmpstr (listing, ==, "cat-seed-1234567.mp4");

  g_autoptr (JsonNode) root = media_test_probe (path, FALSE);
  if (root == NULL)
    return;
  double seconds = N_FRAMES / FPS;
  JsonObject *video = media_test_probe_stream (root, "video");
  g_assert_nonnull (video);
  const char *codec = g_strcmp0 (jd_mp4_video_encoder_name (), "libx264") == 0 ? "h264" : "mpeg4";
  g_assert_cmpstr (json_object_get_string_member (video, "codec_name"), ==, codec);
  g_assert_cmpint (json_object_get_int_member (video, "width"), ==, SIDE);
  g_assert_cmpint (json_object_get_int_member (video, "height"), ==, SIDE);
  g_assert_cmpfloat (media_test_probe_number (video, "nb_frames"), ==, N_FRAMES);
  g_assert_cmpfloat (fabs (media_test_probe_number (video, "duration") - seconds), <=, 1.0 / FPS);
  g_assert_cmpstr (json_object_get_string_member (video, "avg_frame_rate"), ==, "25/2");
  JsonObject *audio = media_test_probe_stream (root, "audio");
  g_assert_nonnull (audio);
  g_assert_cmpstr (json_object_get_string_member (audio, "codec_name"), ==, "aac");
  g_assert_cmpfloat (media_test_probe_number (audio, "sample_rate"), ==, SAMPLE_RATE);
  g_assert_cmpint (json_object_get_int_member (audio, "channels"), ==, 1);
  g_assert_cmpfloat (fabs (media_test_probe_number (audio, "duration") - seconds), <=,
                     1024.0 / SAMPLE_RATE + 1e-6);

  JsonObject *format_object = json_object_get_object_member (json_node_get_object (root), "format");
  g_assert_cmpfloat (fabs (media_test_probe_number (format_object, "duration") - seconds), <=,
                     1024.0 / SAMPLE_RATE + 1e-6);
  JsonObject *tags = json_object_get_object_member (format_object, "tags");
  g_assert_nonnull (tags);
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_seed"), ==, "1234567");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_steps"), ==, "12");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_guidance"), ==, "joint-star");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_video"), ==, "1.5");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_audio"), ==, "0.75");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_model"), ==, "jointdit-test");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_model_sha256"), ==,
                   settings.model_sha256);
}

static void
test_wav_reads_back (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("wav");
  g_autofree char *path = g_build_filename (folder, "tone.WAV", NULL);
  g_autoptr (GError) error = NULL;
  JdExportFormat format = -1;
  g_assert_true (jd_export_result (result, &settings, path, &format, &error));
  g_assert_no_error (error);
  g_assert_cmpint (format, ==, JD_EXPORT_WAV);

  g_autoptr (JdAudio) audio = jd_wav_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (audio->sample_rate, ==, SAMPLE_RATE);
  g_assert_cmpint (audio->channels, ==, 1);
  g_assert_cmpuint (audio->n_frames, ==, result->n_samples);
  float worst = 0;
  for (gsize i = 0; i < audio->n_frames; i++)
    worst = MAX (worst, fabsf (audio->samples[i] - result->pcm[i]));
  g_assert_cmpfloat (worst, <=, 1.0f / 32768);
}

static void
test_png_frames_read_back (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("png");
  /* A new folder named with a trailing slash. */
  g_autofree char *target = g_build_filename (folder, "cat-seed-9", NULL);
  g_autofree char *with_slash = g_strconcat (target, "/", NULL);
  g_autoptr (GError) error = NULL;
  JdExportFormat format = -1;
  g_assert_true (jd_export_result (result, NULL, with_slash, &format, &error));
  g_assert_no_error (error);
  g_assert_cmpint (format, ==, JD_EXPORT_PNG_FRAMES);
  g_autofree char *listing = media_test_listing (target);
  g_assert_cmpstr (listing, ==, "00000.png 00001.png 00002.png 00003.png 00004.png 00005.png "
                                "00006.png 00007.png");
  for (int f = 0; f < N_FRAMES; f++)
    {
      g_autofree char *name = g_strdup_printf ("%05d.png", f);
      g_autofree char *path = g_build_filename (target, name, NULL);
      g_autoptr (JdImage) image = jd_image_load (path, 0, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (image->width, ==, SIDE);
      g_assert_cmpint (image->height, ==, SIDE);
      for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
          {
            const guint8 *got = media_test_pixel (image, x, y);
            const guint8 *want = result->frames + (((gsize) f * SIDE + y) * SIDE + x) * 4;
            if (memcmp (got, want, 3) != 0)
              g_error ("frame %d pixel (%d, %d): %u %u %u, wrote %u %u %u", f, x, y,
                       got[0], got[1], got[2], want[0], want[1], want[2]);
          }
    }

  /* An existing empty folder takes frames too; one holding files is refused and kept as is. */
  g_autofree char *empty = g_build_filename (folder, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_true (jd_export_result (result, NULL, empty, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (jd_export_result (result, NULL, target, NULL, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "cat-seed-9");
  g_autofree char *unchanged = media_test_listing (target);
  g_assert_cmpstr (unchanged, ==, listing);
}

static void
assert_failure_says (const GError *error, const char *name, const char *advice)
{
  g_assert_nonnull (error);
  g_test_message ("message: %s", error->message);
  g_assert_true (error->domain == JD_MEDIA_ERROR);
  g_assert_nonnull (strstr (error->message, name));
  g_assert_nonnull (strstr (error->message, advice));
}

static void
test_missing_folder_and_bad_input (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("missing");
  g_autoptr (GError) error = NULL;
  const char *names[] = { "clip.mp4", "clip.wav", "frames" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (folder, "not-here", names[i], NULL);
      g_assert_false (jd_export_result (result, &settings, path, NULL, &error));
      assert_failure_says (error, names[i], "does not exist: choose another place");
      g_clear_error (&error);
    }
  g_autofree char *listing = media_test_listing (folder);
  g_assert_cmpstr (listing, ==, "");

  /* A clip without sound cannot become a WAV; one without frames cannot become a video. */
  g_autofree char *wav = g_build_filename (folder, "silent.wav", NULL);
  JdResult no_sound = *result;
  no_sound.n_samples = 0;
  no_sound.pcm = NULL;
  g_assert_false (jd_export_result (&no_sound, NULL, wav, NULL, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "silent.wav");
  g_clear_error (&error);
  g_autofree char *mp4 = g_build_filename (folder, "blank.mp4", NULL);
  JdResult no_frames = *result;
  no_frames.n_frames = 0;
  g_assert_false (jd_export_result (&no_frames, NULL, mp4, NULL, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "blank.mp4");
  g_clear_error (&error);
  /* A video without sound is still a video. */
  g_assert_true (jd_export_result (&no_sound, NULL, mp4, NULL, &error));
  g_assert_no_error (error);
}

/* A mount namespace of our own (root only), so tmpfs mounts vanish with the process. */
static gboolean
own_mount_namespace (void)
{
  static int state = -1;
  if (state < 0)
    state = unshare (CLONE_NEWNS) == 0
            && mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
  return state;
}

static void
export_all_three_must_fail (const JdResult *result, const char *folder, const char *advice,
                            const char *listing_before)
{
  const char *names[] = { "clip.mp4", "clip.wav", "frames" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *path = g_build_filename (folder, names[i], NULL);
      g_assert_false (jd_export_result (result, &settings, path, NULL, &error));
      assert_failure_says (error, names[i], advice);
      g_autofree char *listing = media_test_listing (folder);
      g_assert_cmpstr (listing, ==, listing_before);
    }
}

static void
test_read_only_place (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("read-only");
  gboolean mounted = FALSE;
  g_assert_cmpint (g_chmod (folder, 0555), ==, 0);
  if (access (folder, W_OK) == 0)
    {
      /* Root ignores permissions: a read-only tmpfs is the read-only place instead. */
      if (!own_mount_namespace ()
          || mount ("tmpfs", folder, "tmpfs", MS_RDONLY, "size=64k") != 0)
        {
          g_test_skip ("running as root without the right to mount a read-only tmpfs");
          return;
        }
      mounted = TRUE;
    }
  export_all_three_must_fail (result, folder, "choose another place", "");
  if (mounted)
    g_assert_cmpint (umount (folder), ==, 0);
  g_chmod (folder, 0755);
}

static void
test_full_disk (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("full");
  if (!own_mount_namespace () || mount ("tmpfs", folder, "tmpfs", 0, "size=64k") != 0)
    {
      g_test_skip ("a tiny tmpfs needs root (the file-size-limit test covers writes that fail)");
      return;
    }
  /* Fill it: new (empty) files can still be made, but nothing can be written into them. */
  g_autofree char *filler = g_build_filename (folder, "filler", NULL);
  FILE *f = fopen (filler, "wb");
  g_assert_nonnull (f);
  static const char block[4096];
  while (fwrite (block, 1, sizeof block, f) == sizeof block)
    ;
  fclose (f);
  export_all_three_must_fail (result, folder, "The disk is full: free some space", "filler");
  g_assert_cmpint (umount (folder), ==, 0);
}

static void
test_file_size_limit (void)
{
  g_autoptr (JdResult) result = make_result ();
  g_autofree char *folder = fresh_folder ("limited");
  struct rlimit old_limit, limit;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  /* Writes past the limit fail with EFBIG instead of killing the process. */
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  limit = old_limit;
  limit.rlim_cur = 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  export_all_three_must_fail (result, folder, "choose another place", "");
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  signal (SIGXFSZ, old_handler);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Before any thread exists: unshare (CLONE_NEWNS) refuses a process with several threads. */
  own_mount_namespace ();
  if (g_strcmp0 (jd_mp4_video_encoder_name (), "libx264") != 0)
    g_log_set_always_fatal (G_LOG_FATAL_MASK);
  scratch = media_test_scratch ();
  g_test_add_func ("/media/export/format-follows-destination", test_format_follows_destination);
  g_test_add_func ("/media/export/suggested-names", test_suggested_names);
  g_test_add_func ("/media/export/mp4", test_mp4);
  g_test_add_func ("/media/export/wav", test_wav_reads_back);
  g_test_add_func ("/media/export/png-frames", test_png_frames_read_back);
  g_test_add_func ("/media/export/missing-folder-bad-input", test_missing_folder_and_bad_input);
  g_test_add_func ("/media/export/read-only-place", test_read_only_place);
  g_test_add_func ("/media/export/full-disk", test_full_disk);
  g_test_add_func ("/media/export/file-size-limit", test_file_size_limit);
  int status = g_test_run ();
  media_test_rmtree (scratch);
  g_free (scratch);
  return status;
}
