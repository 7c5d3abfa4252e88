/* jd-audio-onsets.h — audio onset times for synchronisation, to a fraction of an STFT hop.
 *
 * Spectral flux on a compressed log-magnitude STFT: a periodic Hann window of about 16 ms (the
 * power of two nearest 0.016·rate, 256 samples at 16 kHz) every window/8 samples; magnitudes
 * compressed as log(1 + 1000·|X| / max|X|) (so the level of the clip does not matter); the flux
 * of frame n is the sum over bins of the positive change from frame n − 1, placed halfway
 * between the two frames' centres. Onsets are flux peaks that are the largest within ±40 ms,
 * at least 10 % of the clip's largest flux and 10 % of it above the median of the flux within
 * ±100 ms; each is refined by the vertex of the parabola through the peak and its neighbours,
 * then moved by the flux's measured lead over the true start of a sound (see the .c file). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Onset times in seconds, ascending: a new array (g_free), count in *n_onsets. Fails with
 * JD_ERROR_INVALID_ARGUMENT for a rate below 1000 Hz or audio shorter than one window. */
double *jd_audio_onsets (const float *audio, gsize samples, int sample_rate, gsize *n_onsets,
                         GError **error);

/* The vertex of the parabola through (−1, a), (0, b), (1, c), clamped to [−0.5, 0.5]; 0 when
 * the three points are collinear or the vertex is a minimum. */
double  jd_parabolic_vertex (double a, double b, double c);

G_END_DECLS
