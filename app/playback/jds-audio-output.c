/* jds-audio-output.c — PortAudio playback of a mono clip, with a silent clock to fall back on. */
#include <math.h>
#include <portaudio.h>
#include <stdatomic.h>

#include "jds-audio-output.h"

struct _JdsAudioOutput
{
  GObject parent_instance;

  /* The sound: read by the callback, never changed after construction. */
  float  *samples;
  gsize   n_samples;
  int     sample_rate;
  gint64  duration_us;
  double  length_samples;   /* duration in clip samples (where the callback wraps or stops) */

  /* What the callback shares with the control thread. It reads read_pos, step and the channel
   * count only between Pa_StartStream and Pa_AbortStream, when the control thread leaves them
   * alone; the rest are atomics. */
  double       read_pos;    /* in clip samples */
  double       step;        /* clip samples per device frame */
  int          channels;
  atomic_llong frames_out;  /* device frames handed over since the last start */
  atomic_int   loop;
  _Atomic float gain;

  /* Control state, under mutex (the position may be read from any thread). */
  GMutex     mutex;
  int        device;
  PaStream  *stream;
  int        device_rate;
  double     latency_s;
  gboolean   playing;
  gint64     start_position_us;  /* where the current run started */
  gint64     start_time_us;      /* g_get_monotonic_time at that start (silent clock) */
  gint64     paused_position_us;
  char      *silent_reason;      /* set once; never freed before finalize */
};

G_DEFINE_FINAL_TYPE (JdsAudioOutput, jds_audio_output, G_TYPE_OBJECT)

/* PortAudio's own state is process-wide: initialised once, on the first play that needs it. */
static PaError
portaudio_ready (void)
{
  static gsize once = 0;
  static PaError status = paNoError;
  if (g_once_init_enter (&once))
    {
      status = Pa_Initialize ();
      g_once_init_leave (&once, 1);
    }
  return status;
}

/* The device's thread: no allocation, no lock, no printing. */
static int
on_audio (const void                     *input,
          void                           *output,
          unsigned long                   n_frames,
          const PaStreamCallbackTimeInfo *time_info,
          PaStreamCallbackFlags           flags,
          void                           *user_data)
{
  JdsAudioOutput *self = user_data;
  float *out = output;
  float gain = atomic_load_explicit (&self->gain, memory_order_relaxed);
  gboolean loop = atomic_load_explicit (&self->loop, memory_order_relaxed);
  double pos = self->read_pos;
  double length = self->length_samples;

  for (unsigned long i = 0; i < n_frames; i++)
    {
      if (pos >= length && loop && length > 0)
        pos = fmod (pos, length);
      float value = 0.0f;
      if (pos < length)
        {
          gsize k = (gsize) pos;
          double frac = pos - (double) k;
          float a = k < self->n_samples ? self->samples[k] : 0.0f;
          float b = k + 1 < self->n_samples && (double) (k + 1) < length ? self->samples[k + 1] : 0.0f;
          value = gain * (a + (float) frac * (b - a));
        }
      for (int c = 0; c < self->channels; c++)
        *out++ = value;
      pos += self->step;
    }
  self->read_pos = pos;
  atomic_fetch_add_explicit (&self->frames_out, (long long) n_frames, memory_order_release);
  return paContinue;
}

/* Microseconds the current run has played, by the silent clock or by the counted frames. Called
 * with the mutex held. */
static gint64
run_elapsed_locked (JdsAudioOutput *self)
{
  if (self->stream == NULL || self->silent_reason != NULL)
    return g_get_monotonic_time () - self->start_time_us;
  long long frames = atomic_load_explicit (&self->frames_out, memory_order_acquire);
  double played = (double) frames / self->device_rate - self->latency_s;
  return played > 0 ? (gint64) (played * G_USEC_PER_SEC) : 0;
}

