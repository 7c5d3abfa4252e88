/* jd-wav.c — 16-bit PCM WAV out, 16-bit PCM / 32-bit float WAV in. */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jd-media-error.h"
#include "jd-media-private.h"
#include "jd-wav.h"

#define WAVE_FORMAT_PCM        0x0001
#define WAVE_FORMAT_IEEE_FLOAT 0x0003
#define WAVE_FORMAT_EXTENSIBLE 0xfffe
#define MAX_CHANNELS           8

JdAudio *
jd_audio_new (int sample_rate, int channels, gsize n_frames, GError **error)
{
  if (sample_rate <= 0 || channels <= 0 || channels > MAX_CHANNELS
      || n_frames > G_MAXSIZE / sizeof (float) / (gsize) MAX_CHANNELS)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "A sound of %" G_GSIZE_FORMAT " frames, %d channels at %d Hz cannot be made: "
                   "the rate must be positive and the channels 1 to %d",
                   n_frames, channels, sample_rate, MAX_CHANNELS);
      return NULL;
    }
  float *samples = g_try_malloc0 (MAX (n_frames, 1) * (gsize) channels * sizeof (float));
  if (samples == NULL)
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Not enough memory for a sound of %" G_GSIZE_FORMAT " frames", n_frames);
      return NULL;
    }
  JdAudio *audio = g_new0 (JdAudio, 1);
  audio->sample_rate = sample_rate;
  audio->channels = channels;
  audio->n_frames = n_frames;
  audio->samples = samples;
  return audio;
}

void
jd_audio_free (JdAudio *audio)
{
  if (audio == NULL)
    return;
  g_free (audio->samples);
  g_free (audio);
}

JdAudio *
jd_audio_to_mono (const JdAudio *audio)
{
  JdAudio *mono = jd_audio_new (audio->sample_rate, 1, audio->n_frames, NULL);
  g_return_val_if_fail (mono != NULL, NULL);
  for (gsize i = 0; i < audio->n_frames; i++)
    {
      double sum = 0;
      for (int c = 0; c < audio->channels; c++)
        sum += audio->samples[i * (gsize) audio->channels + (gsize) c];
      mono->samples[i] = (float) (sum / audio->channels);
    }
  return mono;
}

static inline gint16
float_to_pcm16 (float x)
{
  if (!(x == x))
    return 0;
  double v = nearbyint ((double) x * 32768.0);
  return (gint16) CLAMP (v, -32768.0, 32767.0);
}

static void
put_u16 (guint8 *p, guint v)
{
  p[0] = (guint8) v;
  p[1] = (guint8) (v >> 8);
}

static void
put_u32 (guint8 *p, guint32 v)
{
  put_u16 (p, v & 0xffff);
  put_u16 (p + 2, v >> 16);
}

static gboolean
write_wav_body (FILE *f, const float *samples, gsize n_frames, int channels, int sample_rate)
{
  guint64 data_bytes = (guint64) n_frames * (guint64) channels * 2;
  guint8 header[44];
  memcpy (header, "RIFF", 4);
  put_u32 (header + 4, (guint32) (36 + data_bytes));
  memcpy (header + 8, "WAVEfmt ", 8);
  put_u32 (header + 16, 16);
  put_u16 (header + 20, WAVE_FORMAT_PCM);
  put_u16 (header + 22, (guint) channels);
  put_u32 (header + 24, (guint32) sample_rate);
  put_u32 (header + 28, (guint32) sample_rate * (guint32) channels * 2);
  put_u16 (header + 32, (guint) channels * 2);
  put_u16 (header + 34, 16);
  memcpy (header + 36, "data", 4);
  put_u32 (header + 40, (guint32) data_bytes);
  if (fwrite (header, 1, sizeof header, f) != sizeof header)
    return FALSE;

  guint8 block[8192];
  gsize total = n_frames * (gsize) channels, used = 0;
  for (gsize i = 0; i < total; i++)
    {
      put_u16 (block + used, (guint16) float_to_pcm16 (samples[i]));
      used += 2;
      if (used == sizeof block || i + 1 == total)
        {
          if (fwrite (block, 1, used, f) != used)
            return FALSE;
          used = 0;
        }
    }
  /* 16-bit samples make the data chunk even, so RIFF never needs a pad byte here. */
  return TRUE;
}

gboolean
jd_wav_write (const char *path, const float *samples, gsize n_frames, int channels,
              int sample_rate, GError **error)
{
  guint64 data_bytes = (guint64) n_frames * (guint64) MAX (channels, 0) * 2;
  if ((channels != 1 && channels != 2) || sample_rate <= 0 || sample_rate > 1000000
      || data_bytes > G_MAXUINT32 - 36 || (samples == NULL && n_frames > 0))
    {
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
                   "Cannot write the WAV file “%s”: %d channels at %d Hz with %" G_GSIZE_FORMAT
                   " frames (WAV output is mono or stereo, and a WAV file holds under 4 GiB)",
                   path, channels, sample_rate, n_frames);
      return FALSE;
    }
  g_autofree char *temp = jd_media_temp_file_for (path, "WAV file", error);
  if (temp == NULL)
    return FALSE;
  FILE *f = g_fopen (temp, "wb");
  gboolean ok = f != NULL && write_wav_body (f, samples, n_frames, channels, sample_rate);
  int saved = errno;
  if (f != NULL && fclose (f) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok)
    {
      g_unlink (temp);
      g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_IO, "Could not write the WAV file “%s”: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  return jd_media_commit_temp (temp, path, "WAV file", error);
}

