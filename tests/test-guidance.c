/* Guidance modes and scales, including changes from another thread while a run goes on. */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-guidance.h"
#include "test-util.h"

static void
test_mode_names (void)
{
  const char *names[] = { "none", "cfg", "joint", "joint-star" };
  for (int i = 0; i < JD_GUIDANCE_MODE_COUNT; i++)
    {
      JdGuidanceMode mode;
      g_assert_true (jd_guidance_mode_parse (names[i], &mode));
      g_assert_cmpint (mode, ==, i);
      g_assert_cmpstr (jd_guidance_mode_name (mode), ==, names[i]);
    }
  JdGuidanceMode mode = JD_GUIDANCE_CFG;
  g_assert_false (jd_guidance_mode_parse ("jointstar", &mode));
  g_assert_false (jd_guidance_mode_parse (NULL, &mode));
  g_assert_cmpint (mode, ==, JD_GUIDANCE_CFG);
}

static void
test_negative_call (void)
{
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  g_autoptr (GError) error = NULL;
  JdGuidanceSnapshot snapshot = jd_guidance_snapshot (guidance);
  g_assert_false (jd_guidance_needs_negative (&snapshot));

  /* ω = 0 skips the negative call in every mode, so all modes coincide. */
  for (int mode = 0; mode < JD_GUIDANCE_MODE_COUNT; mode++)
    {
      jd_guidance_set_mode (guidance, mode);
      g_assert_true (jd_guidance_set_omega (guidance, 0.0, 0.0, &error));
      snapshot = jd_guidance_snapshot (guidance);
      g_assert_false (jd_guidance_needs_negative (&snapshot));
      g_assert_true (jd_guidance_set_omega (guidance, 0.0, 2.5, &error));
      snapshot = jd_guidance_snapshot (guidance);
      g_assert_cmpint (jd_guidance_needs_negative (&snapshot), ==, mode != JD_GUIDANCE_NONE);
    }
  g_assert_cmpint (jd_guidance_negative_attention (JD_GUIDANCE_CFG), ==, JD_ATTENTION_FULL);
  g_assert_cmpint (jd_guidance_negative_attention (JD_GUIDANCE_JOINT), ==,
                   JD_ATTENTION_BLOCK_DIAGONAL);
  g_assert_cmpint (jd_guidance_negative_attention (JD_GUIDANCE_JOINT_STAR), ==,
                   JD_ATTENTION_SKIP);
}

static void
test_scales (void)
{
  g_autoptr (JdGuidance) guidance = jd_guidance_new ();
  g_autoptr (GError) error = NULL;
  JdGuidanceSnapshot ramp = {
    .mode = JD_GUIDANCE_JOINT, .omega_video_first = 0.0, .omega_video_last = 2.0,
    .omega_audio = 2.5,
  };
  g_assert_true (jd_guidance_set (guidance, &ramp, &error));
  JdGuidanceSnapshot snapshot = jd_guidance_snapshot (guidance);
  g_assert_cmpint (snapshot.mode, ==, JD_GUIDANCE_JOINT);
  g_assert_cmpfloat (snapshot.omega_audio, ==, 2.5);
  /* SVD's ramp, diffusers' linspace(1, 3, frames) minus one */
  for (int f = 0; f < 25; f++)
    g_assert_cmpfloat (fabs (jd_guidance_video_omega (&snapshot, f, 25) - 2.0 * f / 24.0), <,
                       1e-15);
  g_assert_cmpfloat (jd_guidance_video_omega (&snapshot, 0, 1), ==, 0.0);

  g_assert_false (jd_guidance_set_omega (guidance, -1.0, 0.0, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "video"));
  g_clear_error (&error);
  g_assert_false (jd_guidance_set_omega (guidance, 1.0, NAN, &error));
  g_assert_nonnull (strstr (error->message, "audio"));
  /* a refused setting leaves the old one in place */
  snapshot = jd_guidance_snapshot (guidance);
  g_assert_cmpfloat (snapshot.omega_video_last, ==, 2.0);

  /* jd_guidance_set refuses a whole setting for any bad field and keeps the old one whole */
  g_clear_error (&error);
  JdGuidanceSnapshot bad = ramp;
  bad.mode = JD_GUIDANCE_CFG;
  bad.omega_video_first = INFINITY;
  g_assert_false (jd_guidance_set (guidance, &bad, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "video"));
  g_clear_error (&error);
  bad = ramp;
  bad.omega_audio = -0.5;
  g_assert_false (jd_guidance_set (guidance, &bad, &error));
  g_assert_nonnull (strstr (error->message, "audio"));
  g_clear_error (&error);
  bad = ramp;
  bad.mode = (JdGuidanceMode) JD_GUIDANCE_MODE_COUNT;
  g_assert_false (jd_guidance_set (guidance, &bad, &error));
  g_assert_nonnull (strstr (error->message, "mode"));
  snapshot = jd_guidance_snapshot (guidance);
  g_assert_cmpint (snapshot.mode, ==, JD_GUIDANCE_JOINT);
  g_assert_cmpfloat (snapshot.omega_video_first, ==, 0.0);
  g_assert_cmpfloat (snapshot.omega_video_last, ==, 2.0);
  g_assert_cmpfloat (snapshot.omega_audio, ==, 2.5);
}

typedef struct {
  JdGuidance *guidance;
  gint        stop;
} SteerJob;

static gpointer
steer (gpointer data)
{
  SteerJob *job = data;
  for (int k = 0; !g_atomic_int_get (&job->stop); k = (k + 1) % 1000)
    {
      /* a mode with a ramp whose every field follows from k, as the studio's controls set them */
      JdGuidanceSnapshot settings = {
        .mode = k % JD_GUIDANCE_MODE_COUNT,
        .omega_video_first = k,
        .omega_video_last = 2 * k + 1,
        .omega_audio = k + 0.5,
      };
      g_assert_true (jd_guidance_set (job->guidance, &settings, NULL));
    }
  return NULL;
}

static void
test_steering_from_another_thread (void)
{
  /* Snapshots taken while another thread keeps changing the mode and the ramp always see a
   * setting that was made whole, never the new mode with the old scales or half a ramp. */
  SteerJob job = { .guidance = jd_guidance_new () };
  GThread *thread = g_thread_new ("steer", steer, &job);
  for (int i = 0; i < 200000; i++)
    {
      JdGuidanceSnapshot snapshot = jd_guidance_snapshot (job.guidance);
      if (snapshot.omega_video_last == 0.0)
        continue; /* not set yet */
      int k = (int) snapshot.omega_video_first;
      g_assert_cmpfloat (snapshot.omega_video_first, ==, k);
      g_assert_cmpfloat (snapshot.omega_video_last, ==, 2 * k + 1);
      g_assert_cmpfloat (snapshot.omega_audio, ==, k + 0.5);
      g_assert_cmpint (snapshot.mode, ==, k % JD_GUIDANCE_MODE_COUNT);
    }
  g_atomic_int_set (&job.stop, 1);
  g_thread_join (thread);
  jd_guidance_free (job.guidance);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/guidance/mode-names", test_mode_names);
  g_test_add_func ("/guidance/negative-call", test_negative_call);
  g_test_add_func ("/guidance/scales", test_scales);
  g_test_add_func ("/guidance/steering", test_steering_from_another_thread);
  return g_test_run ();
}
