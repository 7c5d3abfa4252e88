/* MP4: H.264 + AAC with exact timing and the settings in the metadata, checked with ffprobe
 * and by decoding the file back; failures leave no file. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "jd-media-error.h"
#include "jd-mp4.h"
#include "media-test-probe.h"
#include "media-test-util.h"

static char *scratch;

/* n frames of width × height, frame i a flat colour (200, 60 + 4i, 40) with a darker square
 * in the middle so the encoder has an edge to code. */
static GPtrArray *
make_frames (guint n, int width, int height, int channels)
{
  GPtrArray *frames = g_ptr_array_new_with_free_func ((GDestroyNotify) jd_image_free);
  for (guint i = 0; i < n; i++)
    {
      JdImage *image = jd_image_new (width, height, channels, NULL);
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            guint8 *p = (guint8 *) media_test_pixel (image, x, y);
            gboolean inside = ABS (x - width / 2) < width / 8 && ABS (y - height / 2) < height / 8;
            p[0] = inside ? 100 : 200;
            p[1] = (guint8) (60 + 4 * i);
            p[2] = 40;
            if (channels == 4)
              p[3] = 255;
          }
      g_ptr_array_add (frames, image);
    }
  return frames;
}

static JdAudio *
make_tone (int rate, int channels, gsize n_frames, double amplitude)
{
  JdAudio *audio = jd_audio_new (rate, channels, n_frames, NULL);
  for (gsize i = 0; i < n_frames; i++)
    for (int c = 0; c < channels; c++)
      audio->samples[i * (gsize) channels + (gsize) c]
        = (float) (amplitude * sin (2 * G_PI * 440.0 * (double) i / rate + c));
  return audio;
}

static const JdMediaSettings settings = {
  .seed = G_GUINT64_CONSTANT (18446744073709551557),
  .steps = 25,
  .guidance_mode = "joint",
  .omega_video = 7.5,
  .omega_video_first = 0.125,
  .omega_audio = 2.25,
  .model_name = "jointdit-tiny",
  .model_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
};

static void
assert_tags (JsonNode *root)
{
  JsonObject *format = json_object_get_object_member (json_node_get_object (root), "format");
  JsonObject *tags = json_object_get_object_member (format, "tags");
  g_assert_nonnull (tags);
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_seed"), ==,
                   "18446744073709551557");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_steps"), ==, "25");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_guidance"), ==, "joint");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_video"), ==, "7.5");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_video_first"), ==,
                   "0.125");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_omega_audio"), ==, "2.25");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_model"), ==, "jointdit-tiny");
  g_assert_cmpstr (json_object_get_string_member (tags, "jointdit_model_sha256"), ==,
                   settings.model_sha256);
  const char *comment = json_object_get_string_member (tags, "comment");
  g_assert_nonnull (comment);
  g_assert_nonnull (strstr (comment, "omega video 0.125 to 7.5, audio 2.25"));
}

/* Checks the streams ffprobe sees; returns the video duration in seconds. */
static double
assert_streams_of (JsonNode *root, const char *video_codec, int width, int height,
                   double seconds, guint n_frames, double fps, int sample_rate, int channels)
{
  JsonObject *video = media_test_probe_stream (root, "video");
  g_assert_nonnull (video);
  g_assert_cmpstr (json_object_get_string_member (video, "codec_name"), ==, video_codec);
  g_assert_cmpstr (json_object_get_string_member (video, "pix_fmt"), ==, "yuv420p");
  g_assert_cmpint (json_object_get_int_member (video, "width"), ==, width);
  g_assert_cmpint (json_object_get_int_member (video, "height"), ==, height);
  g_assert_cmpfloat (media_test_probe_number (video, "nb_frames"), ==, n_frames);
  g_assert_cmpfloat (media_test_probe_number (video, "nb_read_frames"), ==, n_frames);
  double video_seconds = media_test_probe_number (video, "duration");
  g_test_message ("video %.6f s (expected %.6f)", video_seconds, seconds);
  g_assert_cmpfloat (fabs (video_seconds - seconds), <=, 1.0 / fps);

  JsonObject *audio = media_test_probe_stream (root, "audio");
  if (sample_rate == 0)
    {
      g_assert_null (audio);
      return video_seconds;
    }
  g_assert_nonnull (audio);
  g_assert_cmpstr (json_object_get_string_member (audio, "codec_name"), ==, "aac");
  g_assert_cmpfloat (media_test_probe_number (audio, "sample_rate"), ==, sample_rate);
  g_assert_cmpint (json_object_get_int_member (audio, "channels"), ==, channels);
  double audio_seconds = media_test_probe_number (audio, "duration");
  g_test_message ("audio %.6f s", audio_seconds);
  g_assert_cmpfloat (fabs (audio_seconds - video_seconds), <=, 1024.0 / sample_rate);
  return video_seconds;
}

