/* jd-sampler.h — the joint sampling loop (DESIGN.md §5).
 *
 * Walks the unified-timestep grid; at each point one denoiser request (positive call, plus the
 * negative call when guidance needs it, as one batch), guidance applied to x̂₀, then an EDM
 * Euler step for video and a DDIM (η = 0) step for audio; the last step returns x̂₀ of both.
 * Initial noise: video N(0,1)·√(σ_max² + 1), audio N(0,1), drawn with Philox from the seed
 * (video from element offset JD_NOISE_OFFSET_VIDEO, audio from JD_NOISE_OFFSET_AUDIO), so a seed
 * gives the same noise on every backend. Cancellation is checked before every denoiser request.
 */
#pragma once

#include <gio/gio.h>

#include "jd-backend.h"
#include "jd-denoiser.h"

G_BEGIN_DECLS

#define JD_NOISE_OFFSET_VIDEO   UINT64_C (0)
#define JD_NOISE_OFFSET_AUDIO   (UINT64_C (1) << 40)
#define JD_NOISE_OFFSET_CONDITION (UINT64_C (2) << 40)

/* Handed to the step callback after every step. */
typedef struct {
  int                 step;       /* 1-based */
  int                 total;
  JdSchedulePoint     point;
  JdGuidanceSnapshot  guidance;   /* the settings this step used */
  gboolean            negative_called;
  double              elapsed_s;
  double              eta_s;      /* remaining, from the mean step time so far */
  const JdTensor     *x0_video;   /* guided x̂₀ of this step (previews) */
  const JdTensor     *x0_audio;
} JdSamplerProgress;

typedef void (*JdSamplerStepFunc) (const JdSamplerProgress *progress,
                                   gpointer                 user_data);

typedef struct {
  int               steps;
  uint64_t          seed;
  JdGuidance       *guidance;   /* read at every step; may be changed from another thread */
  GCancellable     *cancellable;
  JdSamplerStepFunc on_step;
  gpointer          user_data;
} JdSamplerParams;

/* Samples latents of the given shapes; *video_out / *audio_out receive new tensors. */
gboolean jd_sample (JdBackend             *backend,
                    JdDenoiser            *denoiser,
                    const JdSchedule      *schedule,
                    int                    video_ndim,
                    const int64_t         *video_shape,
                    int                    audio_ndim,
                    const int64_t         *audio_shape,
                    const JdSamplerParams *params,
                    JdTensor             **video_out,
                    JdTensor             **audio_out,
                    GError               **error);

G_END_DECLS
