/* The CUDA backend as a loadable module (engine/jd-cuda-module.c): where the module is missing,
 * is not a module, or is one of another version, the device count is 0 with one sentence
 * saying the module could not be loaded and why, a CUDA backend fails with
 * JD_ERROR_UNSUPPORTED and that sentence, and `jointdit generate --device cuda` exits non-zero
 * with it; the built module loads and reports what the CUDA runtime says (no driver here);
 * nothing opens the module for the CPU, and without the NVIDIA driver not for "auto" either.
 *
 * The loader opens the module once per process, so every case runs in its own subprocess with
 * its own $JD_CUDA_MODULE. Arguments: the built `jointdit`, the wrong-version module. */
#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "jd-cpu-backend.h"
#include "jd-cuda-module.h"
#include "jd-error.h"
#include "jointdit.h"

static char *jointdit;
static char *fake_module;
static char *built_module;   /* $JD_CUDA_MODULE as tests/meson.build sets it */

/* Asserts that the module at path cannot be loaded and every entry point says so. */
static void
assert_load_failure (const char *path, const char *why)
{
  g_setenv ("JD_CUDA_MODULE", path, TRUE);
  g_autofree char *sentence = g_strdup_printf ("the CUDA module %s could not be loaded: ", path);

  g_autofree char *reason = NULL;
  g_assert_cmpint (jd_cuda_device_count (&reason), ==, 0);
  g_test_message ("reason: %s", reason);
  g_assert_nonnull (reason);
  g_assert_true (g_str_has_prefix (reason, sentence));
  g_assert_nonnull (strstr (reason, why));
  g_assert_null (jd_cuda_module_peek ());

  /* The failure is kept: asking again says the same without trying again. */
  g_autofree char *again = NULL;
  g_assert_cmpint (jd_cuda_device_count (&again), ==, 0);
  g_assert_cmpstr (again, ==, reason);
  g_assert_cmpint (jd_cuda_device_count (NULL), ==, 0);

  g_autoptr (GError) error = NULL;
  g_assert_null (jd_cuda_backend_new (0, JD_CUDA_PRECISION_BF16, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, reason));
  g_clear_error (&error);

  /* Asked of a backend the module did not make, nothing is CUDA and no graphs are kept. */
  g_autoptr (JdBackend) cpu = jd_cpu_backend_new (1, &error);
  g_assert_no_error (error);
  g_assert_false (jd_backend_is_cuda (cpu));
  g_assert_null (jd_cuda_graph_cache_new (cpu));
  g_assert_cmpuint (jd_cuda_graph_launch_count (), ==, 0);
}