static double
assert_streams (JsonNode *root, int width, int height, double seconds, guint n_frames,
                double fps, int sample_rate, int channels)
{
  const char *codec = g_strcmp0 (jd_mp4_video_encoder_name (), "libx264") == 0 ? "h264"
                                                                              : "mpeg4";
  return assert_streams_of (root, codec, width, height, seconds, n_frames, fps, sample_rate,
                            channels);
}

/* Decodes path with libavcodec: the first video frame's mean RGB and the audio's RMS. */
static void
decode_back (const char *path, double mean_rgb[3], double *audio_rms)
{
  AVFormatContext *input = NULL;
  g_assert_cmpint (avformat_open_input (&input, path, NULL, NULL), ==, 0);
  g_assert_cmpint (avformat_find_stream_info (input, NULL), >=, 0);
  AVCodecContext *decoders[2] = { NULL, NULL };
  int indices[2];
  enum AVMediaType types[2] = { AVMEDIA_TYPE_VIDEO, AVMEDIA_TYPE_AUDIO };
  for (int k = 0; k < 2; k++)
    {
      const AVCodec *codec = NULL;
      indices[k] = av_find_best_stream (input, types[k], -1, -1, &codec, 0);
      if (indices[k] < 0)
        continue;
      decoders[k] = avcodec_alloc_context3 (codec);
      avcodec_parameters_to_context (decoders[k], input->streams[indices[k]]->codecpar);
      g_assert_cmpint (avcodec_open2 (decoders[k], codec, NULL), ==, 0);
    }
  AVPacket *packet = av_packet_alloc ();
  AVFrame *frame = av_frame_alloc ();
  gboolean have_picture = FALSE;
  double sum_squares = 0;
  guint64 n_samples = 0;
  for (gboolean draining = FALSE;;)
    {
      int got = draining ? AVERROR_EOF : av_read_frame (input, packet);
      int k = -1;
      if (got >= 0)
        k = packet->stream_index == indices[0] ? 0 : packet->stream_index == indices[1] ? 1 : -1;
      for (int j = 0; j < 2; j++)
        {
          if (decoders[j] == NULL || (got >= 0 && j != k))
            continue;
          avcodec_send_packet (decoders[j], got >= 0 ? packet : NULL);
          while (avcodec_receive_frame (decoders[j], frame) == 0)
            {
              if (j == 0 && !have_picture)
                {
                  have_picture = TRUE;
                  int w = frame->width, h = frame->height;
                  struct SwsContext *to_rgb
                    = sws_getContext (w, h, frame->format, w, h, AV_PIX_FMT_RGB24,
                                      SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
                  g_autofree guint8 *rgb = g_malloc ((gsize) w * h * 3);
                  uint8_t *planes[1] = { rgb };
                  int strides[1] = { w * 3 };
                  sws_scale (to_rgb, (const uint8_t *const *) frame->data, frame->linesize, 0, h,
                             planes, strides);
                  sws_freeContext (to_rgb);
                  for (int c = 0; c < 3; c++)
                    {
                      double sum = 0;
                      for (int i = 0; i < w * h; i++)
                        sum += rgb[3 * i + c];
                      mean_rgb[c] = sum / (w * h);
                    }
                }
              if (j == 1)
                {
                  g_assert_cmpint (frame->format, ==, AV_SAMPLE_FMT_FLTP);
                  for (int c = 0; c < frame->ch_layout.nb_channels; c++)
                    for (int i = 0; i < frame->nb_samples; i++)
                      {
                        double v = ((const float *) frame->extended_data[c])[i];
                        sum_squares += v * v;
                        n_samples++;
                      }
                }
            }
        }
      if (got >= 0)
        av_packet_unref (packet);
      else if (draining)
        break;
      else
        draining = TRUE;
    }
  g_assert_true (have_picture);
  *audio_rms = n_samples > 0 ? sqrt (sum_squares / (double) n_samples) : 0;
  av_frame_free (&frame);
  av_packet_free (&packet);
  avcodec_free_context (&decoders[0]);
  avcodec_free_context (&decoders[1]);
  avformat_close_input (&input);
}

static void
test_h264_aac_exact (void)
{
  /* 32 frames at 12.5 fps = 2.56 s with 2.56 s of 16 kHz audio. */
  g_autoptr (GPtrArray) frames = make_frames (32, 64, 64, 4);
  g_autoptr (JdAudio) audio = make_tone (16000, 1, 40960, 0.3);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 32, .fps_num = 25, .fps_den = 2,
    .audio = audio, .settings = &settings,
  };
  g_autofree char *path = g_build_filename (scratch, "clip.mp4", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_mp4_write (path, &input, &error));
  g_assert_no_error (error);
  g_autofree char *listing = media_test_listing (scratch);
  g_assert_cmpstr (listing, ==, "clip.mp4");

  /* faststart: the index (moov) comes before the media data (mdat). */
  g_autofree char *bytes = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &size, NULL));
  const char *moov = memmem (bytes, size, "moov", 4), *mdat = memmem (bytes, size, "mdat", 4);
  g_assert_nonnull (moov);
  g_assert_nonnull (mdat);
  g_assert_true (moov < mdat);

  double mean[3], rms = 0;
  decode_back (path, mean, &rms);
  /* Frame 0: 1/16 of the area is (100, 60, 40), the rest (200, 60, 40). */
  double expected_red = 200 - 100 * (15.0 * 15.0) / (64.0 * 64.0);
  g_test_message ("first frame mean (%.1f, %.1f, %.1f), audio RMS %.4f", mean[0], mean[1],
                  mean[2], rms);
  g_assert_cmpfloat (fabs (mean[0] - expected_red), <=, 4);
  g_assert_cmpfloat (fabs (mean[1] - 60), <=, 4);
  g_assert_cmpfloat (fabs (mean[2] - 40), <=, 4);
  /* A 0.3 sine has RMS 0.212; AAC keeps it within a few percent. */
  g_assert_cmpfloat (fabs (rms - 0.3 / sqrt (2)), <=, 0.02);

  g_autoptr (JsonNode) root = media_test_probe (path, TRUE);
  if (root == NULL)
    return;
  assert_streams (root, 64, 64, 2.56, 32, 12.5, 16000, 1);
  assert_tags (root);
}

