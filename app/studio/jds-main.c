/* jds-main.c — `jointdit-studio [IMAGE]`. */
#include <glib/gi18n.h>
#include <locale.h>

#include "jds-application.h"
#include "jds-config.h"

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  /* Uninstalled runs (meson devenv, tests) find the translations in the build folder. */
  const char *localedir = g_getenv ("JDS_LOCALEDIR");
  bindtextdomain (JDS_GETTEXT_PACKAGE, localedir && *localedir ? localedir : JDS_LOCALEDIR);
  bind_textdomain_codeset (JDS_GETTEXT_PACKAGE, "UTF-8");
  textdomain (JDS_GETTEXT_PACKAGE);

  g_set_application_name (_("JointDiT Studio"));
  g_autoptr (JdsApplication) app = jds_application_new (JDS_APPLICATION_ID,
                                                        G_APPLICATION_DEFAULT_FLAGS);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
