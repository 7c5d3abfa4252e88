/* jds-clip-stream.c — frames and sound of a generated clip as a GtkMediaStream. */
#include <math.h>
#include <string.h>

#include "jds-clip-stream.h"

/* How often the picture follows the clock while playing: faster than any display's frame, so
 * a frame change is never late by more than this. */
#define TICK_MS 16

struct _JdsClipStream
{
  GtkMediaStream parent_instance;

  GBytes         *frames;      /* n_frames × height × width × 4 bytes, RGBA8 */
  int             n_frames;
  int             width;
  int             height;
  double          fps;
  JdsAudioOutput *audio;

  int             upscale;
  int             frame_index;
  guint           tick_source;
  GdkTexture     *cached;      /* the current frame at cached_factor */
  int             cached_index;
  int             cached_factor;
};

enum {
  PROP_0,
  PROP_UPSCALE,
  PROP_SILENT_REASON,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void jds_clip_stream_paintable_init (GdkPaintableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (JdsClipStream, jds_clip_stream, GTK_TYPE_MEDIA_STREAM,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE,
                                                      jds_clip_stream_paintable_init))

int
jds_clip_stream_frame_at (JdsClipStream *self, gint64 timestamp_us)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), 0);
  double index = floor ((double) timestamp_us * self->fps / G_USEC_PER_SEC);
  return (int) CLAMP (index, 0, self->n_frames - 1);
}

GdkTexture *
jds_clip_stream_get_frame_texture (JdsClipStream *self, int index, int factor)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), NULL);
  g_return_val_if_fail (index >= 0 && index < self->n_frames, NULL);
  g_return_val_if_fail (factor >= 1 && factor <= JDS_CLIP_STREAM_MAX_UPSCALE, NULL);

  gsize stride = (gsize) self->width * 4;
  gsize frame_bytes = stride * self->height;
  if (factor == 1)
    {
      g_autoptr (GBytes) frame = g_bytes_new_from_bytes (self->frames, index * frame_bytes,
                                                         frame_bytes);
      return gdk_memory_texture_new (self->width, self->height, GDK_MEMORY_R8G8B8A8, frame,
                                     stride);
    }

  const guint8 *src = (const guint8 *) g_bytes_get_data (self->frames, NULL) + index * frame_bytes;
  int out_width = self->width * factor, out_height = self->height * factor;
  gsize out_stride = (gsize) out_width * 4;
  guint8 *out = g_malloc (out_stride * out_height);
  for (int y = 0; y < self->height; y++)
    {
      /* Widen one source row, then repeat it factor times. */
      const guint32 *in_row = (const guint32 *) (src + y * stride);
      guint32 *first = (guint32 *) (out + (gsize) y * factor * out_stride);
      for (int x = 0; x < self->width; x++)
        for (int k = 0; k < factor; k++)
          first[x * factor + k] = in_row[x];
      for (int k = 1; k < factor; k++)
        memcpy ((guint8 *) first + k * out_stride, first, out_stride);
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (out, out_stride * out_height);
  return gdk_memory_texture_new (out_width, out_height, GDK_MEMORY_R8G8B8A8, bytes, out_stride);
}

GdkTexture *
jds_clip_stream_copy_current_frame (JdsClipStream *self, int factor)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), NULL);
  return jds_clip_stream_get_frame_texture (self, self->frame_index, factor);
}

/* The current frame at factor, kept until the frame or the factor changes. */
static GdkTexture *
current_texture (JdsClipStream *self, int factor)
{
  if (self->cached == NULL || self->cached_index != self->frame_index
      || self->cached_factor != factor)
    {
      g_clear_object (&self->cached);
      self->cached = jds_clip_stream_get_frame_texture (self, self->frame_index, factor);
      self->cached_index = self->frame_index;
      self->cached_factor = factor;
    }
  return self->cached;
}

static void
show_frame (JdsClipStream *self, int index)
{
  if (index == self->frame_index)
    return;
  self->frame_index = index;
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

static void
notice_silence (JdsClipStream *self, const char *reason_before)
{
  if (reason_before == NULL && jds_audio_output_get_silent_reason (self->audio) != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SILENT_REASON]);
}

void
jds_clip_stream_tick (JdsClipStream *self)
{
  g_return_if_fail (JDS_IS_CLIP_STREAM (self));
  GtkMediaStream *stream = GTK_MEDIA_STREAM (self);
  const char *reason_before = jds_audio_output_get_silent_reason (self->audio);
  gint64 position = jds_audio_output_get_position (self->audio);
  gint64 duration = jds_audio_output_get_duration (self->audio);
  notice_silence (self, reason_before);

  if (!gtk_media_stream_get_loop (stream) && position >= duration
      && jds_audio_output_get_playing (self->audio))
    {
      show_frame (self, self->n_frames - 1);
      gtk_media_stream_update (stream, duration);
      /* Pauses through our pause vfunc, which stops the sound and the ticks. */
      if (!gtk_media_stream_get_ended (stream))
        gtk_media_stream_stream_ended (stream);
      return;
    }
  show_frame (self, jds_clip_stream_frame_at (self, position));
  gtk_media_stream_update (stream, position);
}

