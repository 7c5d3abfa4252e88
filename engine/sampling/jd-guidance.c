#include "jd-guidance.h"

#include <math.h>
#include <string.h>

#include "jd-error.h"

struct _JdGuidance {
  GMutex             lock;
  JdGuidanceSnapshot current;
};

static const char *const mode_names[JD_GUIDANCE_MODE_COUNT] = {
  [JD_GUIDANCE_NONE] = "none",
  [JD_GUIDANCE_CFG] = "cfg",
  [JD_GUIDANCE_JOINT] = "joint",
  [JD_GUIDANCE_JOINT_STAR] = "joint-star",
};

const char *
jd_guidance_mode_name (JdGuidanceMode mode)
{
  g_return_val_if_fail ((unsigned) mode < JD_GUIDANCE_MODE_COUNT, "none");
  return mode_names[mode];
}

gboolean
jd_guidance_mode_parse (const char     *name,
                        JdGuidanceMode *mode)
{
  for (int i = 0; i < JD_GUIDANCE_MODE_COUNT; i++)
    if (g_strcmp0 (name, mode_names[i]) == 0)
      {
        *mode = (JdGuidanceMode) i;
        return TRUE;
      }
  return FALSE;
}

JdGuidance *
jd_guidance_new (void)
{
  JdGuidance *guidance = g_new0 (JdGuidance, 1);
  g_mutex_init (&guidance->lock);
  guidance->current.mode = JD_GUIDANCE_NONE;
  return guidance;
}

void
jd_guidance_free (JdGuidance *guidance)
{
  if (guidance == NULL)
    return;
  g_mutex_clear (&guidance->lock);
  g_free (guidance);
}

void
jd_guidance_set_mode (JdGuidance    *guidance,
                      JdGuidanceMode mode)
{
  g_return_if_fail ((unsigned) mode < JD_GUIDANCE_MODE_COUNT);
  g_mutex_lock (&guidance->lock);
  guidance->current.mode = mode;
  g_mutex_unlock (&guidance->lock);
}

static gboolean
check_scale (double omega, const char *which, GError **error)
{
  if (isfinite (omega) && omega >= 0.0)
    return TRUE;
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
               "The %s guidance scale ω must be a finite number ≥ 0, not %g", which, omega);
  return FALSE;
}

gboolean
jd_guidance_set (JdGuidance               *guidance,
                 const JdGuidanceSnapshot *settings,
                 GError                  **error)
{
  if ((unsigned) settings->mode >= JD_GUIDANCE_MODE_COUNT)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "Unknown guidance mode %d (known: none, cfg, joint, joint-star)",
                   (int) settings->mode);
      return FALSE;
    }
  if (!check_scale (settings->omega_video_first, "video", error)
      || !check_scale (settings->omega_video_last, "video", error)
      || !check_scale (settings->omega_audio, "audio", error))
    return FALSE;
  g_mutex_lock (&guidance->lock);
  guidance->current = *settings;
  g_mutex_unlock (&guidance->lock);
  return TRUE;
}

gboolean
jd_guidance_set_omega (JdGuidance *guidance,
                       double      omega_video,
                       double      omega_audio,
                       GError    **error)
{
  if (!check_scale (omega_video, "video", error) || !check_scale (omega_audio, "audio", error))
    return FALSE;
  g_mutex_lock (&guidance->lock);
  guidance->current.omega_video_first = omega_video;
  guidance->current.omega_video_last = omega_video;
  guidance->current.omega_audio = omega_audio;
  g_mutex_unlock (&guidance->lock);
  return TRUE;
}

JdGuidanceSnapshot
jd_guidance_snapshot (JdGuidance *guidance)
{
  g_mutex_lock (&guidance->lock);
  JdGuidanceSnapshot snapshot = guidance->current;
  g_mutex_unlock (&guidance->lock);
  return snapshot;
}

gboolean
jd_guidance_needs_negative (const JdGuidanceSnapshot *snapshot)
{
  return snapshot->mode != JD_GUIDANCE_NONE
         && (snapshot->omega_video_first != 0.0 || snapshot->omega_video_last != 0.0
             || snapshot->omega_audio != 0.0);
}

JdAttentionMode
jd_guidance_negative_attention (JdGuidanceMode mode)
{
  switch (mode)
    {
    case JD_GUIDANCE_JOINT:
      return JD_ATTENTION_BLOCK_DIAGONAL;
    case JD_GUIDANCE_JOINT_STAR:
      return JD_ATTENTION_SKIP;
    default:
      return JD_ATTENTION_FULL;
    }
}

double
jd_guidance_video_omega (const JdGuidanceSnapshot *snapshot,
                         int                       frame,
                         int                       n_frames)
{
  if (n_frames <= 1)
    return snapshot->omega_video_first;
  double fraction = (double) frame / (n_frames - 1);
  return snapshot->omega_video_first
         + fraction * (snapshot->omega_video_last - snapshot->omega_video_first);
}
