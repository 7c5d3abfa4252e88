#include "jd-sampler.h"

#include <math.h>

#include "jd-error.h"
#include "jd-ops.h"

typedef struct {
  JdTensor *x0_video[JD_DENOISE_MAX_CALLS];
  JdTensor *x0_audio[JD_DENOISE_MAX_CALLS];
} Predictions;

static void
predictions_clear (Predictions *p)
{
  for (int i = 0; i < JD_DENOISE_MAX_CALLS; i++)
    {
      g_clear_pointer (&p->x0_video[i], jd_tensor_free);
      g_clear_pointer (&p->x0_audio[i], jd_tensor_free);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Predictions, predictions_clear)

/* x̂₀ ← x̂₀ + ω (x̂₀ − N) = (1 + ω) x̂₀ − ω N, in place; nothing at all when ω = 0 so that an
 * unguided modality stays bit-identical to the unguided run. */
static gboolean
apply_guidance (JdBackend      *backend,
                JdTensor       *x0,
                const JdTensor *negative,
                double          omega,
                GError        **error)
{
  if (omega == 0.0)
    return TRUE;
  return jd_axpby (backend, (float) (1.0 + omega), x0, (float) -omega, negative, x0, error);
}

/* Video guidance, frame by frame when ω ramps across frames (frames are the first dim). */
static gboolean
apply_video_guidance (JdBackend                *backend,
                      JdTensor                 *x0,
                      const JdTensor           *negative,
                      const JdGuidanceSnapshot *snapshot,
                      GError                  **error)
{
  if (snapshot->omega_video_first == snapshot->omega_video_last)
    return apply_guidance (backend, x0, negative, snapshot->omega_video_first, error);

  int frames = (int) x0->shape[0];
  int64_t frame_size = jd_tensor_numel (x0) / MAX (frames, 1);
  for (int f = 0; f < frames; f++)
    {
      g_autoptr (JdTensor) x0_frame = jd_tensor_new_view (backend, JD_DTYPE_F32, x0->ndim - 1,
                                                          x0->shape + 1,
                                                          (float *) x0->data + f * frame_size);
      g_autoptr (JdTensor) negative_frame = jd_tensor_new_view (
        backend, JD_DTYPE_F32, negative->ndim - 1, negative->shape + 1,
        (float *) negative->data + f * frame_size);
      double omega = jd_guidance_video_omega (snapshot, f, frames);
      if (!apply_guidance (backend, x0_frame, negative_frame, omega, error))
        return FALSE;
    }
  return TRUE;
}

static JdTensor *
noise_tensor (JdBackend     *backend,
              int            ndim,
              const int64_t *shape,
              uint64_t       seed,
              uint64_t       offset,
              double         scale,
              GError       **error)
{
  g_autoptr (JdTensor) tensor = jd_tensor_new (backend, JD_DTYPE_F32, ndim, shape, error);
  if (tensor == NULL || !jd_normal_noise (backend, seed, offset, tensor, error))
    return NULL;
  if (scale != 1.0
      && !jd_unary (backend, JD_UNARY_AFFINE, (float) scale, 0.0f, tensor, tensor, error))
    return NULL;
  return g_steal_pointer (&tensor);
}

static gboolean
allocate_predictions (JdBackend      *backend,
                      const JdTensor *video,
                      const JdTensor *audio,
                      Predictions    *p,
                      GError        **error)
{
  for (int i = 0; i < JD_DENOISE_MAX_CALLS; i++)
    {
      p->x0_video[i] = jd_tensor_new (backend, JD_DTYPE_F32, video->ndim, video->shape, error);
      if (p->x0_video[i] == NULL)
        return FALSE;
      p->x0_audio[i] = jd_tensor_new (backend, JD_DTYPE_F32, audio->ndim, audio->shape, error);
      if (p->x0_audio[i] == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
jd_sample (JdBackend             *backend,
           JdDenoiser            *denoiser,
           const JdSchedule      *schedule,
           int                    video_ndim,
           const int64_t         *video_shape,
           int                    audio_ndim,
           const int64_t         *audio_shape,
           const JdSamplerParams *params,
           JdTensor             **video_out,
           JdTensor             **audio_out,
           GError               **error)
{
  if (video_ndim < 1 || audio_ndim < 1)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Sampling needs a video latent with a frame dimension and an audio latent");
      return FALSE;
    }
  g_autofree JdSchedulePoint *points = g_new (JdSchedulePoint, MAX (params->steps, 1));
  if (!jd_schedule_make_grid (schedule, params->steps, points, error))
    return FALSE;

  double sigma_max = schedule->config.sigma_max;
  g_autoptr (JdTensor) video = noise_tensor (backend, video_ndim, video_shape, params->seed,
                                             JD_NOISE_OFFSET_VIDEO,
                                             sqrt (sigma_max * sigma_max + 1.0), error);
  if (video == NULL)
    return FALSE;
  g_autoptr (JdTensor) audio = noise_tensor (backend, audio_ndim, audio_shape, params->seed,
                                             JD_NOISE_OFFSET_AUDIO, 1.0, error);
  if (audio == NULL)
    return FALSE;

  g_auto (Predictions) predictions = { { NULL } };
  if (!allocate_predictions (backend, video, audio, &predictions, error))
    return FALSE;

  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < params->steps; i++)
    {
      if (g_cancellable_set_error_if_cancelled (params->cancellable, error))
        return FALSE;

      JdGuidanceSnapshot snapshot = { .mode = JD_GUIDANCE_NONE };
      if (params->guidance != NULL)
        snapshot = jd_guidance_snapshot (params->guidance);
      gboolean negative = jd_guidance_needs_negative (&snapshot);

      JdDenoiseRequest request = {
        .video = video,
        .audio = audio,
        .point = points[i],
        .n_calls = negative ? 2 : 1,
        .calls = {
          { .conditioned = TRUE, .attention = JD_ATTENTION_FULL },
          { .conditioned = FALSE, .attention = jd_guidance_negative_attention (snapshot.mode) },
        },
      };
      for (int c = 0; c < JD_DENOISE_MAX_CALLS; c++)
        {
          request.x0_video[c] = predictions.x0_video[c];
          request.x0_audio[c] = predictions.x0_audio[c];
        }
      if (!jd_denoiser_denoise (denoiser, &request, error))
        return FALSE;

      JdTensor *x0_video = predictions.x0_video[0];
      JdTensor *x0_audio = predictions.x0_audio[0];
      if (negative
          && (!apply_video_guidance (backend, x0_video, predictions.x0_video[1], &snapshot, error)
              || !apply_guidance (backend, x0_audio, predictions.x0_audio[1],
                                  snapshot.omega_audio, error)))
        return FALSE;

      if (i + 1 < params->steps)
        {
          JdLinearStep euler = jd_edm_euler_step (points[i].sigma, points[i + 1].sigma);
          JdLinearStep ddim = jd_ddim_step (points[i].alpha_bar, points[i + 1].alpha_bar);
          if (!jd_axpby (backend, (float) euler.a, video, (float) euler.b, x0_video, video, error)
              || !jd_axpby (backend, (float) ddim.a, audio, (float) ddim.b, x0_audio, audio,
                            error))
            return FALSE;
        }

      if (params->on_step != NULL)
        {
          if (!jd_backend_synchronize (backend, error))
            return FALSE;
          double elapsed = (double) (g_get_monotonic_time () - start) * 1e-6;
          JdSamplerProgress progress = {
            .step = i + 1,
            .total = params->steps,
            .point = points[i],
            .guidance = snapshot,
            .negative_called = negative,
            .elapsed_s = elapsed,
            .eta_s = elapsed / (i + 1) * (params->steps - i - 1),
            .x0_video = x0_video,
            .x0_audio = x0_audio,
          };
          params->on_step (&progress, params->user_data);
        }
    }

  /* The last step's guided x̂₀ is the result. */
  *video_out = g_steal_pointer (&predictions.x0_video[0]);
  *audio_out = g_steal_pointer (&predictions.x0_audio[0]);
  return TRUE;
}
