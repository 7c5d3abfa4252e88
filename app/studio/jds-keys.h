/* jds-keys.h — keys the studio's windows read the same way. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Space (main or keypad) without Ctrl, Shift, Alt or Super: play/pause in a player. */
static inline gboolean
jds_key_is_play_pause (guint           keyval,
                       GdkModifierType state)
{
  return (keyval == GDK_KEY_space || keyval == GDK_KEY_KP_Space)
         && (state & gtk_accelerator_get_default_mod_mask ()) == 0;
}

G_END_DECLS