static gint64
wrap_locked (JdsAudioOutput *self, gint64 position)
{
  if (position < 0)
    return 0;
  if (position <= self->duration_us)
    return position;
  if (atomic_load (&self->loop) && self->duration_us > 0)
    return position % self->duration_us;
  return self->duration_us;
}

static gint64
position_locked (JdsAudioOutput *self)
{
  if (!self->playing)
    return self->paused_position_us;
  return wrap_locked (self, self->start_position_us + run_elapsed_locked (self));
}

/* From now on the clock is silent; the position continues from where it is. */
static void
go_silent_locked (JdsAudioOutput *self, char *reason)
{
  if (self->silent_reason != NULL)
    {
      g_free (reason);
      return;
    }
  gint64 position = position_locked (self);
  if (self->stream != NULL)
    {
      Pa_AbortStream (self->stream);
      Pa_CloseStream (self->stream);
      self->stream = NULL;
    }
  self->device_rate = 0;
  self->silent_reason = reason;
  g_debug ("Audio output: %s", reason);
  if (self->playing)
    {
      self->start_position_us = position;
      self->start_time_us = g_get_monotonic_time ();
    }
  else
    self->paused_position_us = position;
}

/* Opens the device at the first rate and channel count it accepts. */
static gboolean
open_stream_locked (JdsAudioOutput *self)
{
  PaError status = portaudio_ready ();
  if (status != paNoError)
    {
      go_silent_locked (self, g_strdup_printf ("No sound device: playing silently (%s)",
                                               Pa_GetErrorText (status)));
      return FALSE;
    }
  PaDeviceIndex device = self->device >= 0 ? self->device : Pa_GetDefaultOutputDevice ();
  if (device == paNoDevice)
    {
      go_silent_locked (self, g_strdup ("No sound device: playing silently"));
      return FALSE;
    }
  const PaDeviceInfo *info = Pa_GetDeviceInfo (device);

  PaStreamParameters params = {
    .device = device,
    .channelCount = 1,
    .sampleFormat = paFloat32,
    .suggestedLatency = info != NULL ? info->defaultHighOutputLatency : 0.1,
  };
  double rates[2] = { self->sample_rate, info != NULL ? info->defaultSampleRate : 48000 };
  double rate = rates[0];
  gboolean found = FALSE;
  for (int r = 0; r < 2 && !found; r++)
    for (int channels = 1; channels <= 2 && !found; channels++)
      {
        params.channelCount = channels;
        rate = rates[r];
        found = rate > 0 && Pa_IsFormatSupported (NULL, &params, rate) == paFormatIsSupported;
      }
  if (!found)
    {
      /* Let Pa_OpenStream say why in its own words. */
      params.channelCount = 1;
      rate = rates[0];
    }

  self->channels = params.channelCount;
  PaStream *stream = NULL;
  status = Pa_OpenStream (&stream, NULL, &params, rate, paFramesPerBufferUnspecified,
                          paNoFlag, on_audio, self);
  if (status != paNoError)
    {
      if (info != NULL)
        go_silent_locked (self, g_strdup_printf ("The sound device “%s” could not be opened (%s): "
                                                 "playing silently", info->name,
                                                 Pa_GetErrorText (status)));
      else
        go_silent_locked (self, g_strdup_printf ("Sound device %d could not be opened (%s): "
                                                 "playing silently", device,
                                                 Pa_GetErrorText (status)));
      return FALSE;
    }
  const PaStreamInfo *stream_info = Pa_GetStreamInfo (stream);
  self->stream = stream;
  self->device_rate = (int) (stream_info != NULL && stream_info->sampleRate > 0
                             ? stream_info->sampleRate : rate);
  self->latency_s = stream_info != NULL ? stream_info->outputLatency : 0;
  self->step = (double) self->sample_rate / self->device_rate;
  g_debug ("Audio output: device %d at %d Hz, %d channel(s), latency %.1f ms", device,
           self->device_rate, self->channels, self->latency_s * 1e3);
  return TRUE;
}

