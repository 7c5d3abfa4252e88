/* The audio DSP: FFT against a float64 DFT, STFT and its inverse, Slaney mel filters against
 * librosa's formula, the mel pseudo-inverse and Griffin-Lim. */
#include <math.h>
#include <string.h>

#include "jd-error.h"
#include "jd-fft.h"
#include "jd-griffin-lim.h"
#include "jd-mel.h"
#include "jd-stft.h"
#include "parity-fixtures.h"

static double
complex_rel_error (const double complex *a, const double complex *b, int n)
{
  double diff = 0, ref = 0;
  for (int i = 0; i < n; i++)
    {
      diff += pow (cabs (a[i] - b[i]), 2);
      ref += pow (cabs (b[i]), 2);
    }
  return sqrt (diff / ref);
}

static void
test_fft (void)
{
  /* Powers of two, odd composites, primes and 1: every radix path. */
  static const int sizes[] = { 1, 2, 3, 5, 6, 8, 12, 15, 45, 64, 97, 160, 1024 };
  g_autoptr (GRand) rng = jd_test_rng ();
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int n = sizes[s];
      g_autoptr (GError) error = NULL;
      g_autoptr (JdFft) fft = jd_fft_new (n, &error);
      g_assert_no_error (error);
      g_autofree double complex *x = g_new (double complex, n);
      g_autofree double complex *y = g_new (double complex, n);
      g_autofree double complex *back = g_new (double complex, n);
      g_autofree double complex *want = g_new (double complex, n);
      g_autofree double complex *scratch = g_new (double complex, n);
      for (int i = 0; i < n; i++)
        x[i] = g_rand_double_range (rng, -1, 1) + I * g_rand_double_range (rng, -1, 1);
      for (int k = 0; k < n; k++)
        {
          /* The naive DFT with exactly reduced angles. */
          double complex sum = 0;
          for (int t = 0; t < n; t++)
            sum += x[t] * cexp (-2.0 * I * G_PI * (double) (((long) k * t) % n) / n);
          want[k] = sum;
        }
      jd_fft_forward (fft, x, y, scratch);
      g_assert_cmpfloat (complex_rel_error (y, want, n), <=, 1e-13);
      jd_fft_inverse (fft, y, back, scratch);
      g_assert_cmpfloat (complex_rel_error (back, x, n), <=, 1e-13);

      /* Real input: the first n/2 + 1 bins of the complex transform of the real parts. */
      g_autofree double *real = g_new (double, n);
      g_autofree double *real_back = g_new (double, n);
      g_autofree double complex *half = g_new (double complex, n / 2 + 1);
      g_autofree double complex *real_want = g_new (double complex, n);
      g_autofree double complex *real_scratch = g_new (double complex, 3 * n);
      for (int i = 0; i < n; i++)
        x[i] = real[i] = creal (x[i]);
      for (int k = 0; k <= n / 2; k++)
        {
          double complex sum = 0;
          for (int t = 0; t < n; t++)
            sum += x[t] * cexp (-2.0 * I * G_PI * (double) (((long) k * t) % n) / n);
          real_want[k] = sum;
        }
      jd_fft_forward_real (fft, real, half, real_scratch);
      g_assert_cmpfloat (complex_rel_error (half, real_want, n / 2 + 1), <=, 1e-13);
      /* The inverse ignores imaginary parts the DC and Nyquist bins cannot have. */
      half[0] += 0.5 * I;
      if (n % 2 == 0)
        half[n / 2] -= 0.25 * I;
      for (int i = 0; i < n; i++)
        real_back[i] = NAN;
      jd_fft_inverse_real (fft, half, real_back, real_scratch);
      double diff = 0, ref = 0;
      for (int i = 0; i < n; i++)
        {
          diff += pow (real_back[i] - real[i], 2);
          ref += real[i] * real[i];
        }
      g_assert_cmpfloat (sqrt (diff / ref), <=, 1e-13);
    }
  g_autoptr (GError) error = NULL;
  g_assert_null (jd_fft_new (0, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
}

static void
test_stft (void)
{
  /* An odd hop, a window shorter than n_fft, a signal length that is no multiple of the hop. */
  const JdStftConfig config = { .n_fft = 48, .hop = 11, .win_length = 40, .pad = 20 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JdStft) stft = jd_stft_new (&config, &error);
  g_assert_no_error (error);
  g_autoptr (GRand) rng = jd_test_rng ();
  const int64_t samples = 301;
  float signal[301];
  for (int i = 0; i < samples; i++)
    signal[i] = (float) g_rand_double_range (rng, -1, 1);
  int64_t frames = jd_stft_frames (stft, samples);
  g_assert_cmpint (frames, ==, 1 + (301 + 40 - 48) / 11);
  const int bins = jd_stft_bins (stft);
  g_assert_cmpint (bins, ==, 25);
  g_autofree double complex *spec = g_new (double complex, frames * bins);
  g_assert_true (jd_stft_forward (stft, signal, samples, spec, &error));

  /* Against the definition: reflect pad, periodic Hann centred in the frame, DFT. */
  g_autofree double complex *want = g_new (double complex, frames * bins);
  for (int64_t f = 0; f < frames; f++)
    for (int k = 0; k < bins; k++)
      {
        double complex sum = 0;
        for (int t = 0; t < 48; t++)
          {
            int64_t j = f * 11 + t - 20;
            j = j < 0 ? -j : j >= samples ? 2 * (samples - 1) - j : j;
            int w = t - 4;
            double window = w >= 0 && w < 40 ? 0.5 - 0.5 * cos (2 * G_PI * w / 40.0) : 0.0;
            sum += window * signal[j] * cexp (-2.0 * I * G_PI * ((k * t) % 48) / 48.0);
          }
        want[f * bins + k] = sum;
      }
  g_assert_cmpfloat (complex_rel_error (spec, want, (int) (frames * bins)), <=, 1e-12);

  /* The inverse reconstructs the signal wherever the windows cover it. */
  float back[301];
  for (int i = 0; i < samples; i++)
    back[i] = NAN;
  jd_stft_inverse (stft, spec, frames, back, samples);
  /* Covered samples: padded positions up to the last frame's end. */
  int64_t covered = MIN (samples, (frames - 1) * 11 + 44 - 20);
  g_autofree double *ref = g_new (double, covered);
  for (int i = 0; i < covered; i++)
    ref[i] = signal[i];
  jd_test_assert_close (back, ref, (gsize) covered, 1e-6);

  /* Too short to reflect-pad; a window longer than n_fft. */
  g_assert_false (jd_stft_forward (stft, signal, 20, spec, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "20 samples"));
  g_clear_error (&error);
  const JdStftConfig bad = { .n_fft = 32, .hop = 8, .win_length = 40, .pad = 0 };
  g_assert_null (jd_stft_new (&bad, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);

  /* AudioLDM's settings give samples / hop frames. */
  const JdStftConfig audioldm = jd_stft_config_audioldm ();
  g_autoptr (JdStft) a = jd_stft_new (&audioldm, NULL);
  g_assert_cmpint (jd_stft_frames (a, 160 * 1024), ==, 1024);
}

/* librosa.filters.mel (htk=False, norm="slaney") written out as librosa writes it, in float64:
 * mel points, fdiff, ramps, lower/upper slopes, enorm. */
static double
slaney_hz_to_mel (double f)
{
  double mels = f / (200.0 / 3);
  if (f >= 1000.0)
    mels = 1000.0 / (200.0 / 3) + log (f / 1000.0) / (log (6.4) / 27.0);
  return mels;
}

static double
slaney_mel_to_hz (double m)
{
  double freqs = (200.0 / 3) * m;
  if (m >= 1000.0 / (200.0 / 3))
    freqs = 1000.0 * exp ((log (6.4) / 27.0) * (m - 1000.0 / (200.0 / 3)));
  return freqs;
}

static void
librosa_mel (int sr, int n_fft, int n_mels, double f_lo, double f_hi, double *weights)
{
  int bins = 1 + n_fft / 2;
  double mel_f[130], fdiff[129];
  g_assert_cmpint (n_mels, <=, 128);
  double min_mel = slaney_hz_to_mel (f_lo), max_mel = slaney_hz_to_mel (f_hi);
  for (int i = 0; i < n_mels + 2; i++)
    mel_f[i] = slaney_mel_to_hz (min_mel + (max_mel - min_mel) * i / (n_mels + 1));
  for (int i = 0; i < n_mels + 1; i++)
    fdiff[i] = mel_f[i + 1] - mel_f[i];
  for (int i = 0; i < n_mels; i++)
    {
      double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
      for (int k = 0; k < bins; k++)
        {
          double fftfreq = (double) sr / 2 * k / (bins - 1);
          double lower = -(mel_f[i] - fftfreq) / fdiff[i];
          double upper = (mel_f[i + 2] - fftfreq) / fdiff[i + 1];
          weights[i * bins + k] = fmax (0.0, fmin (lower, upper)) * enorm;
        }
    }
}

static void
test_mel_filters (void)
{
  g_assert_cmpfloat (fabs (jd_mel_from_hz (1000.0) - 15.0), <=, 1e-12);
  g_assert_cmpfloat (fabs (jd_mel_from_hz (500.0) - 7.5), <=, 1e-12);
  g_assert_cmpfloat (fabs (jd_mel_from_hz (6400.0) - 42.0), <=, 1e-12);
  g_assert_cmpfloat (fabs (jd_mel_to_hz (jd_mel_from_hz (3210.0)) - 3210.0), <=, 1e-9);

  const struct { int sr, n_fft, n_mels; double fmin, fmax; } cases[] = {
    { 16000, 1024, 64, 0.0, 8000.0 },   /* AudioLDM */
    { 22050, 2048, 128, 0.0, 11025.0 }, /* librosa's defaults at 22.05 kHz */
    { 16000, 512, 40, 125.0, 7600.0 },  /* a nonzero fmin */
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GError) error = NULL;
      const JdMelConfig config = { cases[c].sr, cases[c].n_fft, cases[c].n_mels, cases[c].fmin,
                                   cases[c].fmax };
      g_autoptr (JdMel) mel = jd_mel_new (&config, &error);
      g_assert_no_error (error);
      int bins = jd_mel_bins (mel);
      gsize n = (gsize) config.n_mels * bins;
      g_autofree double *want = g_new (double, n);
      librosa_mel (config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax,
                   want);
      g_autofree float *have = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        have[i] = (float) jd_mel_filterbank (mel)[i];
      jd_test_assert_close (have, want, n, 1e-6);
      /* Slaney normalisation: each filter has unit area in Hz (up to bin sampling). */
      for (int m = config.n_mels / 2; m < config.n_mels; m++)
        {
          double area = 0;
          for (int k = 0; k < bins; k++)
            area += jd_mel_filterbank (mel)[m * bins + k] * config.sample_rate / config.n_fft;
          g_assert_cmpfloat (fabs (area - 1.0), <=, 0.02);
        }
    }

  g_autoptr (GError) error = NULL;
  const JdMelConfig too_many = { 16000, 256, 128, 0.0, 8000.0 };
  g_assert_null (jd_mel_new (&too_many, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "covers no FFT bin"));
  g_clear_error (&error);
  const JdMelConfig above_nyquist = { 16000, 1024, 64, 0.0, 9000.0 };
  g_assert_null (jd_mel_new (&above_nyquist, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
}

static void
test_tone_peak (void)
{
  /* A pure tone's log-mel peaks in the filter whose centre lies nearest the tone. */
  g_autoptr (GError) error = NULL;
  const JdMelConfig mc = jd_mel_config_audioldm ();
  const JdStftConfig sc = jd_stft_config_audioldm ();
  g_autoptr (JdMel) mel = jd_mel_new (&mc, &error);
  g_autoptr (JdStft) stft = jd_stft_new (&sc, &error);
  g_assert_no_error (error);
  const double tones[] = { 440.0, 1500.0, 5000.0 };
  const int64_t samples = 160 * 20;
  float signal[160 * 20];
  float log_mel[20 * 64];
  for (gsize t = 0; t < G_N_ELEMENTS (tones); t++)
    {
      for (int i = 0; i < samples; i++)
        signal[i] = (float) (0.5 * sin (2 * G_PI * tones[t] * i / 16000.0));
      g_assert_true (jd_mel_log_spectrogram (mel, stft, signal, samples, log_mel, &error));
      int expected = 0;
      double hi = jd_mel_from_hz (8000.0), best = INFINITY;
      for (int m = 0; m < 64; m++)
        {
          double centre = jd_mel_to_hz (hi * (m + 1) / 65.0);
          if (fabs (centre - tones[t]) < best)
            best = fabs (centre - tones[t]), expected = m;
        }
      for (int f = 2; f < 18; f++)
        {
          int arg = 0;
          for (int m = 1; m < 64; m++)
            if (log_mel[f * 64 + m] > log_mel[f * 64 + arg])
              arg = m;
          g_assert_cmpint (arg, ==, expected);
        }
    }
  /* Silence sits at the floor. */
  memset (signal, 0, sizeof signal);
  g_assert_true (jd_mel_log_spectrogram (mel, stft, signal, samples, log_mel, &error));
  g_assert_cmpfloat (fabs (log_mel[5 * 64 + 7] - log (1e-5)), <=, 1e-6);
}

static void
test_log_mel_reference (void)
{
  /* AudioLDM's front end computed by torch.stft (reflect pad 432, no centring) and the
   * reference's Slaney filters, in float64. */
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) golden = jd_reference_fixture ("decoders-golden.safetensors");
  g_autoptr (JdTensor) wave = jd_parity_tensor (golden, "mel.in");
  gsize n;
  g_autofree double *want = jd_parity_expected (golden, "mel.out", &n);
  const JdMelConfig mc = jd_mel_config_audioldm ();
  const JdStftConfig sc = jd_stft_config_audioldm ();
  g_autoptr (JdMel) mel = jd_mel_new (&mc, &error);
  g_autoptr (JdStft) stft = jd_stft_new (&sc, &error);
  g_assert_no_error (error);
  int64_t frames = jd_stft_frames (stft, wave->shape[0]);
  g_assert_cmpuint ((gsize) (frames * 64), ==, n);
  g_autofree float *have = g_new (float, n);
  g_assert_true (jd_mel_log_spectrogram (mel, stft, wave->data, wave->shape[0], have, &error));
  g_test_message ("log-mel against torch.stft: err %.3g", jd_test_rel_error (have, want, n));
  jd_test_assert_close (have, want, n, 1e-5);
}

static void
chirp (float *signal, int64_t samples, int rate)
{
  /* 200 Hz → 4 kHz linear sweep with a slow amplitude swell. */
  double seconds = (double) samples / rate;
  for (int64_t i = 0; i < samples; i++)
    {
      double t = (double) i / rate;
      double phase = 2 * G_PI * (200.0 * t + 0.5 * (3800.0 / seconds) * t * t);
      signal[i] = (float) ((0.3 + 0.2 * t / seconds) * sin (phase));
    }
}

static void
test_mel_inverse (void)
{
  /* The pseudo-inverse, projected back through the filters, recovers the mel spectrum. */
  g_autoptr (GError) error = NULL;
  const JdMelConfig mc = jd_mel_config_audioldm ();
  const JdStftConfig sc = jd_stft_config_audioldm ();
  g_autoptr (JdMel) mel = jd_mel_new (&mc, &error);
  g_autoptr (JdStft) stft = jd_stft_new (&sc, &error);
  const int64_t frames = 40, samples = frames * 160;
  g_autofree float *signal = g_new (float, samples);
  chirp (signal, samples, 16000);
  g_autofree float *log_mel = g_new (float, frames * 64);
  g_assert_true (jd_mel_log_spectrogram (mel, stft, signal, samples, log_mel, &error));
  g_autofree double *magnitude = g_new (double, frames * 513);
  jd_mel_to_magnitude (mel, log_mel, frames, magnitude);
  for (int64_t i = 0; i < frames * 513; i++)
    g_assert_cmpfloat (magnitude[i], >=, 0.0);
  g_autofree float *again = g_new (float, frames * 64);
  jd_mel_from_magnitude (mel, magnitude, frames, again);
  g_autofree float *lin = g_new (float, frames * 64);
  g_autofree double *want = g_new (double, frames * 64);
  for (int64_t i = 0; i < frames * 64; i++)
    {
      lin[i] = expf (again[i]);
      want[i] = exp (log_mel[i]);
    }
  double err = jd_test_rel_error (lin, want, (gsize) (frames * 64));
  g_test_message ("mel pseudo-inverse round trip: err %.3g", err);
  g_assert_cmpfloat (err, <=, 0.05);

  /* Griffin-Lim from the log-mel alone: the waveform it makes has nearly that mel spectrum. */
  g_autofree float *wave = g_new (float, samples);
  JdGriffinLimConfig config = jd_griffin_lim_config_default ();
  config.iterations = 32;
  g_assert_true (jd_griffin_lim_log_mel (mel, stft, log_mel, frames, &config, wave, samples,
                                         &error));
  g_assert_no_error (error);
  g_autofree float *heard = g_new (float, frames * 64);
  g_assert_true (jd_mel_log_spectrogram (mel, stft, wave, samples, heard, &error));
  for (int64_t i = 0; i < frames * 64; i++)
    lin[i] = expf (heard[i]);
  double mel_err = jd_test_rel_error (lin, want, (gsize) (frames * 64));
  g_test_message ("Griffin-Lim from log-mel, 32 iterations: mel err %.3g", mel_err);
  g_assert_cmpfloat (mel_err, <=, 0.1);
}

static void
test_griffin_lim (void)
{
  g_autoptr (GError) error = NULL;
  const JdStftConfig sc = jd_stft_config_audioldm ();
  g_autoptr (JdStft) stft = jd_stft_new (&sc, &error);
  const int64_t frames = 50, samples = frames * 160;
  g_autofree float *signal = g_new (float, samples);
  chirp (signal, samples, 16000);
  g_autofree double complex *spec = g_new (double complex, frames * 513);
  g_assert_true (jd_stft_forward (stft, signal, samples, spec, &error));
  g_autofree double *magnitude = g_new (double, frames * 513);
  for (int64_t i = 0; i < frames * 513; i++)
    magnitude[i] = cabs (spec[i]);

  g_autofree float *out = g_new (float, samples);
  g_autofree float *again = g_new (float, samples);
  JdGriffinLimConfig config = jd_griffin_lim_config_default ();
  config.iterations = 1;
  g_assert_true (jd_griffin_lim (stft, magnitude, frames, &config, out, samples, &error));
  double sc1 = jd_spectral_convergence (stft, out, samples, magnitude, frames);
  config.iterations = 64;
  g_assert_true (jd_griffin_lim (stft, magnitude, frames, &config, out, samples, &error));
  double sc64 = jd_spectral_convergence (stft, out, samples, magnitude, frames);
  config.momentum = 0.0;
  g_assert_true (jd_griffin_lim (stft, magnitude, frames, &config, again, samples, &error));
  double sc64_plain = jd_spectral_convergence (stft, again, samples, magnitude, frames);
  g_test_message ("spectral convergence: 1 iteration %.3f, 64 fast %.4f, 64 plain %.4f", sc1,
                  sc64, sc64_plain);
  g_assert_cmpfloat (sc64, <=, 0.075);
  g_assert_cmpfloat (sc64, <, sc64_plain);
  g_assert_cmpfloat (sc64_plain, <, sc1);

  /* Deterministic: the same seed gives the same samples. */
  config.momentum = 0.99;
  config.iterations = 3;
  g_assert_true (jd_griffin_lim (stft, magnitude, frames, &config, out, samples, &error));
  g_assert_true (jd_griffin_lim (stft, magnitude, frames, &config, again, samples, &error));
  g_assert_cmpmem (out, samples * sizeof (float), again, samples * sizeof (float));

  config.momentum = 1.0;
  g_assert_false (jd_griffin_lim (stft, magnitude, frames, &config, out, samples, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  config.momentum = 0.5;
  g_assert_false (jd_griffin_lim (stft, magnitude, frames, &config, out, samples - 200, &error));
  g_assert_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "50 frames"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/audio-dsp/fft", test_fft);
  g_test_add_func ("/audio-dsp/stft", test_stft);
  g_test_add_func ("/audio-dsp/mel-filters", test_mel_filters);
  g_test_add_func ("/audio-dsp/tone-peak", test_tone_peak);
  g_test_add_func ("/audio-dsp/log-mel-reference", test_log_mel_reference);
  g_test_add_func ("/audio-dsp/mel-inverse", test_mel_inverse);
  g_test_add_func ("/audio-dsp/griffin-lim", test_griffin_lim);
  return g_test_run ();
}
