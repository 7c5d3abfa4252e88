/* jd-sync-match.h — how far a clip's sound is from its picture, from two lists of event times.
 *
 * Δ = audio time − visual time (positive: the sound comes after the picture).
 * - Offset: first the one shift c (a difference a − v of at most JD_SYNC_SEARCH_SECONDS) that
 *   pairs the most visual weight one to one within ±JD_SYNC_TOLERANCE_SECONDS of Δ = c (each
 *   visual event weighs its strength over the strongest one's, so a clear impact outweighs a
 *   doubtful one; ties: the smaller sum of |Δ − c|, then the smaller |c|), so a clip moved by
 *   more than the matching window is still read correctly; then the offset is the median Δ of
 *   those pairs.
 * - Error: events matched one to one within ±JD_SYNC_MATCH_SECONDS with no shift (closest
 *   pairs first); the mean |Δ| of those matches.
 * - Precision and recall: one-to-one matches within ±JD_SYNC_TOLERANCE_SECONDS, over the
 *   audio onsets and over the visual events. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JD_SYNC_MATCH_SECONDS 0.100
#define JD_SYNC_TOLERANCE_SECONDS 0.040
#define JD_SYNC_SEARCH_SECONDS 0.400

typedef struct {
  gboolean has_offset;      /* FALSE when no pair of events lies within the search range */
  double   offset;          /* seconds, positive = sound after picture */
  gsize    offset_pairs;    /* pairs that agreed on the offset */
  gboolean has_error;       /* FALSE when nothing matched within JD_SYNC_MATCH_SECONDS */
  double   error;           /* seconds, mean |Δ| */
  gsize    matched;         /* matches within JD_SYNC_MATCH_SECONDS */
  double   precision;       /* matches within ±tolerance / audio onsets (0 with none) */
  double   recall;          /* matches within ±tolerance / visual events (0 with none) */
} JdSyncMatch;

/* visual_strength may be NULL (all events weigh the same). */
void  jd_sync_match (const double *visual, const double *visual_strength, gsize n_visual,
                     const double *audio, gsize n_audio, JdSyncMatch *result);

/* One-to-one matching of a to b within ±window after shifting a by −shift, closest pairs
 * first: pair[i] is the index in b matched to a[i], or −1. Returns the number of matches. */
gsize jd_sync_pairs (const double *a, gsize n_a, const double *b, gsize n_b, double shift,
                     double window, gssize *pair);

G_END_DECLS
