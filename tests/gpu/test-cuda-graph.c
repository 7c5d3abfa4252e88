/* CUDA graphs of the denoiser step (JD_CUDA_GRAPHS=1, kernels/jd-cuda-graph.c): a 4-step
 * joint-star generation of the parity bundle through the public engine with graphs against the
 * same without, both on the GPU, in F32 and in BF16 precision. The replayed steps run the
 * recorded kernels on fresh inputs each step, so frames and sound must agree to 1e-5 (only
 * the order of floating-point sums inside the libraries could differ), and the graph must
 * actually have been launched (step 1 runs eagerly, step 2 records, every step from 2 on
 * launches): a recording that failed would fall back to eager sampling silently.
 * Skips (exit 77) without a usable GPU; nothing here has run on a GPU yet. */
#include <string.h>

#include "gpu-test-util.h"
#include "jointdit.h"

#define STEPS 4
#define LIMIT 1e-5

static JdResult *
generate (gboolean graphs)
{
  if (graphs)
    g_setenv ("JD_CUDA_GRAPHS", "1", TRUE);
  else
    g_unsetenv ("JD_CUDA_GRAPHS");
  JdResult *result = gpu_test_generate_parity (JD_DEVICE_CUDA, STEPS);
  g_unsetenv ("JD_CUDA_GRAPHS");
  return result;
}

static double
frames_error (const JdResult *got, const JdResult *want)
{
  const gsize n = (gsize) want->n_frames * want->width * want->height * 4;
  double num = 0.0, den = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      const double d = (double) got->frames[i] - want->frames[i];
      num += d * d;
      den += (double) want->frames[i] * want->frames[i];
    }
  return den > 0 ? sqrt (num / den) : sqrt (num);
}

static void
test_graphs (gconstpointer data)
{
  const gboolean f32 = GPOINTER_TO_INT (data);
  g_setenv ("JD_CUDA_PRECISION", f32 ? "f32" : "bf16", TRUE);
  g_autoptr (JdResult) eager = generate (FALSE);
  const guint launches_before = jd_cuda_graph_launch_count ();
  g_autoptr (JdResult) replayed = generate (TRUE);
  const guint launches = jd_cuda_graph_launch_count () - launches_before;
  g_unsetenv ("JD_CUDA_PRECISION");

  g_assert_cmpint (replayed->n_frames, ==, eager->n_frames);
  g_assert_cmpuint (replayed->n_samples, ==, eager->n_samples);
  const double frames_err = frames_error (replayed, eager);
  g_autofree double *want = g_new (double, MAX (eager->n_samples, 1));
  for (gsize i = 0; i < eager->n_samples; i++)
    want[i] = eager->pcm[i];
  const double pcm_err = jd_test_rel_error (replayed->pcm, want, eager->n_samples);
  g_test_message ("%d steps (%s): %u graph launches; frames err = %.3g, sound err = %.3g; "
                  "sampling %.3f s with graphs, %.3f s without", STEPS, f32 ? "F32" : "BF16",
                  launches, frames_err, pcm_err, replayed->sampling_s, eager->sampling_s);
  g_assert_cmpuint (launches, >=, STEPS - 2);
  g_assert_cmpfloat (frames_err, <=, LIMIT);
  g_assert_cmpfloat (pcm_err, <=, LIMIT);
}

int
main (int argc, char **argv)
{
  gpu_test_require_device ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/cuda/graphs/sampling-4-steps/f32", GINT_TO_POINTER (TRUE),
                        test_graphs);
  g_test_add_data_func ("/cuda/graphs/sampling-4-steps/bf16", GINT_TO_POINTER (FALSE),
                        test_graphs);
  return g_test_run ();
}
