/* jd-mel.h — the log-mel front end AudioLDM's VAE and vocoder work in, and its approximate
 * inverse for Griffin-Lim.
 *
 * Filters are librosa's defaults (Slaney): n_mels + 2 points equally spaced on the Slaney mel
 * scale (linear below 1 kHz at 200/3 Hz per mel, logarithmic above with 27 mels per factor
 * 6.4) between fmin and fmax, triangles between neighbours over the FFT bin frequencies
 * k·sr/n_fft, each scaled by 2 / (its width in Hz) so its area is one. The log-mel is
 * log(max(filters · |STFT|, 1e-5)) of the STFT magnitude (not the power).
 */
#pragma once

#include "jd-stft.h"

G_BEGIN_DECLS

typedef struct {
  int    sample_rate;
  int    n_fft;
  int    n_mels;
  double fmin;
  double fmax;
} JdMelConfig;

typedef struct _JdMel JdMel;

#define JD_MEL_LOG_FLOOR 1e-5

/* 16 kHz, n_fft 1024, 64 mels, 0–8000 Hz. */
JdMelConfig   jd_mel_config_audioldm (void);

double        jd_mel_from_hz      (double hz);
double        jd_mel_to_hz        (double mel);

/* Builds the filters and their pseudo-inverse. Fails with JD_ERROR_INVALID_ARGUMENT for
 * settings that leave a filter without any FFT bin (too many mels for n_fft) or fmax above
 * Nyquist. */
JdMel        *jd_mel_new          (const JdMelConfig *config, GError **error);
void          jd_mel_free         (JdMel *mel);
const JdMelConfig *jd_mel_get_config (const JdMel *mel);
int           jd_mel_bins         (const JdMel *mel);
/* n_mels × bins, row-major. */
const double *jd_mel_filterbank   (const JdMel *mel);

/* log_mel (frames × n_mels) from magnitudes (frames × bins). */
void          jd_mel_from_magnitude (const JdMel *mel, const double *magnitude, int64_t frames,
                                     float *log_mel);
/* The log-mel of a waveform; stft must have the mel's n_fft. frames = jd_stft_frames. */
gboolean      jd_mel_log_spectrogram (const JdMel *mel, const JdStft *stft, const float *signal,
                                      int64_t samples, float *log_mel, GError **error);
/* Linear magnitudes (frames × bins) whose mel projection best matches exp(log_mel) in least
 * squares (the filters' pseudo-inverse), negative values clamped to zero. */
void          jd_mel_to_magnitude  (const JdMel *mel, const float *log_mel, int64_t frames,
                                    double *magnitude);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdMel, jd_mel_free)

G_END_DECLS
