/* WAV: 16-bit PCM out with clipping and rounding, header fields, round trips, float and
 * extensible input, damaged input, and no file left behind on failure. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "jd-media-error.h"
#include "jd-wav.h"
#include "media-test-util.h"

static char *scratch;

static guint
u16_at (const guint8 *p)
{
  return (guint) p[0] | (guint) p[1] << 8;
}

static guint32
u32_at (const guint8 *p)
{
  return (guint32) u16_at (p) | (guint32) u16_at (p + 2) << 16;
}

static double
pcm16_reference (float x)
{
  /* round(x · 32768) clipped to the int16 range, then back: what a round trip must give. */
  if (isnan (x))
    return 0;
  double v = nearbyint ((double) x * 32768.0);
  return CLAMP (v, -32768.0, 32767.0) / 32768.0;
}

static void
round_trip (int channels, gsize n_frames, int rate)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed ((guint32) (channels * 1000 + n_frames));
  gsize n = n_frames * (gsize) channels;
  g_autofree float *samples = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    samples[i] = (float) g_rand_double_range (rng, -1.25, 1.25); /* some clip */
  if (n > 3)
    {
      samples[0] = NAN;
      samples[1] = 1.0f;
      samples[2] = -1.0f;
      samples[3] = 0.5f / 32768.0f; /* exactly half a step: rounds to even (0) */
    }
  g_autofree char *name = g_strdup_printf ("trip-%d-%" G_GSIZE_FORMAT ".wav", channels, n_frames);
  g_autofree char *path = g_build_filename (scratch, name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (jd_wav_write (path, samples, n_frames, channels, rate, &error));
  g_assert_no_error (error);

  g_autofree guint8 *bytes = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, (char **) &bytes, &size, NULL));
  g_assert_cmpuint (size, ==, 44 + 2 * n);
  g_assert_cmpmem (bytes, 4, "RIFF", 4);
  g_assert_cmpuint (u32_at (bytes + 4), ==, size - 8);
  g_assert_cmpmem (bytes + 8, 8, "WAVEfmt ", 8);
  g_assert_cmpuint (u32_at (bytes + 16), ==, 16);
  g_assert_cmpuint (u16_at (bytes + 20), ==, 1);
  g_assert_cmpuint (u16_at (bytes + 22), ==, (guint) channels);
  g_assert_cmpuint (u32_at (bytes + 24), ==, (guint32) rate);
  g_assert_cmpuint (u32_at (bytes + 28), ==, (guint32) (rate * channels * 2));
  g_assert_cmpuint (u16_at (bytes + 32), ==, (guint) channels * 2);
  g_assert_cmpuint (u16_at (bytes + 34), ==, 16);
  g_assert_cmpmem (bytes + 36, 4, "data", 4);
  g_assert_cmpuint (u32_at (bytes + 40), ==, 2 * n);
  if (n > 3)
    {
      g_assert_cmpuint (u16_at (bytes + 44), ==, 0);      /* NaN */
      g_assert_cmpuint (u16_at (bytes + 46), ==, 0x7fff); /* +1 clips to 32767 */
      g_assert_cmpuint (u16_at (bytes + 48), ==, 0x8000); /* −1 is −32768 */
      g_assert_cmpuint (u16_at (bytes + 50), ==, 0);
    }

  g_autoptr (JdAudio) audio = jd_wav_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (audio->sample_rate, ==, rate);
  g_assert_cmpint (audio->channels, ==, channels);
  g_assert_cmpuint (audio->n_frames, ==, n_frames);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_cmpfloat (audio->samples[i], ==, (float) pcm16_reference (samples[i]));
      if (!isnan (samples[i]))
        g_assert_cmpfloat (fabs (audio->samples[i] - CLAMP (samples[i], -1.0f, 1.0f)), <=,
                           1.0 / 32768);
    }
  if (channels == 2 && n_frames > 0)
    {
      g_autoptr (JdAudio) mono = jd_audio_to_mono (audio);
      g_assert_cmpint (mono->channels, ==, 1);
      g_assert_cmpfloat (mono->samples[n_frames - 1], ==,
                         (audio->samples[2 * n_frames - 2] + audio->samples[2 * n_frames - 1])
                           / 2);
    }
}

static void
test_round_trips (void)
{
  round_trip (1, 16000, 16000);
  round_trip (2, 12345, 44100); /* odd length */
  round_trip (1, 1, 8000);
  round_trip (2, 0, 48000);     /* empty but valid */
}

