/* `jointdit bench gpu` where it cannot run: a build without the CUDA backend, or a machine
 * without a usable GPU, exits 1 with a sentence saying which; bad options exit 2. On a machine
 * with a GPU the benchmark itself is not run here (it takes minutes at full scale; see
 * tests/gpu/run-gpu-checks.sh), so that case only checks the usage errors.
 *
 * Arguments: the built `jointdit` program. */
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#include "jd-build-config.h"
#ifdef JD_HAVE_CUDA
#include "jd-cuda-backend.h"
#endif

static char *jointdit;

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static void
run_bench_gpu (Run *run, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, jointdit);
  g_ptr_array_add (argv, "bench");
  g_ptr_array_add (argv, "gpu");
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &run->out,
                &run->err, &run->status, &error);
  g_assert_no_error (error);
  run->status = WIFEXITED (run->status) ? WEXITSTATUS (run->status) : -1;
}

static gboolean
gpu_usable (void)
{
#ifdef JD_HAVE_CUDA
  return jd_cuda_device_count (NULL) > 0;
#else
  return FALSE;
#endif
}

static void
test_without_gpu (void)
{
  if (gpu_usable ())
    {
      g_test_skip ("a GPU is present: the benchmark runs in tests/gpu/run-gpu-checks.sh");
      return;
    }
  Run run = { 0 };
  run_bench_gpu (&run, (const char *const[]) { NULL });
  g_test_message ("stderr: %s", run.err);
  g_assert_cmpint (run.status, ==, 1);
#ifdef JD_HAVE_CUDA
  g_assert_nonnull (strstr (run.err, "bench gpu needs a CUDA GPU: "));
#else
  g_assert_nonnull (strstr (run.err, "this build has no CUDA backend"));
#endif
  g_assert_cmpstr (run.out, ==, "");
  run_clear (&run);
}

static void
test_usage (void)
{
  static const char *const bad[][3] = {
    { "--size", "c", NULL },
    { "--steps", "0", NULL },
    { "--seconds", "-1", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      Run run = { 0 };
      run_bench_gpu (&run, bad[i]);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_nonnull (strstr (run.err, "jointdit bench gpu [--size a|b]"));
      run_clear (&run);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    g_error ("usage: %s JOINTDIT", argv[0]);
  jointdit = argv[1];
  g_test_add_func ("/bench-gpu-cli/without-gpu", test_without_gpu);
  g_test_add_func ("/bench-gpu-cli/usage", test_usage);
  return g_test_run ();
}
