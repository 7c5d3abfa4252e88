/* The attention front end: every shape rule of JD_OP_ATTENTION checked once, for all backends. */
#include "jd-ops-private.h"

#include <math.h>

#include "jd-error.h"

#define OP "attention"
#define MAX_HEAD_DIM 512

static gboolean
refuse (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT, OP ": %s", message);
  return FALSE;
}

static gboolean
overlaps (const JdTensor *a, const JdTensor *b)
{
  const char *a0 = a->data, *b0 = b->data;
  return jd_tensor_nbytes (a) > 0 && jd_tensor_nbytes (b) > 0
         && a0 < b0 + jd_tensor_nbytes (b) && b0 < a0 + jd_tensor_nbytes (a);
}

static char *
shape_or_missing (const JdTensor *t)
{
  return t != NULL ? jd_tensor_shape_string (t) : g_strdup ("missing");
}

/* The shared checks name one tensor; add the whole call so a person can find it. */
static gboolean
with_shapes (GError **error, const char *shapes)
{
  if (error != NULL && *error != NULL)
    {
      char *message = g_strdup_printf ("%s (%s)", (*error)->message, shapes);
      g_free ((*error)->message);
      (*error)->message = message;
    }
  return FALSE;
}

static gboolean
check_segments (int n_segments, const int64_t *q_segments, const int64_t *k_segments,
                int64_t lq, int64_t lk, const char *shapes, GError **error)
{
  if (n_segments < 0 || n_segments > JD_MAX_SEGMENTS)
    return refuse (error, "%d mask segments were given but at most %d are supported (%s)",
                   n_segments, JD_MAX_SEGMENTS, shapes);
  if (n_segments == 0)
    {
      if (lq > 0 && lk == 0)
        return refuse (error, "queries have no key to attend to (%s)", shapes);
      return TRUE;
    }
  if (q_segments == NULL || k_segments == NULL)
    return refuse (error, "%d mask segments were announced but a segment list is missing (%s)",
                   n_segments, shapes);
  int64_t q_sum = 0, k_sum = 0;
  for (int s = 0; s < n_segments; s++)
    {
      if (q_segments[s] < 0 || k_segments[s] < 0)
        return refuse (error, "mask segment %d has a negative length (queries %" G_GINT64_FORMAT
                       ", keys %" G_GINT64_FORMAT "; %s)", s, q_segments[s], k_segments[s],
                       shapes);
      if (q_segments[s] > 0 && k_segments[s] == 0)
        return refuse (error, "mask segment %d has %" G_GINT64_FORMAT " queries but no key to "
                       "attend to (%s)", s, q_segments[s], shapes);
      if (q_segments[s] > lq - q_sum || k_segments[s] > lk - k_sum)
        return refuse (error, "the mask segments are longer than the sequences (%s)", shapes);
      q_sum += q_segments[s];
      k_sum += k_segments[s];
    }
  if (q_sum != lq || k_sum != lk)
    return refuse (error, "the mask segments cover %" G_GINT64_FORMAT " queries and %"
                   G_GINT64_FORMAT " keys but the sequences have %" G_GINT64_FORMAT " and %"
                   G_GINT64_FORMAT " (%s)", q_sum, k_sum, lq, lk, shapes);
  return TRUE;
}

gboolean
jd_attention (JdBackend      *backend,
              const JdTensor *q,
              const JdTensor *k,
              const JdTensor *v,
              int             heads,
              float           scale,
              int             n_segments,
              const int64_t  *q_segments,
              const int64_t  *k_segments,
              JdTensor       *dst,
              GError        **error)
{
  g_return_val_if_fail (backend != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *q_shape = shape_or_missing (q);
  g_autofree char *k_shape = shape_or_missing (k);
  g_autofree char *v_shape = shape_or_missing (v);
  g_autofree char *shapes = g_strdup_printf ("q %s, k %s, v %s, %d heads", q_shape, k_shape,
                                             v_shape, heads);
  if (!jd_ops_check_tensor (OP, "q", backend, q, 3, error)
      || !jd_ops_check_tensor (OP, "k", backend, k, 3, error)
      || !jd_ops_check_tensor (OP, "v", backend, v, 3, error)
      || !jd_ops_check_tensor (OP, "the output", backend, dst, 3, error))
    return with_shapes (error, shapes);
  const int64_t batch = q->shape[0], lq = q->shape[1], lk = k->shape[1];

  if (k->shape[0] != batch || v->shape[0] != batch)
    return refuse (error, "q, k and v must have the same batch size (%s)", shapes);
  if (v->shape[1] != lk)
    return refuse (error, "k and v must have the same sequence length (%s)", shapes);
  if (k->shape[2] != q->shape[2])
    return refuse (error, "q and k must have the same width, heads x query/key head dim (%s)",
                   shapes);
  if (heads < 1)
    return refuse (error, "the head count must be at least 1 (%s)", shapes);
  if (q->shape[2] % heads != 0 || v->shape[2] % heads != 0)
    return refuse (error, "the widths of q and v must be multiples of the head count (%s)",
                   shapes);
  const int64_t dqk = q->shape[2] / heads, dv = v->shape[2] / heads;
  if (dqk < 1 || dqk > MAX_HEAD_DIM || dv < 1 || dv > MAX_HEAD_DIM)
    return refuse (error, "head dims must be 1 to %d but are %" G_GINT64_FORMAT " (q, k) and %"
                   G_GINT64_FORMAT " (v) (%s)", MAX_HEAD_DIM, dqk, dv, shapes);
  if (!isfinite (scale) || !(scale > 0.0f))
    return refuse (error, "the scale must be a finite positive number, not %g (%s)",
                   (double) scale, shapes);
  if (!check_segments (n_segments, q_segments, k_segments, lq, lk, shapes, error))
    return FALSE;

  const int64_t want[3] = { batch, lq, heads * dv };
  if (!jd_ops_check_dst (OP, dst, 3, want, error))
    return with_shapes (error, shapes);
  if (overlaps (dst, q) || overlaps (dst, k) || overlaps (dst, v))
    return refuse (error, "the output must not share memory with q, k or v (%s)", shapes);

  JdOp op = {
    .kind = JD_OP_ATTENTION,
    .n_src = 3,
    .src = { q, k, v },
    .dst = dst,
  };
  op.params.attention.heads = heads;
  op.params.attention.scale = scale;
  op.params.attention.n_segments = n_segments;
  for (int s = 0; s < n_segments; s++)
    {
      op.params.attention.q_segments[s] = q_segments[s];
      op.params.attention.k_segments[s] = k_segments[s];
    }
  return jd_backend_run (backend, &op, error);
}