static void
append_u16 (GByteArray *a, guint v)
{
  guint8 b[2] = { (guint8) v, (guint8) (v >> 8) };
  g_byte_array_append (a, b, 2);
}

static void
append_u32 (GByteArray *a, guint32 v)
{
  append_u16 (a, v & 0xffff);
  append_u16 (a, v >> 16);
}

/* A float32 WAV, optionally WAVE_FORMAT_EXTENSIBLE, with an odd-sized LIST chunk before data. */
static char *
write_float_wav (const char *name, gboolean extensible, const float *samples, gsize n,
                 int channels)
{
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_byte_array_append (a, (const guint8 *) "RIFF\0\0\0\0WAVEfmt ", 16);
  append_u32 (a, extensible ? 40 : 16);
  append_u16 (a, extensible ? 0xfffe : 3);
  append_u16 (a, (guint) channels);
  append_u32 (a, 22050);
  append_u32 (a, 22050u * (guint) channels * 4);
  append_u16 (a, (guint) channels * 4);
  append_u16 (a, 32);
  if (extensible)
    {
      append_u16 (a, 22);
      append_u16 (a, 32);
      append_u32 (a, channels == 2 ? 3 : 4);
      static const guint8 float_guid[16] = { 3, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0,
                                             0x38, 0x9b, 0x71 };
      g_byte_array_append (a, float_guid, 16);
    }
  g_byte_array_append (a, (const guint8 *) "LIST\3\0\0\0abc\0", 12); /* odd size + pad */
  g_byte_array_append (a, (const guint8 *) "data", 4);
  append_u32 (a, (guint32) (n * 4));
  g_byte_array_append (a, (const guint8 *) samples, (guint) (n * 4));
  guint32 riff = a->len - 8;
  memcpy (a->data + 4, &riff, 4);
  char *path = g_build_filename (scratch, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) a->data, a->len, NULL));
  return path;
}

static void
test_float_and_extensible_input (void)
{
  const float samples[6] = { 0.1f, -0.2f, 0.3f, -0.4f, 1.5f, -0.0001f };
  for (int extensible = 0; extensible < 2; extensible++)
    for (int channels = 1; channels <= 2; channels++)
      {
        g_autofree char *path = write_float_wav ("float.wav", extensible, samples, 6, channels);
        g_autoptr (GError) error = NULL;
        g_autoptr (JdAudio) audio = jd_wav_read (path, &error);
        g_assert_no_error (error);
        g_assert_cmpint (audio->sample_rate, ==, 22050);
        g_assert_cmpint (audio->channels, ==, channels);
        g_assert_cmpuint (audio->n_frames, ==, 6 / (gsize) channels);
        g_assert_cmpmem (audio->samples, 6 * sizeof (float), samples, 6 * sizeof (float));
      }
}

