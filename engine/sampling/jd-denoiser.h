/* jd-denoiser.h — what the sampler asks of a joint denoiser.
 *
 * The sampler does not know the network: it hands the current latents of both modalities and
 * one paired noise level (σ_v, t_a) and gets clean-latent predictions x̂₀ back, for one or two
 * calls at once (the positive and the negative call of a guided step, which the denoiser runs
 * as one batch). The JointDiT model implements this; tests use analytic denoisers.
 */
#pragma once

#include "jd-guidance.h"
#include "jd-schedule.h"
#include "jd-tensor.h"

G_BEGIN_DECLS

#define JD_DENOISE_MAX_CALLS 2

typedef struct {
  gboolean        conditioned; /* FALSE: the null condition ∅ */
  JdAttentionMode attention;
} JdDenoiseCall;

typedef struct {
  const JdTensor *video;        /* current video latent (T, C, H, W) */
  const JdTensor *audio;        /* current audio latent (C, F, L) */
  JdSchedulePoint point;        /* σ_v and t_a of this step */
  int             n_calls;      /* 1 or 2 */
  JdDenoiseCall   calls[JD_DENOISE_MAX_CALLS];
  JdTensor       *x0_video[JD_DENOISE_MAX_CALLS]; /* outputs, shaped like video */
  JdTensor       *x0_audio[JD_DENOISE_MAX_CALLS]; /* outputs, shaped like audio */
} JdDenoiseRequest;

typedef struct _JdDenoiser JdDenoiser;

typedef struct {
  gboolean (*denoise) (JdDenoiser *self, const JdDenoiseRequest *request, GError **error);
} JdDenoiserClass;

struct _JdDenoiser {
  const JdDenoiserClass *klass;
};

static inline gboolean
jd_denoiser_denoise (JdDenoiser *denoiser, const JdDenoiseRequest *request, GError **error)
{
  return denoiser->klass->denoise (denoiser, request, error);
}

G_END_DECLS
