/* bench-decoders — times the decoders and encoders on a bundle (random weights are fine:
 *   python3 tools/reference/make_bundle.py --config default --seed 1 -o default.safetensors)
 * at the shapes of the bundle's config, and prints a table of best-of-N milliseconds.
 * Usage: bench-decoders BUNDLE [repetitions]. Threads: JD_TEST_THREADS (default 2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "jd-clip-preprocess.h"
#include "jd-config-read.h"
#include "jd-griffin-lim.h"
#include "jd-image-encoder.h"
#include "jd-mel.h"
#include "jd-vae.h"
#include "jd-vocoder.h"
#include "test-util.h"

typedef JdTensor *(*Step) (gpointer data, GError **error);

static int reps = 3;

static void
row (const char *what, const char *shape, Step step, gpointer data)
{
  double best = INFINITY;
  for (int r = 0; r <= reps; r++)
    {
      g_autoptr (GError) error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (JdTensor) out = step (data, &error);
      if (out == NULL)
        g_error ("%s failed: %s", what, error->message);
      double ms = (g_get_monotonic_time () - t0) / 1000.0;
      if (r > 0) /* the first run loads weights and warms caches */
        best = MIN (best, ms);
    }
  printf ("| %-30s | %-24s | %10.1f |\n", what, shape, best);
}

typedef struct {
  JdVae          *vae;
  JdVocoder      *vocoder;
  JdImageEncoder *encoder;
  JdMel          *mel;
  JdStft         *stft;
  JdTensor       *input;
  const float    *host;
  int64_t         n, frames;
  int             size, height, width;
} Bench;

static JdTensor *
run_encode (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_vae_encode (b->vae, b->input, e);
}

static JdTensor *
run_decode (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_vae_decode (b->vae, b->input, (int) b->frames, e);
}

static JdTensor *
run_vocoder (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_vocoder_run (b->vocoder, b->input, e);
}

static JdTensor *
run_image_encoder (gpointer p, GError **e)
{
  Bench *b = p;
  return jd_image_encoder_run (b->encoder, b->input, e);
}

/* The host-side steps return a small token tensor so `row` can treat all alike. */
static JdTensor *
host_result (float *data, int64_t n)
{
  JdTensor *t = jd_tensor_new_f32 (NULL, NULL, 1, n);
  memcpy (t->data, data, sizeof (float) * (gsize) n);
  return t;
}

static JdTensor *
run_preprocess (gpointer p, GError **e)
{
  Bench *b = p;
  g_autofree float *out = g_new (float, 3 * (gsize) b->size * b->size);
  if (!jd_clip_preprocess (b->host, b->height, b->width, b->size, out, e))
    return NULL;
  return host_result (out, 1);
}

static JdTensor *
run_log_mel (gpointer p, GError **e)
{
  Bench *b = p;
  g_autofree float *out = g_new (float, b->frames * 64);
  if (!jd_mel_log_spectrogram (b->mel, b->stft, b->host, b->n, out, e))
    return NULL;
  return host_result (out, 1);
}

static JdTensor *
run_griffin_lim (gpointer p, GError **e)
{
  Bench *b = p;
  g_autofree float *out = g_new (float, b->n);
  JdGriffinLimConfig config = jd_griffin_lim_config_default ();
  config.iterations = 32;
  if (!jd_griffin_lim_log_mel (b->mel, b->stft, b->host, b->frames, &config, out, b->n, e))
    return NULL;
  return host_result (out, 1);
}

