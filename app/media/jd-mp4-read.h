/* jd-mp4-read.h — reading a clip back from a video file (MP4 or anything FFmpeg demuxes):
 * every frame of the first video stream as RGB8 and the first audio stream as float samples at
 * its own rate, mixed to mono. For `jointdit eval`, which measures what was written.
 *
 * Frames are converted with libswscale (BT.601, limited range unless the stream says
 * otherwise, chroma upsampled bilinearly); the frame rate is the stream's average rate. */
#pragma once

#include "jd-image.h"
#include "jd-wav.h"

G_BEGIN_DECLS

/* Clips longer than this many frames are refused rather than held in memory. */
#define JD_MP4_READ_MAX_FRAMES 100000

typedef struct
{
  JdImage **frames;    /* n_frames RGB8 images of one size, owned */
  guint     n_frames;
  double    fps;       /* frames per second */
  JdAudio  *audio;     /* mono float; NULL when the file has no audio stream */
} JdVideoClip;

/* Errors (JD_MEDIA_ERROR) name the file: IO (cannot open), DAMAGED (not a media file, or a
 * stream that does not decode), UNSUPPORTED (no video stream, no decoder), TOO_LARGE. */
JdVideoClip *jd_video_clip_read (const char *path, GError **error);
void         jd_video_clip_free (JdVideoClip *clip);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdVideoClip, jd_video_clip_free)

G_END_DECLS
