/* `jointdit bench model` as a user runs it, kept fast: two steps on the parity bundle without
 * --reference (so no PyTorch is needed) print the table with the engine row; the reference run
 * pointed at a program that is not there is reported as skipped, not fatal; usage errors exit 2
 * and a missing bundle exits 1 naming the file.
 *
 * Arguments: the built `jointdit` program. */
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

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

/* `jointdit bench model ARGS…` with the environment changed by env_set (pairs, may be NULL). */
static void
run_bench (Run *run, const char *const *args, const char *const *env_set)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, jointdit);
  g_ptr_array_add (argv, "bench");
  g_ptr_array_add (argv, "model");
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) envp = g_get_environ ();
  for (const char *const *e = env_set; e != NULL && *e != NULL; e += 2)
    envp = g_environ_setenv (envp, e[0], e[1], TRUE);
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &run->out,
                &run->err, &run->status, &error);
  g_assert_no_error (error);
  run->status = WIFEXITED (run->status) ? WEXITSTATUS (run->status) : -1;
}

static char *
parity_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "reference", "parity.safetensors",
                                NULL);
}

/* The table's header and one data row named `row` whose figures are numbers. */
static void
assert_table (const char *out, const char *row)
{
  g_assert_nonnull (strstr (out, "Machine: "));
  g_assert_nonnull (strstr (out, "GFLOP"));
  g_assert_nonnull (strstr (out, "ms/step"));
  g_assert_nonnull (strstr (out, "% peak"));
  g_assert_nonnull (strstr (out, "peak MB"));
  g_autofree char *start = g_strconcat ("\n", row, " ", NULL);
  const char *line = strstr (out, start);
  g_assert_nonnull (line);
  g_auto (GStrv) fields = g_strsplit_set (line + 1 + strlen (row), " %\n", -1);
  int numbers = 0;
  for (char **f = fields; *f != NULL && numbers < 9; f++)
    {
      if (**f == '\0')
        continue;
      char *end = NULL;
      double value = g_ascii_strtod (*f, &end);
      g_assert_true (end != *f && *end == '\0');
      /* Every figure is positive except the condition's seconds, which can round to 0.00. */
      g_assert_cmpfloat (value, >=, 0.0);
      if (numbers < 5)
        g_assert_cmpfloat (value, >, 0.0);
      numbers++;
    }
  g_assert_cmpint (numbers, ==, 9);
}

static void
test_engine_row (void)
{
  g_autofree char *parity = parity_path ();
  Run run = { 0 };
  const char *args[] = { "--model", parity, "--steps", "2", "--threads", "2", "--seconds",
                         "0.05", NULL };
  run_bench (&run, args, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_table (run.out, "engine");
  g_assert_nonnull (strstr (run.out, "2 steps, guidance joint-star"));
  g_assert_nonnull (strstr (run.out, "(2 denoiser calls per step)"));
  g_assert_nonnull (strstr (run.out, "reference not run"));
  run_clear (&run);
}

static void
test_reference_missing (void)
{
  g_autofree char *parity = parity_path ();
  Run run = { 0 };
  const char *args[] = { "--model", parity, "--steps", "1", "--guidance", "none", "--seconds",
                         "0.05", "--reference", NULL };
  const char *env[] = { "JOINTDIT_PYTHON", "/nonexistent/python3", NULL };
  run_bench (&run, args, env);
  g_assert_cmpint (run.status, ==, 0);
  assert_table (run.out, "engine");
  g_assert_nonnull (strstr (run.out, "(1 denoiser call per step)"));
  g_assert_nonnull (strstr (run.out, "PyTorch reference skipped: could not start "
                                     "/nonexistent/python3"));
  /* No reference row (padded name), only the note. */
  g_assert_null (strstr (run.out, "\nPyTorch reference   "));
  run_clear (&run);
}

static void
test_bad_arguments (void)
{
  g_autofree char *parity = parity_path ();
  const char *const cases[][4] = {
    { "--steps", "0", NULL },
    { "--guidance", "sideways", NULL },
    { "--omega", "-1", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Run run = { 0 };
      const char *args[] = { "--model", parity, cases[i][0], cases[i][1], NULL };
      run_bench (&run, args, NULL);
      g_assert_cmpint (run.status, ==, 2);
      g_assert_nonnull (strstr (run.err, "jointdit: "));
      run_clear (&run);
    }
  Run run = { 0 };
  const char *args[] = { "--model", "/nonexistent/model.safetensors", NULL };
  run_bench (&run, args, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "/nonexistent/model.safetensors"));
  g_assert_cmpstr (run.out, ==, "");
  run_clear (&run);
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
  jointdit = argv[1];
  g_test_add_func ("/bench-model-cli/engine-row", test_engine_row);
  g_test_add_func ("/bench-model-cli/reference-missing", test_reference_missing);
  g_test_add_func ("/bench-model-cli/bad-arguments", test_bad_arguments);
  return g_test_run ();
}
