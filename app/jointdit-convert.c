/* jointdit convert — public checkpoints (SVD / SVD-XT, AudioLDM2, CLIP, trained Joint Blocks)
 * into one JointDiT bundle; the work is engine/convert/jd-convert.c. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jd-convert.h"
#include "jointdit-cli.h"

#define USAGE "Usage: jointdit convert --svd FOLDER --audioldm2 FOLDER [--clip FOLDER] " \
              "[--joint CKPT.safetensors] --out BUNDLE.safetensors [--dtype bf16|f16|f32]"

typedef struct {
  gboolean tty;
  int      last_permille;
} Progress;

static void
on_progress (guint64 done, guint64 total, const char *name, gpointer user_data)
{
  Progress *p = user_data;
  if (!p->tty)
    return;
  const int permille = total > 0 ? (int) (1000.0 * (double) done / (double) total) : 1000;
  if (permille == p->last_permille && done < total)
    return;
  p->last_permille = permille;
  char bar[31];
  const int filled = permille * 30 / 1000;
  for (int i = 0; i < 30; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[30] = '\0';
  /* The tensor name, cut to keep the line within 100 columns. */
  char shown[41];
  g_strlcpy (shown, name, sizeof shown);
  const gboolean giga = total >= 1000000000u;
  const double unit = giga ? 1e9 : 1e6;
  fprintf (stderr, "\r[%s] %5.1f%%  %.2f / %.2f %s  %-40s", bar, permille / 10.0,
           (double) done / unit, (double) total / unit, giga ? "GB" : "MB", shown);
  if (done >= total)
    fputc ('\n', stderr);
  fflush (stderr);
}

int
jd_cli_convert (int argc, char **argv)
{
  g_autofree char *svd = NULL, *audioldm2 = NULL, *clip = NULL, *joint = NULL, *out = NULL,
                  *dtype = NULL;
  const GOptionEntry entries[] = {
    { "svd", 0, 0, G_OPTION_ARG_FILENAME, &svd,
      "Stable Video Diffusion (or SVD-XT) in the diffusers layout: unet/, vae/, image_encoder/",
      "FOLDER" },
    { "audioldm2", 0, 0, G_OPTION_ARG_FILENAME, &audioldm2,
      "AudioLDM2 in the diffusers layout: unet/, vae/, vocoder/", "FOLDER" },
    { "clip", 0, 0, G_OPTION_ARG_FILENAME, &clip,
      "A CLIP image encoder (CLIPVisionModelWithProjection) instead of SVD's image_encoder/",
      "FOLDER" },
    { "joint", 0, 0, G_OPTION_ARG_FILENAME, &joint,
      "Trained Joint Blocks (safetensors with joint.* tensors); default: fresh, gates at zero",
      "CKPT" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "The bundle to write", "BUNDLE" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &dtype,
      "Storage type of the weights: bf16 (default), f16 or f32", "TYPE" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "Convert public checkpoints into one JointDiT model bundle. "
                                "Only safetensors files are read; pickled checkpoints (.bin, "
                                ".ckpt, .pt) are refused.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jd_cli_fail (JD_EXIT_USAGE, "%s\n" USAGE, error->message);
  if (argc != 1)
    return jd_cli_fail (JD_EXIT_USAGE, "unexpected argument “%s”\n" USAGE, argv[1]);
  if (svd == NULL || audioldm2 == NULL || out == NULL)
    return jd_cli_fail (JD_EXIT_USAGE, "convert needs --svd, --audioldm2 and --out\n" USAGE);
  JdConvertOptions options = {
    .svd = svd, .audioldm2 = audioldm2, .clip = clip, .joint = joint, .out = out,
    .dtype = JD_DTYPE_BF16, .hash_sources = TRUE,
  };
  if (dtype != NULL)
    {
      if (g_ascii_strcasecmp (dtype, "bf16") == 0)
        options.dtype = JD_DTYPE_BF16;
      else if (g_ascii_strcasecmp (dtype, "f16") == 0)
        options.dtype = JD_DTYPE_F16;
      else if (g_ascii_strcasecmp (dtype, "f32") == 0)
        options.dtype = JD_DTYPE_F32;
      else
        return jd_cli_fail (JD_EXIT_USAGE, "--dtype must be bf16, f16 or f32, not “%s”", dtype);
    }
  Progress progress = { .tty = isatty (STDERR_FILENO), .last_permille = -1 };
  options.progress = on_progress;
  options.user_data = &progress;

  if (progress.tty)
    fprintf (stderr, "Checking the sources and computing their SHA-256…\n");
  JdConvertReport report = { 0 };
  gboolean ok = jd_convert_run (&options, &report, &error);
  if (!ok)
    {
      jd_convert_report_clear (&report);
      return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
    }
  for (guint i = 0; i < report.notices->len; i++)
    printf ("%s\n", (const char *) g_ptr_array_index (report.notices, i));
  printf ("Wrote %s: %u tensors, %" G_GINT64_FORMAT " parameters, %.1f MB of %s weights "
          "(%u weight-norm pairs folded).\n", out, report.n_tensors, report.n_parameters,
          (double) report.n_bytes / 1e6, jd_dtype_name (options.dtype), report.n_folded);
  jd_convert_report_clear (&report);
  return JD_EXIT_OK;
}