static void
test_loud_audio_is_clipped (void)
{
  /* A sine of amplitude 3 (Griffin-Lim can give such sound) comes back clipped to [-1, 1]:
   * its RMS is that of the clipped sine, not 3/√2. */
  g_autoptr (GPtrArray) frames = make_frames (8, 32, 32, 4);
  g_autoptr (JdAudio) audio = make_tone (16000, 1, 10240, 3.0);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 8, .fps_num = 25, .fps_den = 2,
    .audio = audio, .settings = &settings,
  };
  g_autofree char *path = g_build_filename (scratch, "loud.mp4", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_mp4_write (path, &input, &error));
  g_assert_no_error (error);
  double mean[3], rms = 0, expected = 0;
  decode_back (path, mean, &rms);
  const int steps = 100000;
  for (int i = 0; i < steps; i++)
    {
      double v = CLAMP (3.0 * sin (2 * G_PI * (i + 0.5) / steps), -1.0, 1.0);
      expected += v * v / steps;
    }
  expected = sqrt (expected);
  g_test_message ("clipped sine: RMS %.4f, expected %.4f", rms, expected);
  g_assert_cmpfloat (fabs (rms - expected), <=, 0.05);
}

static void
test_odd_size_resampled_stereo (void)
{
  /* 65×33 is padded to 66×34; 20 kHz is not an AAC rate, so it becomes 48 kHz; the sound is
   * longer than the video and is trimmed. 10 frames at 24000/1001 fps. */
  g_autoptr (GPtrArray) frames = make_frames (10, 65, 33, 3);
  g_autoptr (JdAudio) audio = make_tone (20000, 2, 20000, 0.3);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 10, .fps_num = 24000,
    .fps_den = 1001, .audio = audio,
  };
  g_autofree char *path = g_build_filename (scratch, "odd.mp4", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_mp4_write (path, &input, &error));
  g_assert_no_error (error);
  g_autoptr (JsonNode) root = media_test_probe (path, TRUE);
  if (root != NULL)
    assert_streams (root, 66, 34, 10 * 1001 / 24000.0, 10, 24000 / 1001.0, 48000, 2);
  g_unlink (path);
}

