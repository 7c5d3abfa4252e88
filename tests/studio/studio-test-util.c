/* studio-test-util.c — the GUI tests' shared helpers. */
#include "studio-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

#include "jds-compare-window.h"
#include "jds-worker.h"

JdsApplication *
studio_test_application (void)
{
  g_autoptr (GError) error = NULL;
  JdsApplication *app = jds_application_new ("io.github.jointdit.Studio.Test",
                                             G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  return app;
}

void
studio_test_application_free (JdsApplication *app)
{
  g_application_quit (G_APPLICATION (app));
  g_object_run_dispose (G_OBJECT (jds_application_get_worker (app)));
  g_object_unref (app);
}

void
studio_test_reset_settings (JdsApplication *app)
{
  GSettings *settings = jds_application_get_settings (app);
  g_autoptr (GSettingsSchema) schema = NULL;
  g_object_get (settings, "settings-schema", &schema, NULL);
  g_auto (GStrv) keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
studio_test_wait (StudioTestCondition condition,
                  gpointer            data,
                  double              timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add ((guint) (timeout_s * 1000), on_timeout, &timed_out);
  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return condition (data);
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
studio_test_spin (double seconds)
{
  studio_test_wait (never, NULL, seconds);
}

gboolean
studio_test_send_key (GtkWidget       *widget,
                      guint            keyval,
                      GdkModifierType  state)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_EVENT_CONTROLLER_KEY (controller))
        {
          gboolean handled = FALSE;
          g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
          return handled;
        }
    }
  g_error ("%s has no key controller", G_OBJECT_TYPE_NAME (widget));
}

gboolean
studio_test_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0;
}

gboolean
studio_test_model_ready (gpointer app)
{
  return jds_worker_get_model_info (jds_application_get_worker (app)) != NULL;
}

gboolean
studio_test_compare_done (gpointer compare)
{
  guint total = jds_compare_window_get_n_total (compare);
  return total > 0 && jds_compare_window_get_n_done (compare) == total;
}

GtkWindow *
studio_test_find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) toplevel = g_list_model_get_item (toplevels, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (toplevel, type) && gtk_widget_get_mapped (GTK_WIDGET (toplevel)))
        return GTK_WINDOW (toplevel);
    }
  return NULL;
}

GdkTexture *
studio_test_render (GtkWidget *widget)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);

  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    return NULL;  /* not drawn yet */
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

guint
studio_test_count_colours (GdkTexture *texture,
                           guint       cap)
{
  int width = gdk_texture_get_width (texture);
  int height = gdk_texture_get_height (texture);
  gsize stride = (gsize) width * 4;
  g_autofree guint32 *pixels = g_malloc (stride * height);
  gdk_texture_download (texture, (guchar *) pixels, stride);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (gsize i = 0; i < (gsize) width * height && g_hash_table_size (seen) < cap; i++)
    g_hash_table_add (seen, GUINT_TO_POINTER (pixels[i] | 1u));
  return g_hash_table_size (seen);
}

static gboolean
transition_running (GtkWidget *widget)
{
  if (GTK_IS_STACK (widget) && gtk_stack_get_transition_running (GTK_STACK (widget)))
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child;
       child = gtk_widget_get_next_sibling (child))
    if (transition_running (child))
      return TRUE;
  return FALSE;
}

static gboolean
transitions_done (gpointer data)
{
  return !transition_running (data);
}

char *
studio_test_screenshot (GtkWidget  *widget,
                        const char *name,
                        guint       min_colours)
{
  g_autofree char *folder = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : ".",
                                              "screenshots", NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  char *path = g_build_filename (folder, file, NULL);
  /* A page that is still fading in would make the picture half of two states. */
  studio_test_wait (transitions_done, widget, 5);
  g_autoptr (GdkTexture) texture = studio_test_render (widget);
  /* A window that has just been mapped may not have drawn its first frame yet. */
  for (int i = 0; texture == NULL && i < 50; i++)
    {
      studio_test_spin (0.1);
      texture = studio_test_render (widget);
    }
  g_assert_nonnull (texture);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  guint colours = studio_test_count_colours (texture, 4096);
  g_test_message ("%s: %d × %d, %u colours", path, gdk_texture_get_width (texture),
                  gdk_texture_get_height (texture), colours);
  if (colours < min_colours)
    g_error ("%s looks blank: %u colours, expected at least %u", path, colours, min_colours);
  return path;
}

char *
studio_test_image_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "media", "fixtures", name, NULL);
}

/* The largest size GtkBoxLayout tries before giving up (MAX_ALLOWED_SIZE in gtkboxlayout.c). */
#define HUGE_FOR_SIZE (1 << 20)

static void
collect_size_violations (GtkWidget *widget,
                         GString   *out)
{
  if (!gtk_widget_get_visible (widget))
    return;
  for (int o = 0; o < 2; o++)
    {
      GtkOrientation orientation = o ? GTK_ORIENTATION_VERTICAL : GTK_ORIENTATION_HORIZONTAL;
      int free_min = 0, huge_min = 0;
      gtk_widget_measure (widget, orientation, -1, &free_min, NULL, NULL, NULL);
      gtk_widget_measure (widget, orientation, HUGE_FOR_SIZE, &huge_min, NULL, NULL, NULL);
      if (huge_min > free_min)
        {
          GtkWidget *parent = gtk_widget_get_parent (widget);
          g_string_append_printf (out, "%s %p (in %s)%s%s%s: minimum %s %d, but %d for a %s of %d\n",
                                  G_OBJECT_TYPE_NAME (widget), widget,
                                  parent ? G_OBJECT_TYPE_NAME (parent) : "no parent",
                                  GTK_IS_LABEL (widget) ? " “" : "",
                                  GTK_IS_LABEL (widget) ? gtk_label_get_text (GTK_LABEL (widget)) : "",
                                  GTK_IS_LABEL (widget) ? "”" : "",
                                  o ? "height" : "width", free_min, huge_min,
                                  o ? "width" : "height", HUGE_FOR_SIZE);
        }
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_size_violations (child, out);
}

char *
studio_test_size_violations (GtkWidget *root)
{
  g_autoptr (GString) out = g_string_new (NULL);
  collect_size_violations (root, out);
  return out->len > 0 ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}
