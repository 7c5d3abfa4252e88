/* jd-guidance.h — guidance modes and scales (paper §3.4, DESIGN.md §5).
 *
 *   D_guided = D(v, a; i) + ω · (D(v, a; i) − N)
 *
 * with D the joint denoiser's clean-latent prediction and N the negative term of the mode:
 *   none        no negative call (ω ignored)
 *   cfg         N = D(v, a; ∅)                      vanilla classifier-free guidance
 *   joint       N = [D(v; ∅), D(a; ∅)]              JointCFG: block-diagonal joint attention
 *   joint-star  N = [D*(v; ∅), D*(a; ∅)]            JointCFG*: joint attention skipped
 * ω here is diffusers' guidance scale minus one. ω_v and ω_a are separate (linked by default);
 * ω_v may ramp linearly across frames. When ω_v = ω_a = 0 the negative call is skipped, so all
 * modes give identical results.
 *
 * A JdGuidance is shared between the thread that runs the sampler and the one that steers it
 * (the studio's controls): setters may be called at any time and take effect at the next step,
 * when the sampler takes a snapshot. A change of more than one field (a mode with its scales, a
 * ramp) goes through jd_guidance_set, which replaces everything under one lock; a sequence of the
 * single-field setters could let one step see half of it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  JD_GUIDANCE_NONE,
  JD_GUIDANCE_CFG,
  JD_GUIDANCE_JOINT,
  JD_GUIDANCE_JOINT_STAR,
} JdGuidanceMode;

#define JD_GUIDANCE_MODE_COUNT 4

/* How the negative call treats the joint attention layers. */
typedef enum {
  JD_ATTENTION_FULL,            /* both modalities attend to each other */
  JD_ATTENTION_BLOCK_DIAGONAL,  /* each modality attends only to itself */
  JD_ATTENTION_SKIP,            /* the joint attention layers are removed */
} JdAttentionMode;

/* What one step needs, taken at once so a step never mixes settings. */
typedef struct {
  JdGuidanceMode mode;
  double         omega_video_first;  /* ω_v at the first frame */
  double         omega_video_last;   /* ω_v at the last frame (equal to the first: no ramp) */
  double         omega_audio;
} JdGuidanceSnapshot;

typedef struct _JdGuidance JdGuidance;

/* "none", "cfg", "joint", "joint-star" */
const char     *jd_guidance_mode_name  (JdGuidanceMode mode);
gboolean        jd_guidance_mode_parse (const char     *name,
                                        JdGuidanceMode *mode);

JdGuidance     *jd_guidance_new        (void);
void            jd_guidance_free       (JdGuidance    *guidance);
void            jd_guidance_set_mode   (JdGuidance    *guidance,
                                        JdGuidanceMode mode);
/* Sets ω_v (constant across frames) and ω_a. Scales must be finite and ≥ 0. */
gboolean        jd_guidance_set_omega  (JdGuidance    *guidance,
                                        double         omega_video,
                                        double         omega_audio,
                                        GError       **error);
/* Replaces every setting at once: the mode, a linear ω_v ramp from the first frame to the last
 * (SVD's own: 0 → 2; first = last for none) and ω_a. Refused, leaving the old settings in place,
 * when the mode is unknown or a scale is not finite and ≥ 0. */
gboolean        jd_guidance_set        (JdGuidance               *guidance,
                                        const JdGuidanceSnapshot *settings,
                                        GError                  **error);
JdGuidanceSnapshot jd_guidance_snapshot (JdGuidance   *guidance);

/* Whether a step with these settings needs the negative call at all. */
gboolean        jd_guidance_needs_negative (const JdGuidanceSnapshot *snapshot);
/* The attention mode of the negative call (the positive call is always full). */
JdAttentionMode jd_guidance_negative_attention (JdGuidanceMode mode);
/* ω_v of frame `frame` of `n_frames`. */
double          jd_guidance_video_omega (const JdGuidanceSnapshot *snapshot,
                                         int                       frame,
                                         int                       n_frames);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdGuidance, jd_guidance_free)

G_END_DECLS
