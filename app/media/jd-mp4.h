/* jd-mp4.h — writing a clip as MP4: H.264 (libx264, yuv420p) video + AAC audio, through FFmpeg.
 *
 * Video frames are timed exactly: the stream's time base is fps_den / fps_num seconds and frame
 * i has pts i, so 32 frames at 25/2 fps last exactly 2.56 s. The audio is trimmed or padded with
 * silence to the video's duration (rounded to whole samples) before encoding, so both streams
 * end together (to within the AAC encoder's 1024-sample framing). The sample rate is kept when
 * the AAC encoder supports it (8000 … 96000 Hz, 16000 included) and otherwise resampled to
 * 48000 Hz with libswresample. Odd widths or heights are padded to even (yuv420p needs even
 * sizes) by repeating the last column or row, so no pixel of the picture is lost or resampled.
 *
 * Where libx264 is missing (the Flatpak GNOME runtime's FFmpeg), the built-in MPEG-4 Part 2
 * encoder is used instead and a warning says so (once per process).
 *
 * jd_mp4_write only reads what input points to; the caller keeps ownership of everything.
 * The first call lowers FFmpeg's log level from its default INFO to WARNING (libx264 prints a
 * dozen statistics lines per file at INFO); a program that set its own level keeps it.
 *
 * The file is written to PATH.XXXXXX.tmp in the same folder and renamed over path when the
 * trailer is written; on any failure the temporary file is removed, so no half file is left. */
#pragma once

#include "jd-image.h"
#include "jd-wav.h"

G_BEGIN_DECLS

/* The generation settings stored in the MP4 metadata as jointdit_seed, jointdit_steps,
 * jointdit_guidance, jointdit_omega_video, jointdit_omega_video_first, jointdit_omega_audio,
 * jointdit_model and jointdit_model_sha256 (numbers in C-locale notation, whatever the process
 * locale), plus a readable summary in the standard "comment" tag. Strings may be NULL (the key is
 * left out). */
typedef struct
{
  guint64     seed;
  int         steps;
  const char *guidance_mode;  /* e.g. "full" or "joint" */
  double      omega_video;    /* guidance scale ω for the video branch (at its last frame) */
  double      omega_video_first; /* ω_v at the first frame (ramping linearly to omega_video) */
  double      omega_audio;    /* guidance scale ω for the audio branch */
  const char *model_name;
  const char *model_sha256;   /* lower-case hex digest of the model bundle */
} JdMediaSettings;

typedef struct
{
  JdImage *const *frames;     /* n_frames images, all of one size, 3 or 4 channels (alpha ignored) */
  guint           n_frames;   /* > 0 */
  int             fps_num;    /* frame rate fps_num / fps_den, e.g. 25 / 2 = 12.5 fps */
  int             fps_den;
  const JdAudio  *audio;      /* mono or stereo; NULL writes a file with no audio stream */
  const JdMediaSettings *settings; /* NULL writes no jointdit_* metadata */
  int             crf;        /* libx264 constant rate factor; 0 picks the default, 18 */
  gboolean        use_fallback_encoder; /* MPEG-4 Part 2 even where libx264 exists (tests) */
} JdMp4Input;

/* A frame rate as a fraction with a small denominator, for JdMp4Input (12.5 → 25/2,
 * 29.97002997… → 30000/1001); rates that no denominator up to 1001 fits become n/1000. */
void jd_mp4_fps_fraction (double fps, int *fps_num, int *fps_den);

/* The name of the video encoder jd_mp4_write will use: "libx264" or the fallback "mpeg4". */
const char *jd_mp4_video_encoder_name (void);

gboolean jd_mp4_write (const char *path, const JdMp4Input *input, GError **error);

G_END_DECLS
