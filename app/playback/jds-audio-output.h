/* jds-audio-output.h — a clip's sound through PortAudio, and the clock that playback follows.
 *
 * The clock is the sound itself: the position is the number of frames the PortAudio callback
 * has handed to the device, less the stream's output latency (Pa_GetStreamTime can stall on
 * ALSA through PulseAudio, so it is not used). PortAudio is initialised on the first play, never
 * before, so programs that only hold a JdsAudioOutput (the CLI never does) stay silent and fast.
 *
 * Whenever sound cannot be played — no device, a device that cannot be opened or started, a
 * stream that stops on its own — the output switches to a silent clock driven by
 * g_get_monotonic_time, continuing from the position reached, and keeps a sentence saying why
 * (jds_audio_output_get_silent_reason: "No sound device: playing silently"). Nothing here aborts.
 *
 * The clip's rate is used when the device takes it; a device that refuses it (many refuse
 * 16 kHz) runs at its default rate and the callback resamples linearly. A mono stream is
 * preferred; a device that only takes stereo gets the same sound on both channels.
 *
 * Control (play, pause, seek, set_*) belongs to one thread, normally the main thread; the
 * position may be read from any thread.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Device choices for jds_audio_output_set_device besides a PortAudio device index (≥ 0). */
#define JDS_AUDIO_OUTPUT_DEFAULT_DEVICE (-1) /* PortAudio's default output device */
#define JDS_AUDIO_OUTPUT_NO_DEVICE      (-2) /* never open a device: always the silent clock */

#define JDS_TYPE_AUDIO_OUTPUT (jds_audio_output_get_type ())
G_DECLARE_FINAL_TYPE (JdsAudioOutput, jds_audio_output, JDS, AUDIO_OUTPUT, GObject)

/* An output for n_samples mono float samples at sample_rate (> 0) Hz, copied. The playing
 * length is duration_us (≤ 0: the length of the samples); sound past the samples is silence,
 * samples past the length are not played. With no samples the output is a silent clock from
 * the start ("This clip has no sound"). */
JdsAudioOutput *jds_audio_output_new (const float *samples,
                                      gsize        n_samples,
                                      int          sample_rate,
                                      gint64       duration_us);

/* Which device the next play opens (see above); default JDS_AUDIO_OUTPUT_DEFAULT_DEVICE. Only
 * while stopped with no stream open yet, i.e. before the first play. */
void         jds_audio_output_set_device       (JdsAudioOutput *self,
                                                int             device);

/* Starts from the current position; TRUE when the sound is audible, FALSE when the silent clock
 * runs (the clock runs in both cases). Playing while playing does nothing. */
gboolean     jds_audio_output_play             (JdsAudioOutput *self);
void         jds_audio_output_pause            (JdsAudioOutput *self);
/* Moves to position_us (clamped to [0, duration]); playback continues if it was playing. */
void         jds_audio_output_seek             (JdsAudioOutput *self,
                                                gint64          position_us);
/* When looping, the position wraps at the duration and the sound with it; otherwise the
 * position stops at the duration (the sound is silence past the end). */
void         jds_audio_output_set_loop         (JdsAudioOutput *self,
                                                gboolean        loop);
/* Gain applied in the callback; clamped to [0, 1]. */
void         jds_audio_output_set_volume       (JdsAudioOutput *self,
                                                double          volume);

gboolean     jds_audio_output_get_playing      (JdsAudioOutput *self);
/* Microseconds into the clip, in [0, duration]; any thread. */
gint64       jds_audio_output_get_position     (JdsAudioOutput *self);
gint64       jds_audio_output_get_duration     (JdsAudioOutput *self);

/* NULL while the sound is (or may still be) audible; once silent, a sentence for the user. */
const char  *jds_audio_output_get_silent_reason (JdsAudioOutput *self);
/* The rate the device runs at (0 when silent); differs from the clip's when it resamples. */
int          jds_audio_output_get_device_rate  (JdsAudioOutput *self);

G_END_DECLS
