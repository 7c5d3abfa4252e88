/* `jointdit denoise` run as a program on the parity fixtures: its outputs against the float64
 * goldens, and its failures (one line naming the file or tensor, exit 1; usage errors exit 2).
 * Arguments: the built `jointdit`. */
#include <glib/gstdio.h>
#include <string.h>

#include "jd-safetensors.h"
#include "parity-fixtures.h"

#define PARITY_LIMIT 1e-4
/* See test-jointdit.c: cond.full.audio is beyond float32's reach in the parity config. */
#define ILL_CONDITIONED_LIMIT 2e-3

static const char *jointdit_path;

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

static Run
run_jointdit (const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) jointdit_path);
  g_ptr_array_add (argv, (gpointer) "denoise");
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", "C.UTF-8", TRUE);
  Run run = { 0 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                               &run.out, &run.err, &wait_status, &error));
  g_assert_no_error (error);
  g_ptr_array_unref (argv);
  g_assert_true (WIFEXITED (wait_status));
  run.status = WEXITSTATUS (wait_status);
  return run;
}

static char *
fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "reference", name, NULL);
}

typedef struct {
  const char *attention;      /* the CLI's spelling */
  const char *golden_mode;    /* the golden's */
  gboolean    null_condition;
} Case;

static void
test_matches_golden (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *model = fixture_path ("parity.safetensors");
  g_autofree char *golden_path = fixture_path ("parity-golden.safetensors");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jointdit-denoise-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);
  const char *args[] = { "--model", model, "--in", golden_path, "--out", out, "--attention",
                         c->attention, "--threads", "2",
                         c->null_condition ? "--null-condition" : NULL, NULL };
  Run run = run_jointdit (args);
  g_test_message ("stderr: %s", run.err);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  run_clear (&run);

  g_autoptr (JdSafetensors) result = jd_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_autoptr (JdSafetensors) golden = jd_parity_golden ();
  const char *modalities[] = { "video", "audio" };
  for (int m = 0; m < 2; m++)
    {
      g_autoptr (JdTensor) got = jd_safetensors_load_f32 (result, modalities[m],
                                                          jd_test_backend (), &error);
      g_assert_no_error (error);
      g_autofree char *name = g_strdup_printf ("%s.%s.%s", c->null_condition ? "null" : "cond",
                                               c->golden_mode, modalities[m]);
      gsize n = 0;
      g_autofree double *want = jd_parity_expected (golden, name, &n);
      g_assert_cmpuint (n, ==, (gsize) jd_tensor_numel (got));
      g_test_message ("%s: err = %.3g", name, jd_test_rel_error (got->data, want, n));
      jd_test_assert_close (got->data, want, n,
                            strcmp (name, "cond.full.audio") == 0 ? ILL_CONDITIONED_LIMIT
                                                                  : PARITY_LIMIT);
    }
  g_assert_cmpint (g_unlink (out), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
assert_one_line_naming (const Run *run, int status, const char *name)
{
  g_test_message ("exit %d, stderr: %s", run->status, run->err);
  g_assert_cmpint (run->status, ==, status);
  g_assert_true (g_str_has_prefix (run->err, "jointdit: "));
  g_assert_nonnull (strstr (run->err, name));
  if (status == 1)
    {
      /* One line: the message and its newline. */
      const char *newline = strchr (run->err, '\n');
      g_assert_nonnull (newline);
      g_assert_cmpstr (newline + 1, ==, "");
    }
}

static void
test_failures (void)
{
  g_autofree char *model = fixture_path ("parity.safetensors");
  g_autofree char *golden = fixture_path ("parity-golden.safetensors");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jointdit-denoise-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *out = g_build_filename (dir, "out.safetensors", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.safetensors", NULL);

  /* Inputs without the tensors: the error names the tensor. */
  Run run = run_jointdit ((const char *[]) { "--model", model, "--in", model, "--out", out,
                                             NULL });
  assert_one_line_naming (&run, 1, "in.video_sample");
  run_clear (&run);
  /* A model file without a bundle config. */
  run = run_jointdit ((const char *[]) { "--model", golden, "--in", golden, "--out", out, NULL });
  assert_one_line_naming (&run, 1, "jointdit.config");
  run_clear (&run);
  /* A model file that is not there. */
  run = run_jointdit ((const char *[]) { "--model", missing, "--in", golden, "--out", out,
                                         NULL });
  assert_one_line_naming (&run, 1, "missing.safetensors");
  run_clear (&run);
  /* Nothing was written by the failures. */
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* Usage errors. */
  run = run_jointdit ((const char *[]) { "--model", model, "--in", golden, NULL });
  assert_one_line_naming (&run, 2, "--out");
  run_clear (&run);
  run = run_jointdit ((const char *[]) { "--model", model, "--in", golden, "--out", out,
                                         "--attention", "sideways", NULL });
  assert_one_line_naming (&run, 2, "sideways");
  run_clear (&run);
  run = run_jointdit ((const char *[]) { "--model", model, "--in", golden, "--out", out,
                                         "extra", NULL });
  assert_one_line_naming (&run, 2, "extra");
  run_clear (&run);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    {
      g_printerr ("usage: %s JOINTDIT\n", argv[0]);
      return 2;
    }
  jointdit_path = argv[1];
  static const Case cases[] = {
    { "full", "full", FALSE },
    { "block-diagonal", "block_diagonal", TRUE },
    { "skip", "skip", FALSE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/jointdit-cli/denoise/%s/%s",
                                               cases[i].null_condition ? "null" : "cond",
                                               cases[i].golden_mode);
      g_test_add_data_func (path, &cases[i], test_matches_golden);
    }
  g_test_add_func ("/jointdit-cli/denoise/failures", test_failures);
  return g_test_run ();
}
