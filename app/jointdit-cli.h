/* jointdit-cli.h — the `jointdit` command's subcommands. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the exit status: 0 ok, 1 runtime error,
 * 2 usage error. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

enum {
  JD_EXIT_OK = 0,
  JD_EXIT_FAILURE = 1,
  JD_EXIT_USAGE = 2,
};

int jd_cli_info  (int argc, char **argv);
int jd_cli_bench (int argc, char **argv);
int jd_cli_denoise (int argc, char **argv);
int jd_cli_generate (int argc, char **argv);
int jd_cli_convert (int argc, char **argv);
int jd_cli_eval (int argc, char **argv);

/* `jointdit bench model` (jointdit-bench-model.c); model NULL: the default bundle. */
int jd_cli_bench_model (const char *model, int steps, int n_threads, const char *guidance,
                        double omega, gboolean reference, double seconds);

/* `jointdit bench gpu` (jointdit-bench-gpu.c); size NULL: both, "a" or "b": one. */
int jd_cli_bench_gpu (const char *size, int steps, double seconds);

/* Prints "jointdit: MESSAGE" on stderr and returns status. */
int jd_cli_fail  (int status, const char *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
