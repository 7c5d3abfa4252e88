/* jd-fft.h — discrete Fourier transforms of any length, in double precision, for the audio
 * front and back ends (STFT, Griffin-Lim).
 *
 * Powers of two run an iterative radix-2 transform with a twiddle table per stage. Other
 * lengths run a recursive mixed radix: n splits by its smallest prime factor p into p
 * transforms of n / p, so a prime length costs n² (the STFT sizes used here are powers of
 * two). Real signals of even length go through a complex transform of half the length.
 * A plan holds only read-only tables, so one plan serves many threads, each with its own
 * scratch.
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

/* The spectrum of a real signal: out[k] for k ≤ n/2 (the rest mirrors it). scratch holds 3n
 * values. */
void    jd_fft_forward_real (const JdFft *fft, const double *in, double complex *out,
                             double complex *scratch);
/* The real signal of a spectrum given by its bins k ≤ n/2 (imaginary parts of the DC bin and,
 * for even n, the Nyquist bin are ignored, as no real signal has them); scaled by 1/n.
 * scratch holds 3n values. */
void    jd_fft_inverse_real (const JdFft *fft, const double complex *in, double *out,
                             double complex *scratch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdFft, jd_fft_free)

G_END_DECLS
