/* studio-test-util.h — what the studio's GUI tests share: the application, waiting on the main
 * loop with a timeout, and window screenshots rendered to PNG and checked not blank. */
#pragma once

#include <gtk/gtk.h>

#include "jds-application.h"

G_BEGIN_DECLS

/* A registered, non-unique application (startup has run: settings, worker, model loading). */
JdsApplication *studio_test_application   (void);
/* Quits app, stops its worker and drops it (the end of every test program's main). */
void            studio_test_application_free (JdsApplication *app);
/* Resets every key of the application's settings to its default. */
void            studio_test_reset_settings (JdsApplication *app);

typedef gboolean (*StudioTestCondition) (gpointer data);
/* Runs the main loop until condition(data) holds; FALSE after timeout_s seconds. */
gboolean        studio_test_wait          (StudioTestCondition condition,
                                           gpointer            data,
                                           double              timeout_s);
/* Runs the main loop for seconds. */
void            studio_test_spin          (double              seconds);
/* Conditions for studio_test_wait: data is a widget, mapped and laid out (width > 0); data is
 * the JdsApplication, whose worker has loaded its model. */
gboolean        studio_test_mapped        (gpointer            widget);
gboolean        studio_test_model_ready   (gpointer            app);
/* Condition: data is a JdsCompareWindow whose runs have all finished. */
gboolean        studio_test_compare_done  (gpointer            compare);
/* A mapped toplevel window of the given type, or NULL. */
GtkWindow      *studio_test_find_toplevel (GType               type);

/* A key press reaching widget's own key controller (as when the focus is in it and no child
 * took the key); returns whether the controller handled it. */
gboolean        studio_test_send_key      (GtkWidget          *widget,
                                           guint               keyval,
                                           GdkModifierType     state);

/* Renders widget as it is drawn now (widget paintable → snapshot → the window's renderer);
 * NULL when it has not been drawn yet. */
GdkTexture     *studio_test_render        (GtkWidget          *widget);
/* Number of distinct RGBA colours in texture (at most `cap` are counted). */
guint           studio_test_count_colours (GdkTexture         *texture,
                                           guint               cap);
/* Saves a screenshot of widget as $G_TEST_BUILDDIR/screenshots/NAME.png, checks that it has at
 * least min_colours colours, and returns the path. */
char           *studio_test_screenshot    (GtkWidget          *widget,
                                           const char         *name,
                                           guint               min_colours);
/* Widgets under root (itself included) that break GTK's size contract: asked for their minimum
 * width at some height (or height at some width), they must never need more than their minimum
 * with no size given. A box that distributes space by width-for-height gives up with a critical
 * ("reports a minimum width of …, but minimum width for height of 1048576 is …") when one does.
 * Returns one line per offender, or NULL when there is none. */
char           *studio_test_size_violations (GtkWidget        *root);
/* A test picture from tests/media/fixtures. */
char           *studio_test_image_path    (const char         *name);

G_END_DECLS
