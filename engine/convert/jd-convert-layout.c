/* The expected-tensor map the converter checks sources against. */
#include "jd-convert-layout.h"

#include <stdarg.h>
#include <string.h>

struct _JdConvertLayout {
  GPtrArray  *tensors;   /* JdConvertTensor*, sorted when `sorted` */
  GHashTable *by_name;   /* name → JdConvertTensor* */
  gboolean    sorted;
};

static void
tensor_free (gpointer data)
{
  JdConvertTensor *t = data;
  g_free (t->name);
  g_free (t);
}

JdConvertLayout *
jd_convert_layout_new (void)
{
  JdConvertLayout *layout = g_new0 (JdConvertLayout, 1);
  layout->tensors = g_ptr_array_new_with_free_func (tensor_free);
  layout->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  layout->sorted = TRUE;
  return layout;
}

void
jd_convert_layout_free (JdConvertLayout *layout)
{
  if (layout == NULL)
    return;
  g_hash_table_unref (layout->by_name);
  g_ptr_array_unref (layout->tensors);
  g_free (layout);
}

void
jd_convert_layout_add_shape (JdConvertLayout *layout, const char *name, int ndim,
                             const int64_t *shape)
{
  g_return_if_fail (ndim >= 0 && ndim <= JD_MAX_DIMS);
  if (g_hash_table_contains (layout->by_name, name))
    {
      g_critical ("layout: %s added twice", name);
      return;
    }
  JdConvertTensor *t = g_new0 (JdConvertTensor, 1);
  t->name = g_strdup (name);
  t->ndim = ndim;
  memcpy (t->shape, shape, sizeof (int64_t) * (gsize) ndim);
  g_ptr_array_add (layout->tensors, t);
  g_hash_table_insert (layout->by_name, t->name, t);
  layout->sorted = FALSE;
}

void
jd_convert_layout_add (JdConvertLayout *layout, const char *prefix, const char *suffix, int ndim,
                       ...)
{
  int64_t shape[JD_MAX_DIMS];
  va_list args;
  g_return_if_fail (ndim >= 0 && ndim <= JD_MAX_DIMS);
  va_start (args, ndim);
  for (int i = 0; i < ndim; i++)
    shape[i] = va_arg (args, int64_t);
  va_end (args);
  g_autofree char *name = prefix != NULL && *prefix != '\0'
    ? g_strconcat (prefix, ".", suffix, NULL) : g_strdup (suffix);
  jd_convert_layout_add_shape (layout, name, ndim, shape);
}

static int
compare_tensors (gconstpointer a, gconstpointer b)
{
  const JdConvertTensor *ta = *(JdConvertTensor *const *) a;
  const JdConvertTensor *tb = *(JdConvertTensor *const *) b;
  return strcmp (ta->name, tb->name);
}

guint
jd_convert_layout_get_n (JdConvertLayout *layout)
{
  return layout->tensors->len;
}

const JdConvertTensor *
jd_convert_layout_get (JdConvertLayout *layout, guint index)
{
  g_return_val_if_fail (index < layout->tensors->len, NULL);
  if (!layout->sorted)
    {
      g_ptr_array_sort (layout->tensors, compare_tensors);
      layout->sorted = TRUE;
    }
  return g_ptr_array_index (layout->tensors, index);
}

const JdConvertTensor *
jd_convert_layout_lookup (JdConvertLayout *layout, const char *name)
{
  return g_hash_table_lookup (layout->by_name, name);
}

int64_t
jd_convert_layout_count_parameters (JdConvertLayout *layout)
{
  int64_t total = 0;
  for (guint i = 0; i < layout->tensors->len; i++)
    {
      const JdConvertTensor *t = g_ptr_array_index (layout->tensors, i);
      int64_t n = 1;
      for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
      total += n;
    }
  return total;
}

char *
jd_convert_shape_to_string (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}
