/* jd-stft.h — short-time Fourier transform and its overlap-add inverse, on host memory.
 *
 * Frames of n_fft samples every hop samples, weighted by a periodic Hann window of win_length
 * centred in the frame (as torch.stft / librosa). The signal is first reflect-padded by `pad`
 * samples on each side; AudioLDM's (HiFi-GAN's) mel front end pads (n_fft − hop) / 2 and does
 * not centre, which gives exactly samples / hop frames for a multiple of hop.
 * Spectra are frames × (n_fft / 2 + 1) complex values, frame-major.
 */
#pragma once

#include <complex.h>
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  int n_fft;
  int hop;
  int win_length;
  int pad;
} JdStftConfig;

typedef struct _JdStft JdStft;

/* AudioLDM's settings: n_fft 1024, hop 160, window 1024, pad (1024 − 160) / 2. */
JdStftConfig jd_stft_config_audioldm (void);

JdStft  *jd_stft_new      (const JdStftConfig *config, GError **error);
void     jd_stft_free     (JdStft *stft);
const JdStftConfig *jd_stft_get_config (const JdStft *stft);
int      jd_stft_bins     (const JdStft *stft);
/* Frames for a signal of `samples` samples (0 when too short for one frame). */
int64_t  jd_stft_frames   (const JdStft *stft, int64_t samples);
/* The periodic Hann window, n_fft long (zeros outside win_length). */
const double *jd_stft_window (const JdStft *stft);

/* spec (frames × bins) of signal. Fails with JD_ERROR_INVALID_ARGUMENT when the signal is too
 * short to reflect-pad (samples ≤ pad) or gives no frame. */
gboolean jd_stft_forward  (const JdStft *stft, const float *signal, int64_t samples,
                           double complex *spec, GError **error);
/* The least-squares signal whose STFT is closest to spec (overlap-add of windowed inverse
 * transforms divided by the summed squared window), cut to `samples` after removing the pad. */
void     jd_stft_inverse  (const JdStft *stft, const double complex *spec, int64_t frames,
                           float *signal, int64_t samples);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdStft, jd_stft_free)

G_END_DECLS
