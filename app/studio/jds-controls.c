/* jds-controls.c — the settings sidebar. */
#include "jds-controls.h"

#include "jointdit.h"

#include <glib/gi18n.h>

#include "jd-build-config.h"
#include "jds-config.h"
#include "jds-import-dialog.h"

struct _JdsControls
{
  GtkWidget      parent_instance;

  GSettings     *settings;

  GtkWidget     *scroller;
  AdwComboRow   *mode_row;
  GtkAdjustment *omega_video_adjustment;
  GtkAdjustment *omega_audio_adjustment;
  GtkToggleButton *link_button;
  GtkWidget     *omega_audio_row;
  GtkSwitch     *ramp_switch;
  GtkAdjustment *steps_adjustment;
  GtkAdjustment *seed_adjustment;
  AdwComboRow   *seed_policy_row;
  AdwActionRow  *model_row;
  GtkWidget     *model_reset_button;
  AdwComboRow   *device_row;
  GtkListBox    *history_list;
  GtkWidget     *history_group;

  GtkFileChooserNative *chooser;
  char          *model_summary;
};

G_DEFINE_FINAL_TYPE (JdsControls, jds_controls, GTK_TYPE_WIDGET)

const char *const jds_guidance_mode_nicks[] = { "none", "cfg", "joint", "joint-star", NULL };
const char *const jds_seed_policy_nicks[] = { "keep", "increment", "randomize", NULL };
/* The GPU appears only when it can be used at run time: asked once, the answer does not change
 * while the app runs. */
static char *gpu_absent_reason;

const char *const *
jds_device_get_nicks (void)
{
  static const char *const with_gpu[] = { "auto", "cpu", "cuda", NULL };
  static const char *const without_gpu[] = { "auto", "cpu", NULL };
  static gsize usable = 0;
  if (g_once_init_enter (&usable))
    {
      char *reason = NULL;
      gboolean gpu = jd_device_usable (JD_DEVICE_CUDA, &reason);
      gpu_absent_reason = reason;
      g_once_init_leave (&usable, gpu ? 2 : 1);
    }
  return usable == 2 ? with_gpu : without_gpu;
}

guint
jds_device_nick_count (void)
{
  return g_strv_length ((char **) jds_device_get_nicks ());
}

void
jds_device_fill_row (AdwComboRow *row)
{
  g_autoptr (GtkStringList) devices = gtk_string_list_new (NULL);
  gtk_string_list_append (devices, _("Automatic"));
  gtk_string_list_append (devices, _("CPU"));
  if (jds_device_nick_count () > 2)
    {
      gtk_string_list_append (devices, _("GPU (CUDA)"));
      gtk_widget_set_tooltip_text (GTK_WIDGET (row),
                                   _("Where the model runs; a GPU is offered only when it can be used"));
    }
  else
    {
      /* Translators: %s is the engine's reason, e.g. "This build has no CUDA backend…" */
      g_autofree char *tooltip = g_strdup_printf (_("Where the model runs. No GPU is offered: %s"),
                                                  gpu_absent_reason ? gpu_absent_reason : "");
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), tooltip);
    }
  adw_combo_row_set_model (row, G_LIST_MODEL (devices));
}

static gboolean
combo_get_mapping (GValue   *value,
                   GVariant *variant,
                   gpointer  user_data)
{
  const char *const *nicks = user_data;
  const char *nick = g_variant_get_string (variant, NULL);
  for (guint i = 0; nicks[i] != NULL; i++)
    if (g_strcmp0 (nicks[i], nick) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  /* A value this build cannot offer (a GPU setting in a CPU build) shows as the first one. */
  g_value_set_uint (value, 0);
  return TRUE;
}

static GVariant *
combo_set_mapping (const GValue       *value,
                   const GVariantType *expected_type,
                   gpointer            user_data)
{
  const char *const *nicks = user_data;
  guint index = g_value_get_uint (value);
  if (index >= g_strv_length ((char **) nicks))
    return NULL;
  return g_variant_new_string (nicks[index]);
}

void
jds_bind_combo_row (GSettings         *settings,
                    const char        *key,
                    AdwComboRow       *row,
                    const char *const *nicks)
{
  g_settings_bind_with_mapping (settings, key, row, "selected", G_SETTINGS_BIND_DEFAULT,
                                combo_get_mapping, combo_set_mapping, (gpointer) nicks, NULL);
}

static void
update_model_row (JdsControls *self)
{
  g_autofree char *path = g_settings_get_string (self->settings, "model-path");
  g_autofree char *title = NULL;
  if (path[0] == '\0')
    title = g_strdup (_("Built-in Model"));
  else
    title = g_path_get_basename (path);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->model_row), title);
  adw_action_row_set_subtitle (self->model_row,
                               self->model_summary ? self->model_summary : _("Loading…"));
  gtk_widget_set_visible (self->model_reset_button, path[0] != '\0');
}

/* Linked scales: moving either moves the other. */
static void
on_omega_changed (GSettings   *settings,
                  const char  *key,
                  JdsControls *self)
{
  if (!g_settings_get_boolean (settings, "omega-linked"))
    return;
  double video = g_settings_get_double (settings, "omega-video");
  double audio = g_settings_get_double (settings, "omega-audio");
  if (video == audio)
    return;
  if (g_str_equal (key, "omega-audio"))
    g_settings_set_double (settings, "omega-video", audio);
  else
    g_settings_set_double (settings, "omega-audio", video);
}

