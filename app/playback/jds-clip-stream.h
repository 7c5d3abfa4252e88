/* jds-clip-stream.h — a generated clip as a GtkMediaStream, for a GtkVideo or GtkMediaControls.
 *
 * The sound drives the picture: the frame shown is floor(position × fps) of the audio clock
 * (JdsAudioOutput: frames handed to the device less its latency, or a silent clock when no
 * sound can be played). Play, pause, seek and loop follow GtkMediaStream; the duration is the
 * video's (frames ÷ fps), the sound is cut or padded with silence to it, as in the MP4 export.
 *
 * PortAudio starts on the first play, not before. When the sound cannot be played the stream
 * keeps playing on the silent clock and the "silent-reason" property (notified when set) holds
 * a sentence for the user: "No sound device: playing silently".
 *
 * As a GdkPaintable it draws the current frame. 64×64 frames stay crisp when drawn large: GTK
 * 4.8 cannot scale a texture without smoothing, so the frame is upscaled here by a whole factor
 * (nearest neighbour) into a GdkMemoryTexture first. "upscale" picks the factor: 0 (default)
 * picks the smallest factor that covers the size drawn, 1 draws the frame as it is, n > 1 always
 * uses n. The intrinsic size is the frame's size times max(upscale, 1).
 *
 * Main thread only (like every GtkMediaStream).
 */
#pragma once

#include <gtk/gtk.h>

#include "jds-audio-output.h"
#include "jointdit.h"

G_BEGIN_DECLS

/* The largest factor "upscale" takes (64 px × 16 = 1024 px). */
#define JDS_CLIP_STREAM_MAX_UPSCALE 16

#define JDS_TYPE_CLIP_STREAM (jds_clip_stream_get_type ())
G_DECLARE_FINAL_TYPE (JdsClipStream, jds_clip_stream, JDS, CLIP_STREAM, GtkMediaStream)

/* A prepared stream over a copy of result's frames and sound (result may be freed afterwards).
 * NULL (with a critical) when the result has no frames or no positive fps. */
JdsClipStream  *jds_clip_stream_new                (const JdResult *result);

/* Chooses the sound device before the first play (see jds_audio_output_set_device;
 * JDS_AUDIO_OUTPUT_NO_DEVICE plays silently without touching PortAudio). */
void            jds_clip_stream_set_audio_device   (JdsClipStream  *self,
                                                    int             device);
JdsAudioOutput *jds_clip_stream_get_audio_output   (JdsClipStream  *self);
/* NULL while the sound plays (or before the first play); then the reason it is silent. */
const char     *jds_clip_stream_get_silent_reason  (JdsClipStream  *self);

int             jds_clip_stream_get_n_frames       (JdsClipStream  *self);
double          jds_clip_stream_get_fps            (JdsClipStream  *self);
/* The frame index of a timestamp (floor(t × fps), within [0, n_frames − 1]). */
int             jds_clip_stream_frame_at           (JdsClipStream  *self,
                                                    gint64          timestamp_us);
/* The frame shown now. */
int             jds_clip_stream_get_frame_index    (JdsClipStream  *self);

void            jds_clip_stream_set_upscale        (JdsClipStream  *self,
                                                    int             factor);
int             jds_clip_stream_get_upscale        (JdsClipStream  *self);

/* Frame `index` as a new texture, upscaled by factor (1 … JDS_CLIP_STREAM_MAX_UPSCALE) with
 * nearest-neighbour sampling (RGBA8, straight alpha). */
GdkTexture     *jds_clip_stream_get_frame_texture  (JdsClipStream  *self,
                                                    int             index,
                                                    int             factor);
/* The frame shown now, for the clipboard (gdk_clipboard_set_texture) or a drag: a new texture
 * upscaled by factor (1: the frame as generated). */
GdkTexture     *jds_clip_stream_copy_current_frame (JdsClipStream  *self,
                                                    int             factor);

/* Reads the clock now and moves the picture (and the stream's timestamp) to it; the stream
 * does this itself about every 16 ms while playing. Ends the stream at the end unless it
 * loops. */
void            jds_clip_stream_tick               (JdsClipStream  *self);

G_END_DECLS
