/* jd-visual-events.h — the times of visible events in a clip, to a fraction of a frame.
 *
 * Two kinds of event, both found from how the picture changes, not from what it shows:
 * - Impacts: sudden changes of the moving foreground's velocity. The foreground is each pixel's
 *   difference from the clip's per-pixel median; its centroid c(k) per frame gives the second
 *   difference a(k) = c(k+1) − 2c(k) + c(k−1), from which the steady acceleration (gravity, a
 *   swing: the median of a over frames that move and accelerate, taken twice, the second time
 *   without the frames far from the first) is removed. An impact is a peak of |a| above a
 *   noise-based limit that stands out from at least one side two frames away and does not
 *   point along the motion before it (an impact stops or turns a motion). A velocity jump at time t inside a
 *   frame spreads over three second differences whose centre of mass, with frame k at its
 *   centre time (k + ½)/fps, is exactly t for box-filtered (motion-blurred) frames, so the time
 *   is the centre of mass of a along the peak's direction over the peak ± 1 frame.
 * - Brightness jumps: steps of the mean luma B(k). The step is modelled as a jump that decays
 *   exponentially (a plain step is the limit): from B in the frame where it starts and the two
 *   after, both the decay and the lit fraction of the first frame follow in closed form.
 * Motion within ±2 frames of a brightness jump is not counted as an impact (the light moves
 *   the centroid). Frame k covers [k/fps, (k+1)/fps) (DESIGN.md §3). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JD_VISUAL_EVENT_IMPACT,
  JD_VISUAL_EVENT_BRIGHTNESS,
} JdVisualEventKind;

typedef struct {
  double            time;      /* seconds */
  JdVisualEventKind kind;
  double            strength;  /* impact: |Δv| in pixels per frame; brightness: luma levels */
} JdVisualEvent;

/* Events of n_frames RGB8 frames (n_frames × height × width × 3 bytes), ascending in time: a new
 * array (g_free), count in *n_events. Fails with JD_ERROR_INVALID_ARGUMENT for fewer than 4
 * frames, a size below 2 × 2 or fps ≤ 0. */
JdVisualEvent *jd_visual_events (const guint8 *rgb, gsize n_frames, int width, int height,
                                 double fps, gsize *n_events, GError **error);

/* The sub-frame parts, exposed for the tests. Centre of mass of w[0..2] placed at frames
 * k − 1, k, k + 1 (negative weights count as zero), in frames; k when all are zero. */
double jd_visual_kink_time (const double *w, int k);
/* Where inside frame 0 a decaying step started, as a fraction of the frame in [0, 1), from the
 * excess brightness of that frame and the next two over the frame before. */
double jd_visual_step_phase (double b0, double b1, double b2);

G_END_DECLS
