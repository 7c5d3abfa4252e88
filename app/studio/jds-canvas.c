/* jds-canvas.c — nearest-neighbour pictures through GL, or upscaled textures without it. */
#include "jds-canvas.h"

#include <epoxy/gl.h>
#include <math.h>
#include <string.h>

#include "jds-spectrogram.h"

struct _JdsCanvas
{
  GtkWidget  parent_instance;

  GtkWidget *child;       /* a GtkGLArea or a GtkPicture */
  gboolean   uses_gl;
  gboolean   colormap;
  int        width;
  int        height;
  GBytes    *rgba;
  guint      serial;

  /* GL state, valid between the area's realize and unrealize. */
  GLuint     program;
  GLuint     vao;
  GLuint     texture;
  GLint      colormap_location;
  gboolean   texture_dirty;

  /* Fallback: the upscale factor of the texture shown, redone when the size changes a lot. */
  int        factor;
  guint      refit_idle;
};

G_DEFINE_FINAL_TYPE (JdsCanvas, jds_canvas, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_COLORMAP,
  PROP_USES_GL,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

gboolean
jds_canvas_gl_available (void)
{
  static gsize once = 0;
  static gboolean available;
  if (g_once_init_enter (&once))
    {
      g_autoptr (GError) error = NULL;
      GdkDisplay *display = gdk_display_get_default ();
      /* With GTK's cairo renderer every GL area is read back into memory each frame: pictures
       * upscaled in code are cheaper there, and look the same. */
      if (g_strcmp0 (g_getenv ("GSK_RENDERER"), "cairo") == 0)
        g_set_error_literal (&error, GDK_GL_ERROR, GDK_GL_ERROR_NOT_AVAILABLE,
                             "GSK_RENDERER=cairo draws without GL");
      else if (display == NULL)
        g_set_error_literal (&error, GDK_GL_ERROR, GDK_GL_ERROR_NOT_AVAILABLE, "no display");
      available = error == NULL && gdk_display_prepare_gl (display, &error);
      if (!available)
        g_debug ("Preview canvas without GL (pictures upscaled in code): %s", error->message);
      g_once_init_leave (&once, 1);
    }
  return available;
}

/* ---- the fallback: upscaled GdkMemoryTextures in a GtkPicture ---- */

/* Upscales by a whole factor to about the size the picture is shown at (512 px before the
 * first allocation); GtkPicture's own smoothing then only blends the edges of big blocks, which
 * keeps them crisp, and never has to shrink a much larger texture (slow with cairo). */
static GdkTexture *
make_upscaled_texture (JdsCanvas *self)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  int shown_w = gtk_widget_get_width (GTK_WIDGET (self)) * scale;
  int shown_h = gtk_widget_get_height (GTK_WIDGET (self)) * scale;
  int factor;
  if (shown_w > 0 && shown_h > 0)
    factor = MAX (1, (int) ceil (MIN ((double) shown_w / self->width,
                                      (double) shown_h / self->height)));
  else
    factor = MAX (1, (512 + MAX (self->width, self->height) - 1) / MAX (self->width, self->height));
  while (factor > 1 && (gint64) self->width * self->height * factor * factor > 8 * 1024 * 1024)
    factor--;
  self->factor = factor;
  int w = self->width * factor, h = self->height * factor;
  gsize stride = (gsize) w * 4;
  guint8 *out = g_malloc (stride * h);
  const guint8 *src = g_bytes_get_data (self->rgba, NULL);

  for (int y = 0; y < self->height; y++)
    {
      guint8 *row = out + (gsize) y * factor * stride;
      for (int x = 0; x < self->width; x++)
        {
          const guint8 *p = src + ((gsize) y * self->width + x) * 4;
          guint8 pixel[4] = { p[0], p[1], p[2], p[3] };
          if (self->colormap)
            {
              jds_colormap (p[0] / 255.0f, pixel);
              pixel[3] = 255;
            }
          for (int k = 0; k < factor; k++)
            memcpy (row + ((gsize) x * factor + k) * 4, pixel, 4);
        }
      for (int k = 1; k < factor; k++)
        memcpy (row + k * stride, row, stride);
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (out, stride * h);
  return gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes, stride);
}