static void
test_short_or_no_audio (void)
{
  /* 0.1 s of sound under 0.2 s of video is padded with silence; no sound gives no stream. */
  g_autoptr (GPtrArray) frames = make_frames (5, 32, 32, 3);
  g_autoptr (JdAudio) audio = make_tone (16000, 1, 1600, 0.3);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 5, .fps_num = 25, .fps_den = 1,
    .audio = audio,
  };
  g_autofree char *path = g_build_filename (scratch, "short.mp4", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_mp4_write (path, &input, &error));
  g_assert_no_error (error);
  g_autoptr (JsonNode) root = media_test_probe (path, TRUE);
  if (root != NULL)
    assert_streams (root, 32, 32, 0.2, 5, 25, 16000, 1);

  input.audio = NULL;
  g_assert_true (jd_mp4_write (path, &input, &error));
  g_assert_no_error (error);
  g_autoptr (JsonNode) silent = media_test_probe (path, TRUE);
  if (silent != NULL)
    assert_streams (silent, 32, 32, 0.2, 5, 25, 0, 0);
  g_unlink (path);
}

static void
test_fallback_encoder (void)
{
  /* What the Flatpak runtime's FFmpeg (no libx264) produces: MPEG-4 Part 2, same timing. */
  g_autoptr (GPtrArray) frames = make_frames (32, 64, 64, 3);
  g_autoptr (JdAudio) audio = make_tone (16000, 1, 40960, 0.3);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 32, .fps_num = 25, .fps_den = 2,
    .audio = audio, .settings = &settings, .use_fallback_encoder = TRUE,
  };
  g_autofree char *path = g_build_filename (scratch, "fallback.mp4", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_mp4_write (path, &input, &error));
  g_assert_no_error (error);
  double mean[3], rms = 0;
  decode_back (path, mean, &rms);
  double expected_red = 200 - 100 * (15.0 * 15.0) / (64.0 * 64.0);
  g_test_message ("first frame mean (%.1f, %.1f, %.1f)", mean[0], mean[1], mean[2]);
  g_assert_cmpfloat (fabs (mean[0] - expected_red), <=, 4);
  g_assert_cmpfloat (fabs (mean[1] - 60), <=, 4);
  g_assert_cmpfloat (fabs (mean[2] - 40), <=, 4);
  g_autoptr (JsonNode) root = media_test_probe (path, TRUE);
  if (root != NULL)
    {
      assert_streams_of (root, "mpeg4", 64, 64, 2.56, 32, 12.5, 16000, 1);
      assert_tags (root);
    }
  g_unlink (path);
}

static void
test_metadata_ignores_locale (void)
{
  static const char *const candidates[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                            "nl_NL.UTF-8", "ru_RU.UTF-8", "pt_BR.UTF-8" };
  const char *found = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (candidates) && found == NULL; i++)
    if (setlocale (LC_ALL, candidates[i]) != NULL)
      {
        if (strcmp (localeconv ()->decimal_point, ",") == 0)
          found = candidates[i];
        else
          setlocale (LC_ALL, "C");
      }
  if (found == NULL)
    {
      g_test_skip ("no locale with a decimal comma is installed (e.g. localedef -i de_DE -f "
                   "UTF-8 de_DE.UTF-8)");
      return;
    }
  g_test_message ("writing under %s", found);
  g_autoptr (GPtrArray) frames = make_frames (3, 16, 16, 3);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 3, .fps_num = 25, .fps_den = 1,
    .settings = &settings,
  };
  g_autofree char *path = g_build_filename (scratch, "locale.mp4", NULL);
  g_autoptr (GError) error = NULL;
  gboolean ok = jd_mp4_write (path, &input, &error);
  setlocale (LC_ALL, "C");
  g_assert_no_error (error);
  g_assert_true (ok);
  g_autoptr (JsonNode) root = media_test_probe (path, TRUE);
  if (root != NULL)
    assert_tags (root);
  g_unlink (path);
}

