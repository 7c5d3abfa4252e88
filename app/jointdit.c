/* jointdit — the engine on the command line: inspect models, benchmark, generate. */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jd-build-config.h"
#include "jointdit-cli.h"

typedef struct {
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} Subcommand;

static const Subcommand subcommands[] = {
  { "info", jd_cli_info, "Describe a model bundle: format, parts, parameters, provenance" },
  { "generate", jd_cli_generate, "Animate and sound a picture: write MP4, WAV or PNG frames" },
  { "eval", jd_cli_eval, "Measure a clip: A/V sync offset and error, AV-Align, motion" },
  { "bench", jd_cli_bench, "Measure the engine's speed against the machine's limits" },
  { "denoise", jd_cli_denoise, "One raw JointDiT forward on inputs from a safetensors file" },
  { "convert", jd_cli_convert, "Convert SVD, AudioLDM2 and CLIP checkpoints into a bundle" },
};

int
jd_cli_fail (int status, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "jointdit: %s\n", message);
  return status;
}

static void
print_help (FILE *out)
{
  fprintf (out,
           "Usage: jointdit COMMAND [OPTIONS…]\n"
           "\n"
           "Animate and sound still images with JointDiT, from the command line.\n"
           "\n"
           "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (subcommands); i++)
    fprintf (out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf (out,
           "\n"
           "Options:\n"
           "  -h, --help     Show this help\n"
           "  --version      Show the version\n"
           "\n"
           "Run 'jointdit COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_set_prgname ("jointdit");

  if (argc < 2)
    {
      print_help (stderr);
      return JD_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      print_help (stdout);
      return JD_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("jointdit %s\n", JD_VERSION);
      return JD_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subcommands); i++)
    if (strcmp (argv[1], subcommands[i].name) == 0)
      return subcommands[i].run (argc - 1, argv + 1);

  return jd_cli_fail (JD_EXIT_USAGE, "'%s' is not a command; run 'jointdit --help' for the list",
                      argv[1]);
}
