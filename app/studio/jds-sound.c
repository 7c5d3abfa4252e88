/* jds-sound.c — the sound device choice and silent-clock reasons, for every player. */
#include "jds-sound.h"

#include <glib/gi18n.h>

#include "jds-audio-output.h"

int
jds_sound_device_from_environment (void)
{
  const char *device = g_getenv ("JDS_AUDIO_DEVICE");
  if (device != NULL && g_str_equal (device, "none"))
    return JDS_AUDIO_OUTPUT_NO_DEVICE;
  return JDS_AUDIO_OUTPUT_DEFAULT_DEVICE;
}

const char *
jds_sound_translate_silent_reason (const char *reason)
{
  if (g_str_has_prefix (reason, "No sound device"))
    return _("No sound device: playing silently");
  if (g_str_has_prefix (reason, "Sound output is turned off"))
    return _("Sound output is turned off: playing silently");
  if (g_str_has_prefix (reason, "This clip has no sound"))
    return _("This clip has no sound");
  return reason;
}
