/* jds-import-dialog.h — "Import Checkpoints": public Stable Video Diffusion and AudioLDM2
 * checkpoints (optionally a CLIP image encoder and trained Joint Blocks) converted into one
 * model bundle by the engine's converter (jd_convert_run), which then becomes the model.
 *
 * The conversion runs on a GTask thread; its progress reaches the main loop as one atomic
 * number read on a timer, so the window keeps drawing. A refused source shows the converter's
 * sentence in the dialog and leaves no file (the converter checks everything before it writes).
 *
 * Closing the dialog while it converts discards the import: the converter cannot be stopped
 * between tensors, so it finishes in the background into a hidden temporary file next to the
 * bundle, which is then deleted; the chosen path and the model setting stay untouched (an
 * existing file there is not replaced). The hidden window keeps the application alive until
 * then. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define JDS_TYPE_IMPORT_DIALOG (jds_import_dialog_get_type ())
G_DECLARE_FINAL_TYPE (JdsImportDialog, jds_import_dialog, JDS, IMPORT_DIALOG, AdwWindow)

typedef enum
{
  JDS_IMPORT_SVD,        /* required folder */
  JDS_IMPORT_AUDIOLDM2,  /* required folder */
  JDS_IMPORT_CLIP,       /* optional folder */
  JDS_IMPORT_JOINT,      /* optional .safetensors file */
  JDS_IMPORT_OUTPUT,     /* required: the bundle to write */
  JDS_IMPORT_N_PATHS,
} JdsImportPath;

typedef enum
{
  JDS_IMPORT_EDITING,    /* the form (also after a refused import, with its error shown) */
  JDS_IMPORT_RUNNING,
  JDS_IMPORT_DONE,       /* the bundle is written and is the model now */
} JdsImportState;

/* A modal dialog over parent that sets settings' "model-path" to the bundle it writes. */
GtkWidget      *jds_import_dialog_new        (GtkWindow       *parent,
                                              GSettings       *settings);

/* What the file choosers do (tests set paths here: a native chooser cannot be driven). NULL or
 * "" clears an optional path. */
void            jds_import_dialog_set_path   (JdsImportDialog *self,
                                              JdsImportPath    which,
                                              const char      *path);
const char     *jds_import_dialog_get_path   (JdsImportDialog *self,
                                              JdsImportPath    which);
/* The converter's refusal as shown, or NULL when none is shown. */
const char     *jds_import_dialog_get_error  (JdsImportDialog *self);
/* The report's notices as shown after an import (NULL before). */
const char     *jds_import_dialog_get_notices (JdsImportDialog *self);
JdsImportState  jds_import_dialog_get_state  (JdsImportDialog *self);
/* The progress bar's fraction: what the converter last reported (0 while it checks). */
double          jds_import_dialog_get_progress (JdsImportDialog *self);
/* The Import button, for tests that click it. */
GtkWidget      *jds_import_dialog_get_import_button (JdsImportDialog *self);

G_END_DECLS
