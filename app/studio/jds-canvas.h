/* jds-canvas.h — a small RGBA picture drawn large with crisp (nearest-neighbour) pixels.
 *
 * GTK 4.8 smooths every scaled GtkPicture, which turns a 64 × 64 frame into mush, so the canvas
 * draws through a GtkGLArea (libepoxy) with GL_NEAREST sampling and, for spectrograms, the colour
 * map in the fragment shader. Where no GL context can be made (GDK_DEBUG=gl-disable, a remote X
 * server), it falls back to a GtkPicture of a GdkMemoryTexture that the code has already upscaled
 * by a whole factor and colour-mapped, which looks the same. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define JDS_TYPE_CANVAS (jds_canvas_get_type ())
G_DECLARE_FINAL_TYPE (JdsCanvas, jds_canvas, JDS, CANVAS, GtkWidget)

GtkWidget *jds_canvas_new          (void);
/* rgba: height × width × 4 bytes (straight alpha), kept by reference; NULL clears. */
void       jds_canvas_set_image    (JdsCanvas *self,
                                    int        width,
                                    int        height,
                                    GBytes    *rgba);
/* Draw the first channel through the spectrogram colour map (jds_colormap). */
void       jds_canvas_set_colormap (JdsCanvas *self,
                                    gboolean   colormap);
gboolean   jds_canvas_get_colormap (JdsCanvas *self);
/* Whether this canvas draws through GL (FALSE: the GtkPicture fallback). */
gboolean   jds_canvas_get_uses_gl  (JdsCanvas *self);
/* How many pictures it was given (tests watch previews arrive). */
guint      jds_canvas_get_serial   (JdsCanvas *self);

/* Whether GL can be used on the default display and GTK composites with GL (asked once). */
gboolean   jds_canvas_gl_available (void);

G_END_DECLS