static void
update_picture (JdsCanvas *self)
{
  if (self->rgba == NULL)
    {
      gtk_picture_set_paintable (GTK_PICTURE (self->child), NULL);
      return;
    }
  g_autoptr (GdkTexture) texture = make_upscaled_texture (self);
  gtk_picture_set_content_fit (GTK_PICTURE (self->child),
                               self->colormap ? GTK_CONTENT_FIT_FILL : GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_paintable (GTK_PICTURE (self->child), GDK_PAINTABLE (texture));
}

static gboolean
refit_picture (gpointer data)
{
  JdsCanvas *self = data;
  self->refit_idle = 0;
  if (!self->uses_gl)
    update_picture (self);
  return G_SOURCE_REMOVE;
}

static void
jds_canvas_measure (GtkWidget      *widget,
                    GtkOrientation  orientation,
                    int             for_size,
                    int            *minimum,
                    int            *natural,
                    int            *minimum_baseline,
                    int            *natural_baseline)
{
  JdsCanvas *self = JDS_CANVAS (widget);
  gtk_widget_measure (self->child, orientation, for_size, minimum, natural, minimum_baseline,
                      natural_baseline);
}

static void
jds_canvas_size_allocate (GtkWidget *widget,
                          int        width,
                          int        height,
                          int        baseline)
{
  JdsCanvas *self = JDS_CANVAS (widget);
  gtk_widget_allocate (self->child, width, height, baseline, NULL);
  if (self->uses_gl || self->rgba == NULL || self->refit_idle != 0)
    return;
  /* A texture made for a much smaller or larger size would be blurred or shrunk by GTK:
   * make it again for this size, after the layout pass. */
  int scale = gtk_widget_get_scale_factor (widget);
  int factor = MAX (1, (int) ceil (MIN ((double) width * scale / self->width,
                                        (double) height * scale / self->height)));
  if (factor != self->factor)
    self->refit_idle = g_idle_add (refit_picture, self);
}

/* ---- GL ---- */

static const char vertex_source[] =
  "out vec2 uv;\n"
  "void main () {\n"
  "  vec2 p = vec2 ((gl_VertexID & 1) == 1 ? 1.0 : -1.0, (gl_VertexID >> 1) == 1 ? 1.0 : -1.0);\n"
  "  uv = vec2 ((p.x + 1.0) * 0.5, (1.0 - p.y) * 0.5);\n"
  "  gl_Position = vec4 (p, 0.0, 1.0);\n"
  "}\n";

/* The colour map is jds_colormap's (jds-spectrogram.c): keep the stops in step. */
static const char fragment_source[] =
  "in vec2 uv;\n"
  "out vec4 color;\n"
  "uniform sampler2D image;\n"
  "uniform int colormap;\n"
  "vec3 map_colour (float v) {\n"
  "  vec3 stops[5] = vec3[5] (vec3 (0.00, 0.00, 0.02), vec3 (0.33, 0.07, 0.47),\n"
  "                           vec3 (0.80, 0.18, 0.33), vec3 (0.98, 0.55, 0.09),\n"
  "                           vec3 (0.99, 0.97, 0.75));\n"
  "  float x = clamp (v, 0.0, 1.0) * 4.0;\n"
  "  int i = min (int (x), 3);\n"
  "  return mix (stops[i], stops[i + 1], x - float (i));\n"
  "}\n"
  "void main () {\n"
  "  vec4 c = texture (image, uv);\n"
  "  if (colormap == 1)\n"
  "    c = vec4 (map_colour (c.r), 1.0);\n"
  "  color = vec4 (c.rgb * c.a, c.a);\n"   /* GtkGLArea wants premultiplied alpha */
  "}\n";

static GLuint
compile_shader (GLenum      type,
                const char *header,
                const char *body,
                GError    **error)
{
  GLuint shader = glCreateShader (type);
  const char *sources[2] = { header, body };
  glShaderSource (shader, 2, sources, NULL);
  glCompileShader (shader);
  GLint ok = 0;
  glGetShaderiv (shader, GL_COMPILE_STATUS, &ok);
  if (!ok)
    {
      char log[1024] = "";
      glGetShaderInfoLog (shader, sizeof log, NULL, log);
      g_set_error (error, GDK_GL_ERROR, GDK_GL_ERROR_COMPILATION_FAILED,
                   "The preview canvas shader did not compile: %s", log);
      glDeleteShader (shader);
      return 0;
    }
  return shader;
}

static void
on_gl_realize (GtkGLArea *area,
               JdsCanvas *self)
{
  g_autoptr (GError) error = NULL;

  gtk_gl_area_make_current (area);
  if (gtk_gl_area_get_error (area) != NULL)
    return;

  GdkGLContext *context = gtk_gl_area_get_context (area);
  const char *header = gdk_gl_context_get_use_es (context)
                       ? "#version 300 es\nprecision mediump float;\n"
                       : "#version 150\n";
  GLuint vs = compile_shader (GL_VERTEX_SHADER, header, vertex_source, &error);
  GLuint fs = vs ? compile_shader (GL_FRAGMENT_SHADER, header, fragment_source, &error) : 0;
  if (fs == 0)
    {
      if (vs)
        glDeleteShader (vs);
      gtk_gl_area_set_error (area, error);
      return;
    }
  self->program = glCreateProgram ();
  glAttachShader (self->program, vs);
  glAttachShader (self->program, fs);
  glLinkProgram (self->program);
  glDeleteShader (vs);
  glDeleteShader (fs);
  GLint linked = 0;
  glGetProgramiv (self->program, GL_LINK_STATUS, &linked);
  if (!linked)
    {
      g_set_error (&error, GDK_GL_ERROR, GDK_GL_ERROR_LINK_FAILED,
                   "The preview canvas shader did not link");
      gtk_gl_area_set_error (area, error);
      glDeleteProgram (self->program);
      self->program = 0;
      return;
    }
  self->colormap_location = glGetUniformLocation (self->program, "colormap");

  glGenVertexArrays (1, &self->vao);
  glGenTextures (1, &self->texture);
  glBindTexture (GL_TEXTURE_2D, self->texture);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri (GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  self->texture_dirty = TRUE;
}

static void
on_gl_unrealize (GtkGLArea *area,
                 JdsCanvas *self)
{
  gtk_gl_area_make_current (area);
  if (gtk_gl_area_get_error (area) == NULL)
    {
      if (self->texture)
        glDeleteTextures (1, &self->texture);
      if (self->vao)
        glDeleteVertexArrays (1, &self->vao);
      if (self->program)
        glDeleteProgram (self->program);
    }
  self->texture = self->vao = self->program = 0;
}

static gboolean
on_gl_render (GtkGLArea    *area,
              GdkGLContext *context,
              JdsCanvas    *self)
{
  glClearColor (0, 0, 0, 0);
  glClear (GL_COLOR_BUFFER_BIT);
  if (self->program == 0 || self->rgba == NULL)
    return TRUE;

  glBindTexture (GL_TEXTURE_2D, self->texture);
  if (self->texture_dirty)
    {
      glPixelStorei (GL_UNPACK_ALIGNMENT, 1);
      glTexImage2D (GL_TEXTURE_2D, 0, GL_RGBA8, self->width, self->height, 0, GL_RGBA,
                    GL_UNSIGNED_BYTE, g_bytes_get_data (self->rgba, NULL));
      self->texture_dirty = FALSE;
    }

  /* Pictures are letterboxed (the largest rectangle of their aspect that fits); a spectrogram is
   * a plot and fills the area, so its time axis spans the width. */
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (area));
  int aw = gtk_widget_get_width (GTK_WIDGET (area)) * scale;
  int ah = gtk_widget_get_height (GTK_WIDGET (area)) * scale;
  double fit = MIN ((double) aw / self->width, (double) ah / self->height);
  int w = MAX (1, (int) (self->width * fit)), h = MAX (1, (int) (self->height * fit));
  if (self->colormap)
    {
      w = aw;
      h = ah;
    }
  glViewport ((aw - w) / 2, (ah - h) / 2, w, h);

  glUseProgram (self->program);
  glUniform1i (self->colormap_location, self->colormap ? 1 : 0);
  glBindVertexArray (self->vao);
  glDrawArrays (GL_TRIANGLE_STRIP, 0, 4);
  glBindVertexArray (0);
  glUseProgram (0);
  return TRUE;
}

/* ---- the widget ---- */

static void use_fallback (JdsCanvas *self);

static gboolean
check_gl_error (gpointer data)
{
  JdsCanvas *self = data;
  if (self->uses_gl && gtk_gl_area_get_error (GTK_GL_AREA (self->child)) != NULL)
    {
      g_debug ("Preview canvas falls back to pictures: %s",
               gtk_gl_area_get_error (GTK_GL_AREA (self->child))->message);
      use_fallback (self);
    }
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
on_gl_realize_after (GtkGLArea *area,
                     JdsCanvas *self)
{
  /* Swapping children inside realize is not allowed; look at the outcome right after. */
  g_idle_add (check_gl_error, g_object_ref (self));
}

static void
set_child (JdsCanvas *self,
           GtkWidget *child)
{
  g_clear_pointer (&self->child, gtk_widget_unparent);
  self->child = child;
  gtk_widget_set_parent (child, GTK_WIDGET (self));
}

static void
use_fallback (JdsCanvas *self)
{
  GtkWidget *picture = gtk_picture_new ();
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
  self->uses_gl = FALSE;
  set_child (self, picture);
  update_picture (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USES_GL]);
}

static void
use_gl (JdsCanvas *self)
{
  GtkWidget *area = gtk_gl_area_new ();
  gtk_gl_area_set_auto_render (GTK_GL_AREA (area), TRUE);
  g_signal_connect (area, "realize", G_CALLBACK (on_gl_realize), self);
  g_signal_connect_after (area, "realize", G_CALLBACK (on_gl_realize_after), self);
  g_signal_connect (area, "unrealize", G_CALLBACK (on_gl_unrealize), self);
  g_signal_connect (area, "render", G_CALLBACK (on_gl_render), self);
  self->uses_gl = TRUE;
  set_child (self, area);
}

void
jds_canvas_set_image (JdsCanvas *self,
                      int        width,
                      int        height,
                      GBytes    *rgba)
{
  g_return_if_fail (JDS_IS_CANVAS (self));
  g_return_if_fail (rgba == NULL || (width > 0 && height > 0
                                     && g_bytes_get_size (rgba) >= (gsize) width * height * 4));

  if (rgba != NULL)
    g_bytes_ref (rgba);
  g_clear_pointer (&self->rgba, g_bytes_unref);
  self->rgba = rgba;
  self->width = width;
  self->height = height;
  self->serial++;
  if (self->uses_gl)
    {
      self->texture_dirty = TRUE;
      gtk_gl_area_queue_render (GTK_GL_AREA (self->child));
    }
  else
    update_picture (self);
}

void
jds_canvas_set_colormap (JdsCanvas *self,
                         gboolean   colormap)
{
  g_return_if_fail (JDS_IS_CANVAS (self));
  colormap = !!colormap;
  if (self->colormap == colormap)
    return;
  self->colormap = colormap;
  if (self->uses_gl)
    gtk_gl_area_queue_render (GTK_GL_AREA (self->child));
  else
    update_picture (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLORMAP]);
}