static gboolean
on_tick (gpointer user_data)
{
  jds_clip_stream_tick (user_data);
  return G_SOURCE_CONTINUE;
}

static void
stop_ticking (JdsClipStream *self)
{
  g_clear_handle_id (&self->tick_source, g_source_remove);
}

static gboolean
jds_clip_stream_play (GtkMediaStream *stream)
{
  JdsClipStream *self = JDS_CLIP_STREAM (stream);
  /* Play after the end starts again from the beginning. */
  if (gtk_media_stream_get_ended (stream)
      || jds_audio_output_get_position (self->audio) >= jds_audio_output_get_duration (self->audio))
    jds_audio_output_seek (self->audio, 0);
  const char *reason_before = jds_audio_output_get_silent_reason (self->audio);
  jds_audio_output_set_loop (self->audio, gtk_media_stream_get_loop (stream));
  jds_audio_output_play (self->audio);
  notice_silence (self, reason_before);
  if (self->tick_source == 0)
    self->tick_source = g_timeout_add (TICK_MS, on_tick, self);
  return TRUE;
}

static void
jds_clip_stream_pause (GtkMediaStream *stream)
{
  JdsClipStream *self = JDS_CLIP_STREAM (stream);
  jds_audio_output_pause (self->audio);
  stop_ticking (self);
  gint64 position = jds_audio_output_get_position (self->audio);
  show_frame (self, jds_clip_stream_frame_at (self, position));
  gtk_media_stream_update (stream, position);
}

static void
jds_clip_stream_seek (GtkMediaStream *stream, gint64 timestamp)
{
  JdsClipStream *self = JDS_CLIP_STREAM (stream);
  jds_audio_output_seek (self->audio, timestamp);
  gint64 position = jds_audio_output_get_position (self->audio);
  show_frame (self, jds_clip_stream_frame_at (self, position));
  gtk_media_stream_seek_success (stream);
  gtk_media_stream_update (stream, position);
}

static void
jds_clip_stream_update_audio (GtkMediaStream *stream, gboolean muted, double volume)
{
  JdsClipStream *self = JDS_CLIP_STREAM (stream);
  jds_audio_output_set_volume (self->audio, muted ? 0.0 : volume);
}

static void
on_loop_changed (JdsClipStream *self, GParamSpec *pspec, gpointer user_data)
{
  jds_audio_output_set_loop (self->audio, gtk_media_stream_get_loop (GTK_MEDIA_STREAM (self)));
}

/* GdkPaintable */

static int
factor_for (JdsClipStream *self, double width, double height)
{
  if (self->upscale > 0)
    return self->upscale;
  double need = MAX (width / self->width, height / self->height);
  return (int) CLAMP (ceil (need - 1e-9), 1, JDS_CLIP_STREAM_MAX_UPSCALE);
}

static void
jds_clip_stream_paintable_snapshot (GdkPaintable *paintable,
                                    GdkSnapshot  *snapshot,
                                    double        width,
                                    double        height)
{
  JdsClipStream *self = JDS_CLIP_STREAM (paintable);
  GdkTexture *texture = current_texture (self, factor_for (self, width, height));
  gdk_paintable_snapshot (GDK_PAINTABLE (texture), snapshot, width, height);
}

static GdkPaintable *
jds_clip_stream_paintable_get_current_image (GdkPaintable *paintable)
{
  JdsClipStream *self = JDS_CLIP_STREAM (paintable);
  return GDK_PAINTABLE (jds_clip_stream_copy_current_frame (self, MAX (self->upscale, 1)));
}

static int
jds_clip_stream_paintable_get_intrinsic_width (GdkPaintable *paintable)
{
  JdsClipStream *self = JDS_CLIP_STREAM (paintable);
  return self->width * MAX (self->upscale, 1);
}

static int
jds_clip_stream_paintable_get_intrinsic_height (GdkPaintable *paintable)
{
  JdsClipStream *self = JDS_CLIP_STREAM (paintable);
  return self->height * MAX (self->upscale, 1);
}

static double
jds_clip_stream_paintable_get_intrinsic_aspect_ratio (GdkPaintable *paintable)
{
  JdsClipStream *self = JDS_CLIP_STREAM (paintable);
  return (double) self->width / self->height;
}

static void
jds_clip_stream_paintable_init (GdkPaintableInterface *iface)
{
  iface->snapshot = jds_clip_stream_paintable_snapshot;
  iface->get_current_image = jds_clip_stream_paintable_get_current_image;
  iface->get_intrinsic_width = jds_clip_stream_paintable_get_intrinsic_width;
  iface->get_intrinsic_height = jds_clip_stream_paintable_get_intrinsic_height;
  iface->get_intrinsic_aspect_ratio = jds_clip_stream_paintable_get_intrinsic_aspect_ratio;
}

