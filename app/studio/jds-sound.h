/* jds-sound.h — what the window's player and the compare window share about playing sound:
 * which device to open and the silent clock's reasons in the user's language. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* JDS_AUDIO_OUTPUT_NO_DEVICE when JDS_AUDIO_DEVICE=none (the tests: never touch PortAudio),
 * else the default device. */
int         jds_sound_device_from_environment (void);
/* A reason from the playback library (English) in the user's language; unknown ones as they
 * are. */
const char *jds_sound_translate_silent_reason (const char *reason);

G_END_DECLS
