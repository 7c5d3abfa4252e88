/* jd-wav.h — WAV files: writing 16-bit PCM, reading 16-bit PCM and 32-bit float.
 *
 * Samples in memory are float, interleaved (frame 0 channel 0, frame 0 channel 1, …), full scale
 * ±1. Writing maps x to round(x × 32768) clipped to [−32768, 32767] (NaN becomes 0); reading
 * maps a 16-bit value v to v / 32768, so a write-read round trip is exact on that grid and off by
 * at most 1/32768 elsewhere. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  int     sample_rate; /* frames per second, > 0 */
  int     channels;    /* 1 or more; interleaved */
  gsize   n_frames;    /* samples per channel */
  float  *samples;     /* owned; n_frames × channels floats */
} JdAudio;

/* A new silent buffer; NULL with JD_MEDIA_ERROR_INVALID_ARGUMENT for a bad rate, channel count
 * or a size that would overflow memory. */
JdAudio *jd_audio_new (int sample_rate, int channels, gsize n_frames, GError **error);
void     jd_audio_free (JdAudio *audio);
/* A new mono buffer holding the mean of the channels of audio. */
JdAudio *jd_audio_to_mono (const JdAudio *audio);

/* Writes samples (n_frames × channels, interleaved) as 16-bit PCM to path, through a temporary
 * file PATH.XXXXXX.tmp in the same folder that is renamed over path when complete, so a failure
 * leaves no file (and leaves an older file at path untouched). channels must be 1 or 2. */
gboolean jd_wav_write (const char  *path,
                       const float *samples,
                       gsize        n_frames,
                       int          channels,
                       int          sample_rate,
                       GError     **error);

/* Reads a RIFF/WAVE file with 16-bit PCM or 32-bit IEEE float samples (plain or
 * WAVE_FORMAT_EXTENSIBLE), any number of channels up to 8. Errors name the file. */
JdAudio *jd_wav_read (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdAudio, jd_audio_free)

G_END_DECLS
