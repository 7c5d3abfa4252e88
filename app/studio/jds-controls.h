/* jds-controls.h — the generation settings: guidance mode and scales, steps, seed, model and
 * device, every one bound to GSettings so it is remembered and can be steered while a run goes. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define JDS_TYPE_CONTROLS (jds_controls_get_type ())
G_DECLARE_FINAL_TYPE (JdsControls, jds_controls, JDS, CONTROLS, GtkWidget)

void jds_controls_bind_settings        (JdsControls *self,
                                        GSettings   *settings);
/* What the current model makes, shown under the model row (NULL: loading). */
void jds_controls_set_model_summary    (JdsControls *self,
                                        const char  *summary);
/* A new random seed, as the dice button picks it. */
void jds_controls_roll_seed            (JdsControls *self);
/* The history list (rows are added by the window), placed under the settings. */
GtkListBox *jds_controls_get_history   (JdsControls *self);
/* Puts a row at the top of the history (the newest first) and shows the list. */
void        jds_controls_add_history_row (JdsControls *self,
                                          GtkWidget   *row);

/* Index ↔ GSettings nick tables, shared with the preferences window. */
extern const char *const jds_guidance_mode_nicks[];
extern const char *const jds_seed_policy_nicks[];
/* "auto", "cpu" and, when a GPU is usable at run time (jd_device_usable), "cuda". */
const char *const *jds_device_get_nicks (void);
guint jds_device_nick_count (void);
/* Fills a device row with the choices above and says in its tooltip why a GPU is absent. */
void  jds_device_fill_row (AdwComboRow *row);
/* Binds an AdwComboRow's "selected" to a string-enum key through a NULL-terminated nick table. */
void  jds_bind_combo_row (GSettings         *settings,
                          const char        *key,
                          AdwComboRow       *row,
                          const char *const *nicks);

G_END_DECLS
