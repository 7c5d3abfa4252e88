/* jd-fft.h — discrete Fourier transforms of any length, in double precision, for the audio
 * front and back ends (STFT, Griffin-Lim).
 *
 * Mixed radix, decimation in time: a length n splits by its smallest prime factor p into p
 * transforms of n / p, so powers of two cost n·log₂n and a prime length costs n² (fine for the
 * STFT sizes used here, which are powers of two). A plan holds only read-only twiddles, so one
 * plan serves many threads, each with its own scratch.
 */
#pragma once

#include <complex.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _JdFft JdFft;

/* n ≥ 1; fails with JD_ERROR_INVALID_ARGUMENT otherwise. */
JdFft  *jd_fft_new      (int n, GError **error);
void    jd_fft_free     (JdFft *fft);
int     jd_fft_size     (const JdFft *fft);

/* out[k] = Σ_t in[t] · e^(−2πi·kt/n). in and out must not overlap; scratch holds n values. */
void    jd_fft_forward  (const JdFft *fft, const double complex *in, double complex *out,
                         double complex *scratch);
/* out[t] = (1/n) Σ_k in[k] · e^(+2πi·kt/n): the exact inverse of jd_fft_forward. */
void    jd_fft_inverse  (const JdFft *fft, const double complex *in, double complex *out,
                         double complex *scratch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdFft, jd_fft_free)

G_END_DECLS