static guint
get_u16 (const guint8 *p)
{
  return (guint) p[0] | (guint) p[1] << 8;
}

static guint32
get_u32 (const guint8 *p)
{
  return (guint32) get_u16 (p) | (guint32) get_u16 (p + 2) << 16;
}

#define wav_fail(code, ...)                                                                  \
  G_STMT_START {                                                                             \
    g_autofree char *_why = g_strdup_printf (__VA_ARGS__);                                   \
    g_set_error (error, JD_MEDIA_ERROR, code, "Could not read the WAV file “%s”: %s", path,  \
                 _why);                                                                      \
    return NULL;                                                                             \
  } G_STMT_END

JdAudio *
jd_wav_read (const char *path, GError **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GError) map_error = NULL;
  mapped = g_mapped_file_new (path, FALSE, &map_error);
  if (g_error_matches (map_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    wav_fail (JD_MEDIA_ERROR_IO, "it does not exist");
  if (mapped == NULL)
    wav_fail (JD_MEDIA_ERROR_IO, "%s", map_error->message);
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (mapped);
  gsize size = g_mapped_file_get_length (mapped);
  if (size < 12 || memcmp (data, "RIFF", 4) != 0 || memcmp (data + 8, "WAVE", 4) != 0)
    wav_fail (JD_MEDIA_ERROR_UNSUPPORTED, "it does not start with a RIFF/WAVE header");

  const guint8 *fmt = NULL, *pcm = NULL;
  gsize fmt_size = 0, pcm_size = 0;
  for (gsize pos = 12; pos + 8 <= size;)
    {
      guint32 chunk_size = get_u32 (data + pos + 4);
      gsize available = size - pos - 8;
      if (memcmp (data + pos, "fmt ", 4) == 0)
        {
          if (chunk_size > available)
            wav_fail (JD_MEDIA_ERROR_DAMAGED, "the fmt chunk is cut short");
          fmt = data + pos + 8;
          fmt_size = chunk_size;
        }
      else if (memcmp (data + pos, "data", 4) == 0)
        {
          /* A writer that died before fixing the header leaves a too-large size: keep what is
           * there, which is the usual reading of such files. */
          pcm = data + pos + 8;
          pcm_size = MIN ((gsize) chunk_size, available);
          break;
        }
      if (chunk_size > available)
        break;
      pos += 8 + (gsize) chunk_size + (chunk_size & 1);
    }
  if (fmt == NULL || fmt_size < 16)
    wav_fail (JD_MEDIA_ERROR_DAMAGED, "it has no complete fmt chunk");
  if (pcm == NULL)
    wav_fail (JD_MEDIA_ERROR_DAMAGED, "it has no data chunk");

  guint format = get_u16 (fmt);
  int channels = (int) get_u16 (fmt + 2);
  guint32 rate = get_u32 (fmt + 4);
  guint block_align = get_u16 (fmt + 12);
  guint bits = get_u16 (fmt + 14);
  if (format == WAVE_FORMAT_EXTENSIBLE)
    {
      if (fmt_size < 40)
        wav_fail (JD_MEDIA_ERROR_DAMAGED, "its WAVE_FORMAT_EXTENSIBLE header is cut short");
      format = get_u16 (fmt + 24); /* the first two bytes of the sub-format GUID */
    }
  gboolean is_pcm16 = format == WAVE_FORMAT_PCM && bits == 16;
  gboolean is_float32 = format == WAVE_FORMAT_IEEE_FLOAT && bits == 32;
  if (!is_pcm16 && !is_float32)
    wav_fail (JD_MEDIA_ERROR_UNSUPPORTED,
              "its samples are format %u with %u bits; only 16-bit PCM and 32-bit float are read",
              format, bits);
  if (channels < 1 || channels > MAX_CHANNELS || rate == 0 || rate > G_MAXINT
      || block_align != (guint) channels * bits / 8)
    wav_fail (JD_MEDIA_ERROR_DAMAGED, "its header says %d channels at %u Hz with %u-byte blocks",
              channels, rate, block_align);

  gsize n_frames = pcm_size / block_align;
  JdAudio *audio = jd_audio_new ((int) rate, channels, n_frames, error);
  if (audio == NULL)
    return NULL;
  gsize n = n_frames * (gsize) channels;
  for (gsize i = 0; i < n; i++)
    {
      if (is_pcm16)
        audio->samples[i] = (float) (gint16) get_u16 (pcm + 2 * i) / 32768.0f;
      else
        {
          guint32 bits32 = get_u32 (pcm + 4 * i);
          float v;
          memcpy (&v, &bits32, sizeof v);
          audio->samples[i] = v;
        }
    }
  return audio;
}
