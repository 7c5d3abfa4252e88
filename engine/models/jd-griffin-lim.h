/* jd-griffin-lim.h — a waveform from STFT magnitudes alone, for bundles that ship no vocoder.
 *
 * Griffin-Lim with the "fast" momentum of Perraudin et al. (2013), as librosa.griffinlim:
 * c ← S · phase(c); x ← iSTFT(c); r ← STFT(x); c ← r − m/(1 + m) · r_prev. The initial phases
 * are drawn from a seeded GRand, so equal inputs give equal output on every machine.
 */
#pragma once

#include "jd-mel.h"
#include "jd-stft.h"

G_BEGIN_DECLS

typedef struct {
  int     iterations;  /* ≥ 1; 32 to 100 is usual */
  double  momentum;    /* 0 for plain Griffin-Lim; librosa's default 0.99; must be < 1 */
  guint32 seed;
} JdGriffinLimConfig;

JdGriffinLimConfig jd_griffin_lim_config_default (void);

/* magnitude: frames × bins (jd_stft_bins); signal: `samples` samples. */
gboolean jd_griffin_lim   (const JdStft *stft, const double *magnitude, int64_t frames,
                           const JdGriffinLimConfig *config, float *signal, int64_t samples,
                           GError **error);

/* From a log-mel (frames × n_mels) through jd_mel_to_magnitude; samples = frames · hop. */
gboolean jd_griffin_lim_log_mel (const JdMel *mel, const JdStft *stft, const float *log_mel,
                                 int64_t frames, const JdGriffinLimConfig *config,
                                 float *signal, int64_t samples, GError **error);

/* ‖ |STFT(signal)| − magnitude ‖ / ‖magnitude‖ over all frames and bins. */
double   jd_spectral_convergence (const JdStft *stft, const float *signal, int64_t samples,
                                  const double *magnitude, int64_t frames);

G_END_DECLS