/* Accessors */

void
jds_clip_stream_set_audio_device (JdsClipStream *self, int device)
{
  g_return_if_fail (JDS_IS_CLIP_STREAM (self));
  const char *reason_before = jds_audio_output_get_silent_reason (self->audio);
  jds_audio_output_set_device (self->audio, device);
  notice_silence (self, reason_before);
}

JdsAudioOutput *
jds_clip_stream_get_audio_output (JdsClipStream *self)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), NULL);
  return self->audio;
}

const char *
jds_clip_stream_get_silent_reason (JdsClipStream *self)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), NULL);
  return jds_audio_output_get_silent_reason (self->audio);
}

int
jds_clip_stream_get_n_frames (JdsClipStream *self)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), 0);
  return self->n_frames;
}

double
jds_clip_stream_get_fps (JdsClipStream *self)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), 0);
  return self->fps;
}

int
jds_clip_stream_get_frame_index (JdsClipStream *self)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), 0);
  return self->frame_index;
}

void
jds_clip_stream_set_upscale (JdsClipStream *self, int factor)
{
  g_return_if_fail (JDS_IS_CLIP_STREAM (self));
  factor = CLAMP (factor, 0, JDS_CLIP_STREAM_MAX_UPSCALE);
  if (factor == self->upscale)
    return;
  self->upscale = factor;
  gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPSCALE]);
}

int
jds_clip_stream_get_upscale (JdsClipStream *self)
{
  g_return_val_if_fail (JDS_IS_CLIP_STREAM (self), 0);
  return self->upscale;
}

/* GObject */

static void
jds_clip_stream_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  JdsClipStream *self = JDS_CLIP_STREAM (object);
  switch (prop_id)
    {
    case PROP_UPSCALE:
      g_value_set_int (value, self->upscale);
      break;
    case PROP_SILENT_REASON:
      g_value_set_string (value, jds_clip_stream_get_silent_reason (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_clip_stream_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  JdsClipStream *self = JDS_CLIP_STREAM (object);
  switch (prop_id)
    {
    case PROP_UPSCALE:
      jds_clip_stream_set_upscale (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_clip_stream_dispose (GObject *object)
{
  JdsClipStream *self = JDS_CLIP_STREAM (object);
  stop_ticking (self);
  if (self->audio != NULL)
    jds_audio_output_pause (self->audio);
  g_clear_object (&self->audio);
  g_clear_object (&self->cached);
  G_OBJECT_CLASS (jds_clip_stream_parent_class)->dispose (object);
}

static void
jds_clip_stream_finalize (GObject *object)
{
  JdsClipStream *self = JDS_CLIP_STREAM (object);
  g_clear_pointer (&self->frames, g_bytes_unref);
  G_OBJECT_CLASS (jds_clip_stream_parent_class)->finalize (object);
}

static void
jds_clip_stream_class_init (JdsClipStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkMediaStreamClass *stream_class = GTK_MEDIA_STREAM_CLASS (klass);

  object_class->get_property = jds_clip_stream_get_property;
  object_class->set_property = jds_clip_stream_set_property;
  object_class->dispose = jds_clip_stream_dispose;
  object_class->finalize = jds_clip_stream_finalize;

  stream_class->play = jds_clip_stream_play;
  stream_class->pause = jds_clip_stream_pause;
  stream_class->seek = jds_clip_stream_seek;
  stream_class->update_audio = jds_clip_stream_update_audio;

  properties[PROP_UPSCALE] =
    g_param_spec_int ("upscale", NULL, NULL, 0, JDS_CLIP_STREAM_MAX_UPSCALE, 0,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SILENT_REASON] =
    g_param_spec_string ("silent-reason", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jds_clip_stream_init (JdsClipStream *self)
{
  self->cached_index = -1;
  g_signal_connect (self, "notify::loop", G_CALLBACK (on_loop_changed), NULL);
}

JdsClipStream *
jds_clip_stream_new (const JdResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (result->n_frames > 0 && result->width > 0 && result->height > 0, NULL);
  g_return_val_if_fail (result->frames != NULL && result->fps > 0, NULL);

  JdsClipStream *self = g_object_new (JDS_TYPE_CLIP_STREAM, NULL);
  self->n_frames = result->n_frames;
  self->width = result->width;
  self->height = result->height;
  self->fps = result->fps;
  self->frames = g_bytes_new (result->frames,
                              (gsize) result->n_frames * result->height * result->width * 4);
  gint64 duration = (gint64) llround (result->n_frames / result->fps * G_USEC_PER_SEC);
  gboolean has_sound = result->pcm != NULL && result->n_samples > 0 && result->sample_rate > 0;
  self->audio = jds_audio_output_new (has_sound ? result->pcm : NULL,
                                      has_sound ? result->n_samples : 0,
                                      has_sound ? result->sample_rate : 16000, duration);
  gtk_media_stream_stream_prepared (GTK_MEDIA_STREAM (self), has_sound, TRUE, TRUE, duration);
  return self;
}
