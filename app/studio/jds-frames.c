/* jds-frames.c — reference-counted frames + mel pictures for the canvas. */
#include "jds-frames.h"

#include <string.h>

G_DEFINE_BOXED_TYPE (JdsFrames, jds_frames, jds_frames_ref, jds_frames_unref)

JdsFrames *
jds_frames_new (int           n_frames,
                int           width,
                int           height,
                const guint8 *frames,
                int           mel_width,
                int           mel_height,
                const guint8 *mel)
{
  g_return_val_if_fail (n_frames > 0 && width > 0 && height > 0 && frames != NULL, NULL);

  JdsFrames *self = g_atomic_rc_box_new0 (JdsFrames);
  self->n_frames = n_frames;
  self->width = width;
  self->height = height;
  self->frames = g_bytes_new (frames, (gsize) n_frames * width * height * 4);
  if (mel != NULL && mel_width > 0 && mel_height > 0)
    {
      self->mel_width = mel_width;
      self->mel_height = mel_height;
      self->mel = g_bytes_new (mel, (gsize) mel_width * mel_height * 4);
    }
  return self;
}

JdsFrames *
jds_frames_ref (JdsFrames *frames)
{
  return g_atomic_rc_box_acquire (frames);
}

static void
jds_frames_clear (gpointer data)
{
  JdsFrames *self = data;
  g_clear_pointer (&self->frames, g_bytes_unref);
  g_clear_pointer (&self->mel, g_bytes_unref);
}

void
jds_frames_unref (JdsFrames *frames)
{
  g_atomic_rc_box_release_full (frames, jds_frames_clear);
}

const guint8 *
jds_frames_get_frame (const JdsFrames *frames,
                      int              index)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (frames->frames, &size);
  index = CLAMP (index, 0, frames->n_frames - 1);
  return data + (gsize) index * frames->width * frames->height * 4;
}

GBytes *
jds_frames_make_strip (const JdsFrames *frames,
                       int             *strip_width,
                       int             *strip_height)
{
  int gap = 1;
  int w = frames->n_frames * frames->width + (frames->n_frames - 1) * gap;
  int h = frames->height;
  /* The gaps stay transparent, so the widget's background shows between frames. */
  guint8 *out = g_malloc0 ((gsize) w * h * 4);
  for (int f = 0; f < frames->n_frames; f++)
    {
      const guint8 *src = jds_frames_get_frame (frames, f);
      for (int y = 0; y < h; y++)
        memcpy (out + ((gsize) y * w + (gsize) f * (frames->width + gap)) * 4,
                src + (gsize) y * frames->width * 4, (gsize) frames->width * 4);
    }
  *strip_width = w;
  *strip_height = h;
  return g_bytes_new_take (out, (gsize) w * h * 4);
}
