/* jds-time-axis.c — ticks at round steps with labels like "0.5 s". */
#include "jds-time-axis.h"

#include <glib/gi18n.h>
#include <math.h>

struct _JdsTimeAxis
{
  GtkWidget parent_instance;
  double    seconds;
};

G_DEFINE_FINAL_TYPE (JdsTimeAxis, jds_time_axis, GTK_TYPE_WIDGET)

double
jds_time_axis_tick_step (double seconds)
{
  if (!(seconds > 0))
    return 1.0;
  double raw = seconds / 5.0;
  double power = pow (10.0, floor (log10 (raw)));
  double mantissa = raw / power;
  double nice = mantissa < 1.5 ? 1.0 : mantissa < 3.5 ? 2.0 : mantissa < 7.5 ? 5.0 : 10.0;
  return nice * power;
}

static void
jds_time_axis_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  JdsTimeAxis *self = JDS_TIME_AXIS (widget);
  int width = gtk_widget_get_width (widget);
  if (!(self->seconds > 0) || width <= 0)
    return;

  GdkRGBA color;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  GdkRGBA line = color;
  line.alpha *= 0.5f;

  gtk_snapshot_append_color (snapshot, &line, &GRAPHENE_RECT_INIT (0, 0, width, 1));
  double step = jds_time_axis_tick_step (self->seconds);
  int decimals = step >= 1.0 ? 0 : (int) ceil (-log10 (step) - 1e-9);
  for (int i = 0; i * step <= self->seconds + 1e-9; i++)
    {
      double t = i * step;
      float x = (float) (t / self->seconds * (width - 1));
      gtk_snapshot_append_color (snapshot, &line, &GRAPHENE_RECT_INIT (x, 0, 1, 5));

      char number[32];
      g_snprintf (number, sizeof number, "%.*f", decimals, t);
      /* Translators: a time on the spectrogram's axis, in seconds */
      g_autofree char *text = g_strdup_printf (_("%s s"), number);
      g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
      int lw, lh;
      pango_layout_get_pixel_size (layout, &lw, &lh);
      float lx = CLAMP (x - lw / 2.0f, 0.0f, (float) (width - lw));
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (lx, 6));
      gtk_snapshot_append_layout (snapshot, layout, &color);
      gtk_snapshot_restore (snapshot);
    }
}

static void
jds_time_axis_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 40;
      *natural = 200;
      return;
    }
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, "0.5 s");
  int lw, lh;
  pango_layout_get_pixel_size (layout, &lw, &lh);
  *minimum = *natural = 6 + lh;
}

GtkWidget *
jds_time_axis_new (void)
{
  return g_object_new (JDS_TYPE_TIME_AXIS, NULL);
}

void
jds_time_axis_set_seconds (JdsTimeAxis *self,
                           double       seconds)
{
  g_return_if_fail (JDS_IS_TIME_AXIS (self));
  if (self->seconds == seconds)
    return;
  self->seconds = seconds;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
jds_time_axis_get_seconds (JdsTimeAxis *self)
{
  g_return_val_if_fail (JDS_IS_TIME_AXIS (self), 0);
  return self->seconds;
}

static void
jds_time_axis_class_init (JdsTimeAxisClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  widget_class->snapshot = jds_time_axis_snapshot;
  widget_class->measure = jds_time_axis_measure;
  gtk_widget_class_set_css_name (widget_class, "jds-time-axis");
}

static void
jds_time_axis_init (JdsTimeAxis *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self), "caption");
}