static void
test_missing_file (void)
{
  if (g_test_subprocess ())
    {
      assert_load_failure ("/nonexistent/jointdit-cuda.so", "No such file");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_not_a_module (void)
{
  if (g_test_subprocess ())
    {
      /* A text file where the module should be. */
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "test-cuda-module.c", NULL);
      assert_load_failure (path, "");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_no_table (void)
{
  if (g_test_subprocess ())
    {
      /* A real shared library that is not a jointdit module. */
      assert_load_failure ("libm.so.6", "it has no jd_cuda_module_get_table");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_wrong_version (void)
{
  if (g_test_subprocess ())
    {
      assert_load_failure (fake_module, "interface version 999");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* The built module opens; without a GPU the count is 0 with the CUDA runtime's reason. */
static void
test_built_module (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *reason = NULL;
      int count = jd_cuda_device_count (&reason);
      g_test_message ("devices: %d, reason: %s", count, reason);
      g_assert_nonnull (jd_cuda_module_peek ());
      g_assert_cmpint (jd_cuda_module_peek ()->version, ==, JD_CUDA_MODULE_VERSION);
      if (count > 0)
        {
          g_assert_null (reason);
          return;
        }
      g_assert_nonnull (reason);
      g_assert_null (strstr (reason, "could not be loaded"));
      g_assert_nonnull (strstr (reason, "CUDA runtime"));

      g_autoptr (GError) error = NULL;
      g_assert_null (jd_cuda_backend_new (0, JD_CUDA_PRECISION_BF16, &error));
      g_assert_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED);
      g_test_message ("backend: %s", error->message);
      return;
    }
  g_assert_nonnull (built_module);
  g_assert_true (g_file_test (built_module, G_FILE_TEST_IS_REGULAR));
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* --device cpu never opens the module; auto does not either without the NVIDIA driver. */
static void
test_cpu_opens_nothing (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference",
                                                     "parity.safetensors", NULL);
      g_autoptr (GError) error = NULL;
      g_autofree char *reason = NULL;
      g_assert_true (jd_device_usable (JD_DEVICE_CPU, &reason));
      g_autoptr (JdEngine) cpu = jd_engine_open (path, JD_DEVICE_CPU, 1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (jd_engine_get_info (cpu)->backend, ==, "cpu");
      g_assert_null (jd_cuda_module_peek ());

      const gboolean driver = jd_cuda_driver_present ();
      g_test_message ("NVIDIA driver present: %d", driver);
      g_autoptr (JdEngine) any = jd_engine_open (path, JD_DEVICE_AUTO, 1, &error);
      g_assert_no_error (error);
      if (!driver)
        {
          g_assert_cmpstr (jd_engine_get_info (any)->backend, ==, "cpu");
          g_assert_null (jd_cuda_module_peek ());
          /* Asking whether the GPU can be used names the driver, still opening nothing. */
          g_assert_false (jd_device_usable (JD_DEVICE_CUDA, &reason));
          g_assert_nonnull (strstr (reason, "libcuda.so.1"));
          g_assert_null (jd_cuda_module_peek ());
        }
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

typedef struct {
  int   status;
  char *err;
} Run;

/* `jointdit generate` on the parity bundle, one step, with $JD_CUDA_MODULE = module. */
static Run
generate (const char *module, const char *device, const char *folder)
{
  g_autofree char *model = g_test_build_filename (G_TEST_DIST, "fixtures", "reference",
                                                  "parity.safetensors", NULL);
  g_autofree char *picture = g_test_build_filename (G_TEST_DIST, "media", "fixtures", "grey.png",
                                                    NULL);
  const char *argv[] = { jointdit, "generate", "--model", model, "--steps", "1", "--threads", "1",
                         "--device", device, "-o", "x.wav", picture, NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "JD_CUDA_MODULE", module, TRUE);
  Run run = { 0 };
  g_autoptr (GError) error = NULL;
  g_spawn_sync (folder, (char **) argv, envp, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                &run.err, &run.status, &error);
  g_assert_no_error (error);
  run.status = WIFEXITED (run.status) ? WEXITSTATUS (run.status) : -1;
  g_test_message ("--device %s, JD_CUDA_MODULE=%s: exit %d, stderr: %s", device, module,
                  run.status, run.err);
  return run;
}

static void
test_cli (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("jd-cuda-module-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *wav = g_build_filename (folder, "x.wav", NULL);

  /* --device cuda with no module: fails, saying which file and why. */
  Run run = generate ("/nonexistent/jointdit-cuda.so", "cuda", folder);
  g_assert_cmpint (run.status, !=, 0);
  g_assert_nonnull (strstr (run.err, "the CUDA module /nonexistent/jointdit-cuda.so could not "
                                     "be loaded: "));
  g_assert_false (g_file_test (wav, G_FILE_TEST_EXISTS));
  g_free (run.err);

  /* The same with a module of another version. */
  run = generate (fake_module, "cuda", folder);
  g_assert_cmpint (run.status, !=, 0);
  g_assert_nonnull (strstr (run.err, "interface version 999"));
  g_free (run.err);

  /* --device cuda with the built module: it loads; without a GPU the runtime says why. */
  if (built_module != NULL && jd_cuda_driver_present () == FALSE)
    {
      run = generate (built_module, "cuda", folder);
      g_assert_cmpint (run.status, !=, 0);
      g_assert_null (strstr (run.err, "could not be loaded"));
      g_assert_nonnull (strstr (run.err, "the CUDA runtime finds no usable GPU"));
      g_free (run.err);
    }

  /* --device auto with no module: the CPU makes the clip. */
  run = generate ("/nonexistent/jointdit-cuda.so", "auto", folder);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_file_test (wav, G_FILE_TEST_IS_REGULAR));
  g_free (run.err);
  g_unlink (wav);
  g_rmdir (folder);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Subprocesses (g_test_trap_subprocess) get no arguments: the paths travel in the
   * environment, made absolute since the CLI runs in a temporary folder. */
  if (!g_test_subprocess ())
    {
      if (argc != 3)
        {
          g_printerr ("usage: %s JOINTDIT WRONG-VERSION-MODULE\n", argv[0]);
          return 2;
        }
      g_autofree char *program = g_canonicalize_filename (argv[1], NULL);
      g_autofree char *fake = g_canonicalize_filename (argv[2], NULL);
      g_setenv ("JD_TEST_JOINTDIT", program, TRUE);
      g_setenv ("JD_TEST_WRONG_VERSION_MODULE", fake, TRUE);
    }
  jointdit = g_strdup (g_getenv ("JD_TEST_JOINTDIT"));
  fake_module = g_strdup (g_getenv ("JD_TEST_WRONG_VERSION_MODULE"));
  built_module = g_strdup (g_getenv ("JD_CUDA_MODULE"));
  g_test_add_func ("/cuda-module/missing-file", test_missing_file);
  g_test_add_func ("/cuda-module/not-a-module", test_not_a_module);
  g_test_add_func ("/cuda-module/no-table", test_no_table);
  g_test_add_func ("/cuda-module/wrong-version", test_wrong_version);
  g_test_add_func ("/cuda-module/built-module", test_built_module);
  g_test_add_func ("/cuda-module/cpu-opens-nothing", test_cpu_opens_nothing);
  g_test_add_func ("/cuda-module/cli", test_cli);
  int status = g_test_run ();
  g_free (built_module);
  g_free (fake_module);
  g_free (jointdit);
  return status;
}