static void
on_model_path_changed (GSettings   *settings,
                       const char  *key,
                       JdsControls *self)
{
  g_clear_pointer (&self->model_summary, g_free);
  update_model_row (self);
}

void
jds_controls_bind_settings (JdsControls *self,
                            GSettings   *settings)
{
  g_return_if_fail (JDS_IS_CONTROLS (self));
  g_return_if_fail (self->settings == NULL);

  self->settings = g_object_ref (settings);
  jds_bind_combo_row (settings, "guidance-mode", self->mode_row, jds_guidance_mode_nicks);
  jds_bind_combo_row (settings, "seed-policy", self->seed_policy_row, jds_seed_policy_nicks);
  jds_bind_combo_row (settings, "device", self->device_row, jds_device_get_nicks ());
  g_settings_bind (settings, "omega-video", self->omega_video_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "omega-audio", self->omega_audio_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "omega-linked", self->link_button, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "omega-video-ramp", self->ramp_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "steps", self->steps_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "seed", self->seed_adjustment, "value", G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_object (settings, "changed::omega-video", G_CALLBACK (on_omega_changed),
                           self, 0);
  g_signal_connect_object (settings, "changed::omega-audio", G_CALLBACK (on_omega_changed),
                           self, 0);
  g_signal_connect_object (settings, "changed::omega-linked", G_CALLBACK (on_omega_changed),
                           self, 0);
  g_signal_connect_object (settings, "changed::model-path", G_CALLBACK (on_model_path_changed),
                           self, 0);
  update_model_row (self);
}

void
jds_controls_set_model_summary (JdsControls *self,
                                const char  *summary)
{
  g_return_if_fail (JDS_IS_CONTROLS (self));
  g_free (self->model_summary);
  self->model_summary = g_strdup (summary);
  if (self->settings != NULL)
    update_model_row (self);
}

void
jds_controls_roll_seed (JdsControls *self)
{
  g_return_if_fail (JDS_IS_CONTROLS (self));
  gtk_adjustment_set_value (self->seed_adjustment, g_random_int ());
}

GtkListBox *
jds_controls_get_history (JdsControls *self)
{
  g_return_val_if_fail (JDS_IS_CONTROLS (self), NULL);
  return self->history_list;
}

void
jds_controls_add_history_row (JdsControls *self,
                              GtkWidget   *row)
{
  g_return_if_fail (JDS_IS_CONTROLS (self));
  gtk_list_box_prepend (self->history_list, row);
  gtk_widget_set_visible (self->history_group, TRUE);
}

static void
on_dice_clicked (JdsControls *self)
{
  jds_controls_roll_seed (self);
}

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     JdsControls     *self)
{
  if (response == GTK_RESPONSE_ACCEPT && self->settings != NULL)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path != NULL)
        g_settings_set_string (self->settings, "model-path", path);
    }
  g_clear_object (&self->chooser);
}

static void
on_model_choose_clicked (JdsControls *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  self->chooser = gtk_file_chooser_native_new (_("Choose a Model Bundle"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"),
                                               _("_Cancel"));
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Model bundles"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_model_reset_clicked (JdsControls *self)
{
  if (self->settings != NULL)
    g_settings_reset (self->settings, "model-path");
}

static void
on_import_checkpoints (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  JdsControls *self = JDS_CONTROLS (widget);
  if (self->settings == NULL)
    return;
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog = jds_import_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                             self->settings);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
jds_controls_dispose (GObject *object)
{
  JdsControls *self = JDS_CONTROLS (object);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->model_summary, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), JDS_TYPE_CONTROLS);
  G_OBJECT_CLASS (jds_controls_parent_class)->dispose (object);
}

static void
jds_controls_class_init (JdsControlsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jds_controls_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, JDS_RESOURCE_PATH "/jds-controls.ui");
  gtk_widget_class_bind_template_child (widget_class, JdsControls, scroller);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, mode_row);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, omega_video_adjustment);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, omega_audio_adjustment);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, link_button);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, omega_audio_row);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, ramp_switch);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, steps_adjustment);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, seed_adjustment);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, seed_policy_row);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, model_row);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, model_reset_button);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, device_row);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, history_list);
  gtk_widget_class_bind_template_child (widget_class, JdsControls, history_group);
  gtk_widget_class_bind_template_callback (widget_class, on_dice_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_model_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_model_reset_clicked);
  /* The model group's "Import Checkpoints…" row (jds-import-dialog.h). */
  gtk_widget_class_install_action (widget_class, "controls.import-checkpoints", NULL,
                                   on_import_checkpoints);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "jds-controls");
}

static void
jds_controls_init (JdsControls *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  /* The device list depends on the machine, so it is filled here rather than in the template. */
  jds_device_fill_row (self->device_row);
  /* The model row says something from the first moment: its subtitle appearing only when the
   * settings are bound could leave GTK holding the row's title column measured without it for
   * the window's first layout (the same stale minimum width as the window's header column). */
  adw_action_row_set_subtitle (self->model_row, _("Loading…"));
}