static JdTensor *
random_input (GRand *rng, int ndim, const int64_t *shape)
{
  return jd_test_tensor_random (rng, -1, 1, ndim, shape);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s BUNDLE [repetitions]\n", argv[0]);
      return 2;
    }
  if (argc > 2)
    reps = MAX (1, atoi (argv[2]));
  g_autoptr (GError) error = NULL;
  g_autoptr (JdSafetensors) file = jd_safetensors_open (argv[1], &error);
  if (file == NULL)
    g_error ("%s", error->message);
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *text = jd_safetensors_get_metadata (file, "jointdit.config");
  if (text == NULL || !json_parser_load_from_data (parser, text, -1, &error))
    g_error ("%s: no readable jointdit.config", argv[1]);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *shapes = jd_config_object (root, "config", "shapes", &error);
  int64_t frames, latent[3], audio_latent[3];
  if (shapes == NULL || !jd_config_int (shapes, "shapes", "frames", 1, 1024, &frames, &error)
      || !jd_config_int_array (shapes, "shapes", "video_latent", 1, 4096, 3, 0, latent, NULL,
                               &error)
      || !jd_config_int_array (shapes, "shapes", "audio_latent", 1, 4096, 3, 0, audio_latent,
                               NULL, &error))
    g_error ("%s", error->message);
  g_autoptr (JdWeights) weights = jd_weights_new (file, jd_test_backend ());
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);
  char shape[64];

  printf ("bench-decoders on %s, %s threads, best of %d (ms)\n\n", argv[1],
          g_getenv ("JD_TEST_THREADS") ? g_getenv ("JD_TEST_THREADS") : "2", reps);
  printf ("| %-30s | %-24s | %10s |\n", "step", "shape", "ms");
  printf ("|%s|%s|%s|\n", "--------------------------------", "--------------------------",
          "------------");

  JdVaeConfig vc;
  JdImageEncoderConfig ic;
  JdVocoderConfig oc;
  JsonObject *object;
  if ((object = jd_config_object (root, "config", "video_vae", NULL)) != NULL
      && jd_vae_config_read (object, "video_vae", &vc, &error))
    {
      g_autoptr (JdVae) vae = jd_vae_new (weights, JD_VAE_VIDEO, &vc, "video.vae", &error);
      if (vae == NULL)
        g_error ("%s", error->message);
      int f = jd_vae_factor (vae);
      g_autoptr (JdTensor) image = random_input (rng, 4, (int64_t[]) { 1, 3, latent[1] * f,
                                                                      latent[2] * f });
      Bench b = { .vae = vae, .input = image };
      g_snprintf (shape, sizeof shape, "1x3x%dx%d", (int) image->shape[2], (int) image->shape[3]);
      row ("video VAE encode", shape, run_encode, &b);
      g_autoptr (JdTensor) z = random_input (rng, 4, (int64_t[]) { frames, latent[0], latent[1],
                                                                  latent[2] });
      b = (Bench) { .vae = vae, .input = z, .frames = frames };
      g_snprintf (shape, sizeof shape, "%dx%dx%dx%d", (int) frames, (int) latent[0],
                  (int) latent[1], (int) latent[2]);
      row ("video VAE decode (all frames)", shape, run_decode, &b);
    }
  if ((object = jd_config_object (root, "config", "audio_vae", NULL)) != NULL
      && jd_vae_config_read (object, "audio_vae", &vc, &error))
    {
      g_autoptr (JdVae) vae = jd_vae_new (weights, JD_VAE_AUDIO, &vc, "audio.vae", &error);
      if (vae == NULL)
        g_error ("%s", error->message);
      int f = jd_vae_factor (vae);
      g_autoptr (JdTensor) mel = random_input (rng, 4, (int64_t[]) { 1, 1, audio_latent[1] * f,
                                                                    audio_latent[2] * f });
      Bench b = { .vae = vae, .input = mel };
      g_snprintf (shape, sizeof shape, "1x1x%dx%d", (int) mel->shape[2], (int) mel->shape[3]);
      row ("audio VAE encode", shape, run_encode, &b);
      g_autoptr (JdTensor) z = random_input (rng, 4, (int64_t[]) { 1, audio_latent[0],
                                                                  audio_latent[1],
                                                                  audio_latent[2] });
      b = (Bench) { .vae = vae, .input = z };
      g_snprintf (shape, sizeof shape, "1x%dx%dx%d", (int) audio_latent[0],
                  (int) audio_latent[1], (int) audio_latent[2]);
      row ("audio VAE decode", shape, run_decode, &b);
    }
  const int64_t mel_frames = audio_latent[1] * 4;
  if ((object = jd_config_object (root, "config", "vocoder", NULL)) != NULL
      && jd_vocoder_config_read (object, "vocoder", &oc, &error))
    {
      g_autoptr (JdVocoder) vocoder = jd_vocoder_new (weights, &oc, "audio.vocoder", &error);
      if (vocoder == NULL)
        g_error ("%s", error->message);
      g_autoptr (JdTensor) mel = random_input (rng, 3, (int64_t[]) { 1, mel_frames,
                                                                    oc.model_in_dim });
      Bench b = { .vocoder = vocoder, .input = mel };
      g_snprintf (shape, sizeof shape, "1x%dx%d (%d ch)", (int) mel_frames, oc.model_in_dim,
                  oc.upsample_initial_channel);
      row ("vocoder", shape, run_vocoder, &b);
    }
  if ((object = jd_config_object (root, "config", "image_encoder", NULL)) != NULL
      && jd_image_encoder_config_read (object, "image_encoder", &ic, &error))
    {
      g_autoptr (JdImageEncoder) encoder = jd_image_encoder_new (weights, &ic, "image_encoder",
                                                                 &error);
      if (encoder == NULL)
        g_error ("%s", error->message);
      g_autoptr (JdTensor) photo = random_input (rng, 3, (int64_t[]) { 3, 480, 640 });
      Bench b = { .host = photo->data, .height = 480, .width = 640, .size = ic.image_size };
      g_snprintf (shape, sizeof shape, "3x480x640 -> %d", ic.image_size);
      row ("CLIP preprocessing", shape, run_preprocess, &b);
      g_autoptr (JdTensor) pixels = random_input (rng, 4, (int64_t[]) { 1, 3, ic.image_size,
                                                                       ic.image_size });
      b = (Bench) { .encoder = encoder, .input = pixels };
      g_snprintf (shape, sizeof shape, "1x3x%dx%d", ic.image_size, ic.image_size);
      row ("image encoder", shape, run_image_encoder, &b);
    }

  const JdMelConfig mc = jd_mel_config_audioldm ();
  const JdStftConfig sc = jd_stft_config_audioldm ();
  g_autoptr (JdMel) mel = jd_mel_new (&mc, &error);
  g_autoptr (JdStft) stft = jd_stft_new (&sc, &error);
  const int64_t samples = mel_frames * sc.hop;
  g_autofree float *wave = g_new (float, samples);
  for (int64_t i = 0; i < samples; i++)
    wave[i] = (float) (0.3 * sin (2 * G_PI * (200.0 + 0.2 * i / 16.0) * i / 16000.0));
  Bench b = { .mel = mel, .stft = stft, .host = wave, .n = samples, .frames = mel_frames };
  g_snprintf (shape, sizeof shape, "%d samples", (int) samples);
  row ("log-mel", shape, run_log_mel, &b);
  g_autofree float *log_mel = g_new (float, mel_frames * 64);
  if (!jd_mel_log_spectrogram (mel, stft, wave, samples, log_mel, &error))
    g_error ("%s", error->message);
  b.host = log_mel;
  g_snprintf (shape, sizeof shape, "%d frames, 32 iterations", (int) mel_frames);
  row ("Griffin-Lim (from log-mel)", shape, run_griffin_lim, &b);
  return 0;
}
