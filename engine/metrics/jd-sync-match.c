/* jd-sync-match.c — matching visual events with audio onsets. */
#include "jd-sync-match.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  double distance;
  gsize  a, b;
} Candidate;

static int
compare_candidates (const void *x, const void *y)
{
  const Candidate *p = x, *q = y;
  if (p->distance != q->distance)
    return p->distance < q->distance ? -1 : 1;
  if (p->a != q->a)
    return p->a < q->a ? -1 : 1;
  return (p->b > q->b) - (p->b < q->b);
}

gsize
jd_sync_pairs (const double *a, gsize n_a, const double *b, gsize n_b, double shift,
               double window, gssize *pair)
{
  GArray *candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  for (gsize i = 0; i < n_a; i++)
    {
      pair[i] = -1;
      for (gsize j = 0; j < n_b; j++)
        {
          double d = fabs (a[i] - shift - b[j]);
          if (d <= window)
            {
              Candidate c = { d, i, j };
              g_array_append_val (candidates, c);
            }
        }
    }
  if (candidates->len > 1)   /* an empty GArray has no data pointer to hand qsort */
    qsort (candidates->data, candidates->len, sizeof (Candidate), compare_candidates);
  g_autofree gboolean *taken = g_new0 (gboolean, MAX (n_b, 1));
  gsize count = 0;
  for (guint c = 0; c < candidates->len; c++)
    {
      Candidate *k = &g_array_index (candidates, Candidate, c);
      if (pair[k->a] < 0 && !taken[k->b])
        {
          pair[k->a] = (gssize) k->b;
          taken[k->b] = TRUE;
          count++;
        }
    }
  g_array_free (candidates, TRUE);
  return count;
}

static int
compare_doubles (const void *x, const void *y)
{
  double p = *(const double *) x, q = *(const double *) y;
  return (p > q) - (p < q);
}

void
jd_sync_match (const double *visual, const double *visual_strength, gsize n_visual,
               const double *audio, gsize n_audio, JdSyncMatch *r)
{
  *r = (JdSyncMatch) { 0 };
  g_autofree gssize *pair = g_new (gssize, MAX (n_audio, 1));
  g_autofree double *weight = g_new (double, MAX (n_visual, 1));
  double strongest = 0;
  for (gsize j = 0; j < n_visual; j++)
    strongest = MAX (strongest, visual_strength ? visual_strength[j] : 1.0);
  for (gsize j = 0; j < n_visual; j++)
    weight[j] = visual_strength && strongest > 0 ? visual_strength[j] / strongest : 1.0;

  /* The offset: the best of all candidate shifts. */
  double best_shift = 0, best_residual = 0, best_score = 0;
  gsize best_count = 0;
  for (gsize i = 0; i < n_audio; i++)
    for (gsize j = 0; j < n_visual; j++)
      {
        double c = audio[i] - visual[j];
        if (fabs (c) > JD_SYNC_SEARCH_SECONDS)
          continue;
        gsize count = jd_sync_pairs (audio, n_audio, visual, n_visual, c,
                                     JD_SYNC_TOLERANCE_SECONDS, pair);
        double residual = 0, score = 0;
        for (gsize k = 0; k < n_audio; k++)
          if (pair[k] >= 0)
            {
              residual += fabs (audio[k] - visual[pair[k]] - c);
              score += weight[pair[k]];
            }
        gboolean same = fabs (score - best_score) <= 1e-9;
        gboolean better = score > best_score + 1e-9
                          || (same && residual < best_residual - 1e-12)
                          || (same && fabs (residual - best_residual) <= 1e-12
                              && fabs (c) < fabs (best_shift));
        if (count > 0 && better)
          best_count = count, best_residual = residual, best_shift = c, best_score = score;
      }
  if (best_count > 0)
    {
      jd_sync_pairs (audio, n_audio, visual, n_visual, best_shift, JD_SYNC_TOLERANCE_SECONDS,
                     pair);
      g_autofree double *deltas = g_new (double, best_count);
      gsize m = 0;
      for (gsize k = 0; k < n_audio; k++)
        if (pair[k] >= 0)
          deltas[m++] = audio[k] - visual[pair[k]];
      qsort (deltas, m, sizeof (double), compare_doubles);
      r->has_offset = TRUE;
      r->offset = m % 2 ? deltas[m / 2] : 0.5 * (deltas[m / 2 - 1] + deltas[m / 2]);
      r->offset_pairs = m;
    }

  /* The error: unshifted matches within the matching window. */
  r->matched = jd_sync_pairs (audio, n_audio, visual, n_visual, 0, JD_SYNC_MATCH_SECONDS, pair);
  if (r->matched > 0)
    {
      double sum = 0;
      for (gsize k = 0; k < n_audio; k++)
        if (pair[k] >= 0)
          sum += fabs (audio[k] - visual[pair[k]]);
      r->has_error = TRUE;
      r->error = sum / r->matched;
    }

  gsize close = jd_sync_pairs (audio, n_audio, visual, n_visual, 0, JD_SYNC_TOLERANCE_SECONDS,
                               pair);
  r->precision = n_audio ? (double) close / n_audio : 0;
  r->recall = n_visual ? (double) close / n_visual : 0;
}
