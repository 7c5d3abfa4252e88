/* jd-onset-strength.h — librosa's onset strength and onset peak picking, as AV-Align calls them
 * (librosa.onset.onset_strength then onset_detect with their defaults).
 *
 * Onset strength: power mel spectrogram (periodic Hann, n_fft 2048, hop 512, frames centred on
 * t = hop·i with zero padding, 128 Slaney mel bands up to Nyquist), in dB (10·log10 of the power
 * floored at 1e-10, then floored at the maximum − 80 dB); the positive difference between
 * consecutive frames averaged over bands; shifted by 1 + n_fft / (2·hop) = 3 frames (zeros in
 * front) and cut to the spectrogram's length.
 *
 * Peaks: the envelope is normalised to [0, 1] (minus its minimum, over its maximum); frame n is
 * an onset when x[n] ≥ max(x[n − pre_max … n + post_max − 1]) and x[n] ≥ mean(x[n − pre_avg …
 * n + post_avg − 1]) + delta, after which `wait` frames are skipped (librosa 0.10/0.11's
 * peak_pick, frame 0 judged on the forward windows only). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int    sample_rate;  /* of the signal given (librosa's default: 22,050) */
  int    n_fft;        /* 2048 */
  int    hop;          /* 512 */
  int    n_mels;       /* 128 */
} JdOnsetStrengthConfig;

typedef struct {
  int    pre_max, post_max, pre_avg, post_avg, wait;
  double delta;
} JdPeakPickConfig;

JdOnsetStrengthConfig jd_onset_strength_config_librosa (void);
/* onset_detect's defaults at 22,050 Hz and hop 512: 1, 1, 4, 5, 1 frames and delta 0.07. */
JdPeakPickConfig      jd_peak_pick_config_librosa (void);

/* The envelope, one value per STFT frame (1 + samples / hop of them, returned in *n_frames);
 * NULL with JD_ERROR_INVALID_ARGUMENT for a bad config or an empty signal. */
double *jd_onset_strength (const float *signal, gsize samples,
                           const JdOnsetStrengthConfig *config, gsize *n_frames,
                           GError **error);

/* Indices of the picked peaks of envelope (normalised first, as onset_detect does); returns
 * how many were written to peaks (room for n values). A constant envelope has none. */
gsize   jd_onset_peak_pick (const double *envelope, gsize n, const JdPeakPickConfig *config,
                            gsize *peaks);

G_END_DECLS