gboolean
jds_canvas_get_colormap (JdsCanvas *self)
{
  g_return_val_if_fail (JDS_IS_CANVAS (self), FALSE);
  return self->colormap;
}

gboolean
jds_canvas_get_uses_gl (JdsCanvas *self)
{
  g_return_val_if_fail (JDS_IS_CANVAS (self), FALSE);
  return self->uses_gl;
}

guint
jds_canvas_get_serial (JdsCanvas *self)
{
  g_return_val_if_fail (JDS_IS_CANVAS (self), 0);
  return self->serial;
}

GtkWidget *
jds_canvas_new (void)
{
  return g_object_new (JDS_TYPE_CANVAS, NULL);
}

static void
jds_canvas_dispose (GObject *object)
{
  JdsCanvas *self = JDS_CANVAS (object);
  g_clear_handle_id (&self->refit_idle, g_source_remove);
  g_clear_pointer (&self->child, gtk_widget_unparent);
  g_clear_pointer (&self->rgba, g_bytes_unref);
  G_OBJECT_CLASS (jds_canvas_parent_class)->dispose (object);
}

static void
jds_canvas_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  JdsCanvas *self = JDS_CANVAS (object);
  switch (prop_id)
    {
    case PROP_COLORMAP:
      g_value_set_boolean (value, self->colormap);
      break;
    case PROP_USES_GL:
      g_value_set_boolean (value, self->uses_gl);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_canvas_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  JdsCanvas *self = JDS_CANVAS (object);
  switch (prop_id)
    {
    case PROP_COLORMAP:
      jds_canvas_set_colormap (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jds_canvas_class_init (JdsCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = jds_canvas_dispose;
  object_class->get_property = jds_canvas_get_property;
  object_class->set_property = jds_canvas_set_property;

  properties[PROP_COLORMAP] =
    g_param_spec_boolean ("colormap", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_USES_GL] =
    g_param_spec_boolean ("uses-gl", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->measure = jds_canvas_measure;
  widget_class->size_allocate = jds_canvas_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "jds-canvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
jds_canvas_init (JdsCanvas *self)
{
  /* Keep the pictures inside the rounded corners. */
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  if (jds_canvas_gl_available ())
    use_gl (self);
  else
    use_fallback (self);
}