gboolean
jds_audio_output_play (JdsAudioOutput *self)
{
  g_return_val_if_fail (JDS_IS_AUDIO_OUTPUT (self), FALSE);
  g_mutex_lock (&self->mutex);
  if (!self->playing)
    {
      gint64 from = self->paused_position_us;
      if (from >= self->duration_us && !atomic_load (&self->loop))
        from = 0;
      if (self->silent_reason == NULL && self->stream == NULL)
        open_stream_locked (self);
      self->start_position_us = from;
      self->start_time_us = g_get_monotonic_time ();
      self->playing = TRUE;
      if (self->stream != NULL)
        {
          self->read_pos = (double) from * self->sample_rate / G_USEC_PER_SEC;
          atomic_store (&self->frames_out, 0);
          PaError status = Pa_StartStream (self->stream);
          if (status != paNoError)
            go_silent_locked (self, g_strdup_printf ("The sound device could not start (%s): "
                                                     "playing silently",
                                                     Pa_GetErrorText (status)));
        }
    }
  gboolean audible = self->silent_reason == NULL;
  g_mutex_unlock (&self->mutex);
  return audible;
}

void
jds_audio_output_pause (JdsAudioOutput *self)
{
  g_return_if_fail (JDS_IS_AUDIO_OUTPUT (self));
  g_mutex_lock (&self->mutex);
  if (self->playing)
    {
      self->paused_position_us = position_locked (self);
      self->playing = FALSE;
      if (self->stream != NULL)
        Pa_AbortStream (self->stream);
    }
  g_mutex_unlock (&self->mutex);
}

void
jds_audio_output_seek (JdsAudioOutput *self, gint64 position_us)
{
  g_return_if_fail (JDS_IS_AUDIO_OUTPUT (self));
  gboolean was_playing = jds_audio_output_get_playing (self);
  jds_audio_output_pause (self);
  g_mutex_lock (&self->mutex);
  self->paused_position_us = CLAMP (position_us, 0, self->duration_us);
  g_mutex_unlock (&self->mutex);
  if (was_playing)
    jds_audio_output_play (self);
}

void
jds_audio_output_set_loop (JdsAudioOutput *self, gboolean loop)
{
  g_return_if_fail (JDS_IS_AUDIO_OUTPUT (self));
  g_mutex_lock (&self->mutex);
  if (self->playing && !loop && atomic_load (&self->loop))
    {
      /* Keep the wrapped position: restart the run from it without looping. */
      gint64 position = position_locked (self);
      g_mutex_unlock (&self->mutex);
      jds_audio_output_pause (self);
      g_mutex_lock (&self->mutex);
      self->paused_position_us = position;
      atomic_store (&self->loop, FALSE);
      g_mutex_unlock (&self->mutex);
      jds_audio_output_play (self);
      return;
    }
  atomic_store (&self->loop, loop ? 1 : 0);
  g_mutex_unlock (&self->mutex);
}

void
jds_audio_output_set_volume (JdsAudioOutput *self, double volume)
{
  g_return_if_fail (JDS_IS_AUDIO_OUTPUT (self));
  atomic_store (&self->gain, (float) CLAMP (volume, 0.0, 1.0));
}

void
jds_audio_output_set_device (JdsAudioOutput *self, int device)
{
  g_return_if_fail (JDS_IS_AUDIO_OUTPUT (self));
  g_return_if_fail (device >= JDS_AUDIO_OUTPUT_NO_DEVICE);
  g_mutex_lock (&self->mutex);
  if (self->stream != NULL || self->playing)
    g_warning ("jds_audio_output_set_device: the device is chosen before the first play");
  else if (device == JDS_AUDIO_OUTPUT_NO_DEVICE)
    go_silent_locked (self, g_strdup ("Sound output is turned off: playing silently"));
  else
    self->device = device;
  g_mutex_unlock (&self->mutex);
}

