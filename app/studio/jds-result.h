/* jds-result.h — one finished generation: the engine's clip, the frames the canvas shows and the
 * settings that made it (for export metadata and for restoring it from the history). */
#pragma once

#include "jointdit.h"
#include "jd-mp4.h"
#include "jds-frames.h"

G_BEGIN_DECLS

typedef struct
{
  JdResult       *clip;            /* owned */
  JdsFrames      *frames;          /* decoded frames + a spectrogram of the sound */
  GBytes         *source_bytes;    /* the picture it started from, as loaded */
  char           *source_name;     /* its display name, e.g. "cat.jpg" */
  guint64         seed;
  int             steps;
  JdGuidanceMode  mode;
  double          omega_video;     /* ω_v at the last frame */
  double          omega_video_first; /* ω_v at the first frame (a linear ramp between) */
  double          omega_audio;
  char           *model_name;
  char           *model_sha256;
  gboolean        exported;
  guint           batch;           /* 0: a run of the window; else a compare batch */
} JdsResult;

#define JDS_TYPE_RESULT (jds_result_get_type ())
GType      jds_result_get_type (void) G_GNUC_CONST;

/* Takes clip; makes the frames (with a spectrogram of the PCM when mel is NULL). */
JdsResult *jds_result_new   (JdResult        *clip,
                             const JdsFrames *last_preview);
JdsResult *jds_result_ref   (JdsResult       *result);
void       jds_result_unref (JdsResult       *result);
/* The settings that made it, as export writes them into the file's metadata. */
JdMediaSettings jds_result_media_settings (const JdsResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdsResult, jds_result_unref)

G_END_DECLS
