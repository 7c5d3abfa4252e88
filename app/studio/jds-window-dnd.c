/* jds-window-dnd.c — pictures in: drops (files or textures), the clipboard and the open dialog. */
#include "jds-window-private.h"

#include <glib/gi18n.h>

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         JdsWindow     *self)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = g_value_get_boxed (value);
      if (files == NULL)
        return FALSE;
      if (files->next != NULL)
        jds_window_add_toast (self, _("Only the first of the dropped files is used"));
      return jds_window_open_file (self, files->data, NULL);
    }
  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    return jds_window_open_texture (self, g_value_get_object (value), _("Dropped image"), NULL);
  return FALSE;
}

void
_jds_window_dnd_init (JdsWindow *self)
{
  GtkDropTarget *target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (target, (GType[]) { GDK_TYPE_FILE_LIST, GDK_TYPE_TEXTURE }, 2);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->toast_overlay), GTK_EVENT_CONTROLLER (target));
  self->drop_target = target;
}

static void
on_open_response (GtkNativeDialog *dialog,
                  int              response,
                  JdsWindow       *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        jds_window_open_file (self, file, NULL);
    }
  g_clear_object (&self->chooser);
}

void
_jds_window_open_dialog (JdsWindow *self)
{
  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Open Image"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_paste_texture (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (JdsWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source),
                                                                      result, &error);
  if (texture == NULL)
    {
      jds_window_add_toast (self, _("The clipboard holds no image"));
      return;
    }
  jds_window_open_texture (self, texture, _("Pasted image"), NULL);
}

static void
on_paste_files (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (JdsWindow) self = user_data;
  const GValue *value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source), result, NULL);
  if (value == NULL || g_value_get_boxed (value) == NULL)
    {
      gdk_clipboard_read_texture_async (GDK_CLIPBOARD (source), NULL, on_paste_texture,
                                        g_steal_pointer (&self));
      return;
    }
  GSList *files = g_value_get_boxed (value);
  jds_window_open_file (self, files->data, NULL);
}

void
_jds_window_paste (JdsWindow *self)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (self));
  GdkContentFormats *formats = gdk_clipboard_get_formats (clipboard);
  /* Copied files (from a file manager) come as a file list; copied pictures as a texture. */
  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT, NULL,
                                    on_paste_files, g_object_ref (self));
  else
    gdk_clipboard_read_texture_async (clipboard, NULL, on_paste_texture, g_object_ref (self));
}
