/* jds-frames.h — what the preview canvas draws: a clip's frames and a mel picture, both RGBA8.
 *
 * A JdsFrames is immutable once made and reference counted, so the worker thread can hand one
 * to the main loop (through the mailbox) and several widgets can hold it. The frames come from
 * the engine's preview maps while sampling (one pixel per latent) or from the decoded result;
 * the mel picture has time along x and frequency along y (low at the bottom). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct
{
  int     step;        /* the sampling step these frames show; step == total for a result */
  int     total;
  int     n_frames;
  int     width;
  int     height;
  GBytes *frames;      /* n_frames × height × width × 4 bytes, frame after frame */
  int     mel_width;   /* 0 when there is no mel picture */
  int     mel_height;
  GBytes *mel;         /* mel_height × mel_width × 4 bytes, or NULL */
  double  fps;
  double  seconds;     /* the sound's length, for the time axis */
} JdsFrames;

#define JDS_TYPE_FRAMES (jds_frames_get_type ())
GType      jds_frames_get_type (void) G_GNUC_CONST;

/* Takes copies of the pixels; mel may be NULL. */
JdsFrames *jds_frames_new   (int           n_frames,
                             int           width,
                             int           height,
                             const guint8 *frames,
                             int           mel_width,
                             int           mel_height,
                             const guint8 *mel);
JdsFrames *jds_frames_ref   (JdsFrames   *frames);
void       jds_frames_unref (JdsFrames   *frames);

/* A pointer to frame i's pixels (width × height × 4 bytes). */
const guint8 *jds_frames_get_frame (const JdsFrames *frames,
                                    int              index);

/* All frames side by side with a one-pixel gap, as one RGBA8 picture (the filmstrip). */
GBytes    *jds_frames_make_strip (const JdsFrames *frames,
                                  int             *strip_width,
                                  int             *strip_height);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdsFrames, jds_frames_unref)

G_END_DECLS
