/* TEMPORARY STUB: replaced by the real subcommand. */
#include "jointdit-cli.h"

int
jd_cli_info (int argc, char **argv)
{
  return jd_cli_fail (JD_EXIT_FAILURE, "not implemented yet");
}
