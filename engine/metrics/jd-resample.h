/* jd-resample.h — band-limited resampling of mono audio (Kaiser-windowed sinc).
 *
 * librosa.load resamples everything to 22,050 Hz before AV-Align's onset detector sees it; this
 * does the same job for our 16 kHz audio. Output sample n sits at time n / rate_out; each is a
 * windowed-sinc interpolation of the input with the cut-off at 0.97 of the lower Nyquist
 * frequency, 32 zero crossings each side, Kaiser β 8.6 (stop band below −80 dB). Samples outside
 * the signal count as zero. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The output length is ceil(n_in × rate_out / rate_in). Returns a new array (g_free) and its
 * length in *n_out; NULL with JD_ERROR_INVALID_ARGUMENT for rates ≤ 0 or an empty signal. */
float *jd_resample (const float *in, gsize n_in, int rate_in, int rate_out, gsize *n_out,
                    GError **error);

G_END_DECLS