static void
test_failures_leave_nothing (void)
{
  g_autofree char *work = g_build_filename (scratch, "failures", NULL);
  g_assert_cmpint (g_mkdir (work, 0755), ==, 0);
  g_autoptr (GPtrArray) frames = make_frames (3, 16, 16, 3);
  g_autoptr (JdAudio) audio = make_tone (16000, 1, 1000, 0.3);
  JdMp4Input input = {
    .frames = (JdImage *const *) frames->pdata, .n_frames = 3, .fps_num = 25, .fps_den = 1,
    .audio = audio,
  };
  g_autoptr (GError) error = NULL;

  g_autofree char *nowhere = g_build_filename (work, "missing", "out.mp4", NULL);
  g_assert_false (jd_mp4_write (nowhere, &input, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "out.mp4");
  g_clear_error (&error);

  /* Encoding succeeds, the final rename fails: the temporary file must go. */
  g_autofree char *blocked = g_build_filename (work, "taken.mp4", NULL);
  g_assert_cmpint (g_mkdir (blocked, 0755), ==, 0);
  g_autofree char *inside = g_build_filename (blocked, "keep", NULL);
  g_assert_true (g_file_set_contents (inside, "x", 1, NULL));
  g_assert_false (jd_mp4_write (blocked, &input, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "taken.mp4");
  g_clear_error (&error);

  /* Bad arguments. */
  g_autofree char *bad = g_build_filename (work, "bad.mp4", NULL);
  JdMp4Input wrong = input;
  wrong.fps_num = 0;
  g_assert_false (jd_mp4_write (bad, &wrong, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "bad.mp4");
  g_clear_error (&error);
  wrong = input;
  wrong.fps_num = 1;
  wrong.fps_den = 1201; /* 3 frames of 1201 s */
  g_assert_false (jd_mp4_write (bad, &wrong, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "bad.mp4");
  g_clear_error (&error);
  wrong = input;
  wrong.n_frames = 0;
  g_assert_false (jd_mp4_write (bad, &wrong, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "bad.mp4");
  g_clear_error (&error);
  g_autoptr (GPtrArray) mixed = make_frames (2, 16, 16, 3);
  g_ptr_array_add (mixed, jd_image_new (18, 16, 3, NULL));
  wrong = input;
  wrong.frames = (JdImage *const *) mixed->pdata;
  g_assert_false (jd_mp4_write (bad, &wrong, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "bad.mp4");
  g_clear_error (&error);

  g_autofree char *listing = media_test_listing (work);
  g_assert_cmpstr (listing, ==, "taken.mp4");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Without libx264 the writer warns once that it falls back to MPEG-4 Part 2: expected there,
   * so warnings must not abort (the streams are still checked, against "mpeg4"). */
  if (g_strcmp0 (jd_mp4_video_encoder_name (), "libx264") != 0)
    g_log_set_always_fatal (G_LOG_FATAL_MASK);
  scratch = media_test_scratch ();
  g_test_add_func ("/media/mp4/h264-aac-exact", test_h264_aac_exact);
  g_test_add_func ("/media/mp4/odd-size-resampled-stereo", test_odd_size_resampled_stereo);
  g_test_add_func ("/media/mp4/loud-audio-clipped", test_loud_audio_is_clipped);
  g_test_add_func ("/media/mp4/short-or-no-audio", test_short_or_no_audio);
  g_test_add_func ("/media/mp4/fallback-encoder", test_fallback_encoder);
  g_test_add_func ("/media/mp4/metadata-ignores-locale", test_metadata_ignores_locale);
  g_test_add_func ("/media/mp4/failures", test_failures_leave_nothing);
  int status = g_test_run ();
  media_test_rmtree (scratch);
  g_free (scratch);
  return status;
}