static void
test_bad_input_names_the_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_build_filename (scratch, "not-a-wav.wav", NULL);
  g_assert_true (g_file_set_contents (text, "hello, this is text", -1, NULL));
  g_assert_null (jd_wav_read (text, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_UNSUPPORTED, "not-a-wav.wav");
  g_clear_error (&error);

  /* Cut inside the fmt chunk. */
  const float one = 0.5f;
  g_autofree char *good = write_float_wav ("cut.wav", FALSE, &one, 1, 1);
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (good, &contents, NULL, NULL));
  g_assert_true (g_file_set_contents (good, contents, 30, NULL));
  g_assert_null (jd_wav_read (good, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_DAMAGED, "cut.wav");
  g_clear_error (&error);

  /* 24-bit PCM is named as unsupported. */
  g_autofree char *pcm24 = write_float_wav ("pcm24.wav", FALSE, &one, 1, 1);
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (pcm24, &data, &size, NULL));
  data[20] = 1;  /* PCM */
  data[34] = 24; /* bits */
  data[32] = 3;  /* block align */
  g_assert_true (g_file_set_contents (pcm24, data, (gssize) size, NULL));
  g_assert_null (jd_wav_read (pcm24, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_UNSUPPORTED, "pcm24.wav");
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (scratch, "missing.wav", NULL);
  g_assert_null (jd_wav_read (missing, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "missing.wav");
}

static void
test_hostile_files (void)
{
  /* Every prefix and 3000 random corruptions of a valid file: each is read or refused with an
   * error naming it, never a crash or an out-of-bounds read (ASan watches the latter). */
  const float samples[8] = { 0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, -0.8f };
  g_autofree char *source = write_float_wav ("source.wav", TRUE, samples, 8, 2);
  g_autofree char *good = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (source, &good, &size, NULL));
  g_autofree char *path = g_build_filename (scratch, "hostile.wav", NULL);
  g_autoptr (GRand) rng = g_rand_new_with_seed (1234);
  guint read_ok = 0, refused = 0;
  for (guint trial = 0; trial < size + 3000; trial++)
    {
      g_autofree char *bytes = g_memdup2 (good, size);
      gsize length = size;
      if (trial < size)
        length = trial;
      else
        for (int flips = g_rand_int_range (rng, 1, 4); flips > 0; flips--)
          bytes[g_rand_int_range (rng, 0, (gint32) size)] = (char) g_rand_int_range (rng, 0, 256);
      g_assert_true (g_file_set_contents_full (path, bytes, (gssize) length,
                                               G_FILE_SET_CONTENTS_NONE, 0666, NULL));
      g_autoptr (GError) error = NULL;
      g_autoptr (JdAudio) audio = jd_wav_read (path, &error);
      if (audio != NULL)
        {
          g_assert_cmpint (audio->channels, >=, 1);
          g_assert_cmpuint (audio->n_frames * (gsize) audio->channels * 2, <=, size);
          read_ok++;
        }
      else
        {
          g_assert_nonnull (strstr (error->message, "hostile.wav"));
          refused++;
        }
    }
  g_test_message ("%u read, %u refused", read_ok, refused);
  g_assert_cmpuint (refused, >, 0);
}

static void
test_failed_write_leaves_nothing (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (scratch, "writes", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  const float samples[4] = { 0.25f, -0.25f, 0.5f, -0.5f };

  /* A folder that does not exist. */
  g_autofree char *nowhere = g_build_filename (folder, "no-such-folder", "out.wav", NULL);
  g_assert_false (jd_wav_write (nowhere, samples, 4, 1, 16000, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "out.wav");
  g_clear_error (&error);

  /* The target is a folder: the finished temporary file cannot be renamed over it. */
  g_autofree char *blocked = g_build_filename (folder, "taken.wav", NULL);
  g_assert_cmpint (g_mkdir (blocked, 0755), ==, 0);
  g_autofree char *inside = g_build_filename (blocked, "keep", NULL);
  g_assert_true (g_file_set_contents (inside, "x", 1, NULL));
  g_assert_false (jd_wav_write (blocked, samples, 4, 1, 16000, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_IO, "taken.wav");
  g_clear_error (&error);

  /* Bad arguments are refused before anything is created. */
  g_autofree char *bad = g_build_filename (folder, "three.wav", NULL);
  g_assert_false (jd_wav_write (bad, samples, 1, 3, 16000, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "three.wav");
  g_clear_error (&error);
  g_assert_false (jd_wav_write (bad, samples, 4, 1, 0, &error));
  media_test_assert_error_names (error, JD_MEDIA_ERROR_INVALID_ARGUMENT, "three.wav");
  g_clear_error (&error);

  g_autofree char *listing = media_test_listing (folder);
  g_assert_cmpstr (listing, ==, "taken.wav");

  /* Overwriting a file replaces it whole. */
  g_autofree char *again = g_build_filename (folder, "again.wav", NULL);
  g_assert_true (jd_wav_write (again, samples, 4, 1, 16000, &error));
  g_assert_true (jd_wav_write (again, samples, 2, 2, 16000, &error));
  g_autoptr (JdAudio) audio = jd_wav_read (again, &error);
  g_assert_no_error (error);
  g_assert_cmpint (audio->channels, ==, 2);
  g_autofree char *after = media_test_listing (folder);
  g_assert_cmpstr (after, ==, "again.wav taken.wav");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  scratch = media_test_scratch ();
  g_test_add_func ("/media/wav/round-trips", test_round_trips);
  g_test_add_func ("/media/wav/float-extensible", test_float_and_extensible_input);
  g_test_add_func ("/media/wav/bad-input", test_bad_input_names_the_file);
  g_test_add_func ("/media/wav/hostile-files", test_hostile_files);
  g_test_add_func ("/media/wav/failed-write", test_failed_write_leaves_nothing);
  int status = g_test_run ();
  media_test_rmtree (scratch);
  g_free (scratch);
  return status;
}