gboolean
jds_audio_output_get_playing (JdsAudioOutput *self)
{
  g_return_val_if_fail (JDS_IS_AUDIO_OUTPUT (self), FALSE);
  g_mutex_lock (&self->mutex);
  gboolean playing = self->playing;
  g_mutex_unlock (&self->mutex);
  return playing;
}

gint64
jds_audio_output_get_position (JdsAudioOutput *self)
{
  g_return_val_if_fail (JDS_IS_AUDIO_OUTPUT (self), 0);
  g_mutex_lock (&self->mutex);
  /* A stream that stopped by itself (device unplugged, server gone) is noticed here. */
  if (self->playing && self->stream != NULL)
    {
      PaError active = Pa_IsStreamActive (self->stream);
      if (active != 1)
        go_silent_locked (self, g_strdup_printf ("The sound device stopped (%s): playing silently",
                                                 active < 0 ? Pa_GetErrorText (active)
                                                            : "the stream ended"));
    }
  gint64 position = position_locked (self);
  g_mutex_unlock (&self->mutex);
  return position;
}

gint64
jds_audio_output_get_duration (JdsAudioOutput *self)
{
  g_return_val_if_fail (JDS_IS_AUDIO_OUTPUT (self), 0);
  return self->duration_us;
}

const char *
jds_audio_output_get_silent_reason (JdsAudioOutput *self)
{
  g_return_val_if_fail (JDS_IS_AUDIO_OUTPUT (self), NULL);
  g_mutex_lock (&self->mutex);
  const char *reason = self->silent_reason;
  g_mutex_unlock (&self->mutex);
  return reason;
}

int
jds_audio_output_get_device_rate (JdsAudioOutput *self)
{
  g_return_val_if_fail (JDS_IS_AUDIO_OUTPUT (self), 0);
  g_mutex_lock (&self->mutex);
  int rate = self->silent_reason == NULL ? self->device_rate : 0;
  g_mutex_unlock (&self->mutex);
  return rate;
}

static void
jds_audio_output_finalize (GObject *object)
{
  JdsAudioOutput *self = JDS_AUDIO_OUTPUT (object);
  if (self->stream != NULL)
    {
      Pa_AbortStream (self->stream);
      Pa_CloseStream (self->stream);
    }
  g_free (self->samples);
  g_free (self->silent_reason);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (jds_audio_output_parent_class)->finalize (object);
}

static void
jds_audio_output_class_init (JdsAudioOutputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = jds_audio_output_finalize;
}

static void
jds_audio_output_init (JdsAudioOutput *self)
{
  g_mutex_init (&self->mutex);
  self->device = JDS_AUDIO_OUTPUT_DEFAULT_DEVICE;
  self->channels = 1;
  self->step = 1.0;
  atomic_init (&self->frames_out, 0);
  atomic_init (&self->loop, 0);
  atomic_init (&self->gain, 1.0f);
}

JdsAudioOutput *
jds_audio_output_new (const float *samples, gsize n_samples, int sample_rate, gint64 duration_us)
{
  g_return_val_if_fail (sample_rate > 0, NULL);
  g_return_val_if_fail (samples != NULL || n_samples == 0, NULL);
  JdsAudioOutput *self = g_object_new (JDS_TYPE_AUDIO_OUTPUT, NULL);
  self->samples = n_samples > 0 ? g_memdup2 (samples, n_samples * sizeof (float)) : NULL;
  self->n_samples = n_samples;
  self->sample_rate = sample_rate;
  self->duration_us = duration_us > 0
                      ? duration_us
                      : (gint64) ((double) n_samples * G_USEC_PER_SEC / sample_rate);
  self->length_samples = (double) self->duration_us * sample_rate / G_USEC_PER_SEC;
  if (n_samples == 0)
    self->silent_reason = g_strdup ("This clip has no sound");
  return self;
}
