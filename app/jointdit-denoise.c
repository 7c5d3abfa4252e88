/* jointdit denoise — one raw JointDiT forward on inputs read from a safetensors file, as the
 * reference's JointDiT.forward (the parity goldens' view); for checking a model against the
 * reference and for debugging. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "jd-bundle.h"
#include "jd-cpu-backend.h"
#include "jd-jointdit.h"
#include "jd-safetensors.h"
#include "jointdit-cli.h"

#define USAGE "Usage: jointdit denoise --model MODEL --in IN.safetensors --out OUT.safetensors " \
              "[--attention full|block-diagonal|skip] [--null-condition] [--threads N]"

static const char *const input_names[] = {
  "video_sample", "video_timestep", "video_context", "added_time_ids", "audio_sample",
  "audio_timestep", "image_embeds",
};
enum { VIDEO_SAMPLE, VIDEO_TIMESTEP, VIDEO_CONTEXT, ADDED_TIME_IDS, AUDIO_SAMPLE, AUDIO_TIMESTEP,
       IMAGE_EMBEDS, N_INPUTS };

static gboolean
parse_attention (const char *text, JdAttentionMode *mode)
{
  static const struct {
    const char *name;
    JdAttentionMode mode;
  } modes[] = {
    { "full", JD_ATTENTION_FULL },
    { "block-diagonal", JD_ATTENTION_BLOCK_DIAGONAL },
    { "skip", JD_ATTENTION_SKIP },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    if (strcmp (text, modes[i].name) == 0)
      {
        *mode = modes[i].mode;
        return TRUE;
      }
  return FALSE;
}

/* The bundle config from the model file's metadata. The file is read as plain safetensors:
 * only the config and the denoiser's tensors are needed here. */
static JsonNode *
read_config (JdSafetensors *file, GError **error)
{
  const char *text = jd_safetensors_get_metadata (file, JD_BUNDLE_CONFIG_KEY);
  if (text == NULL)
    {
      g_autofree char *name = jd_safetensors_quote (jd_safetensors_get_name (file));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The model file “%s” has no “%s” metadata: it is not a JointDiT bundle", name,
                   JD_BUNDLE_CONFIG_KEY);
      return NULL;
    }
  g_autoptr (GError) parse_error = NULL;
  JsonNode *root = json_from_string (text, &parse_error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *name = jd_safetensors_quote (jd_safetensors_get_name (file));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The model file “%s” has a “%s” that is not a JSON object%s%s", name,
                   JD_BUNDLE_CONFIG_KEY, parse_error ? ": " : "",
                   parse_error ? parse_error->message : "");
      g_clear_pointer (&root, json_node_unref);
      return NULL;
    }
  return root;
}

static gboolean
add_output (JdSafetensorsWriter *writer, const char *name, const JdTensor *t, GError **error)
{
  g_autofree float *host = g_new (float, jd_tensor_numel (t));
  if (!jd_tensor_download_f32 (t, host, error))
    return FALSE;
  return jd_safetensors_writer_add_f32 (writer, name, JD_DTYPE_F32, t->ndim, t->shape, host,
                                        error);
}

static int
run_denoise (const char *model_path, const char *in_path, const char *out_path,
             JdAttentionMode attention, gboolean null_condition, int n_threads)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JdBackend) backend = jd_cpu_backend_new (n_threads, &error);
  if (backend == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
  g_autoptr (JdSafetensors) model = jd_safetensors_open (model_path, &error);
  if (model == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
  g_autoptr (JsonNode) config = read_config (model, &error);
  if (config == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
  g_autoptr (JdWeights) weights = jd_weights_new (model, backend);
  g_autoptr (JdJointDiT) jointdit = jd_jointdit_new (weights, json_node_get_object (config),
                                                     &error);
  if (jointdit == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);

  g_autoptr (JdSafetensors) in = jd_safetensors_open (in_path, &error);
  if (in == NULL)
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
  JdTensor *inputs[N_INPUTS] = { NULL };
  int status = JD_EXIT_OK;
  for (int i = 0; i < N_INPUTS && status == JD_EXIT_OK; i++)
    {
      if (i == IMAGE_EMBEDS && null_condition)
        continue;   /* the audio null condition: no image projection at all */
      const gboolean from_null = null_condition && (i == VIDEO_SAMPLE || i == VIDEO_CONTEXT);
      g_autofree char *name = g_strdup_printf ("%s.%s", from_null ? "null" : "in",
                                               input_names[i]);
      inputs[i] = jd_safetensors_load_f32 (in, name, backend, &error);
      if (inputs[i] == NULL)
        status = jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
    }
  g_autoptr (JdTensor) video_out = NULL;
  g_autoptr (JdTensor) audio_out = NULL;
  if (status == JD_EXIT_OK)
    {
      const JdTensor *vs = inputs[VIDEO_SAMPLE], *as = inputs[AUDIO_SAMPLE];
      int64_t video_shape[4], audio_shape[3];
      jd_jointdit_get_latent_shapes (jointdit, video_shape, audio_shape);
      g_autofree char *quoted = jd_safetensors_quote (in_path);
      if (vs->ndim != 5 || as->ndim != 4)
        {
          g_autofree char *v = jd_tensor_shape_string (vs);
          g_autofree char *a = jd_tensor_shape_string (as);
          status = jd_cli_fail (JD_EXIT_FAILURE, "“%s”: the video sample %s must be (B, F, C, "
                                "H, W) and the audio sample %s (B, C, T, F)", quoted, v, a);
        }
      else
        {
          const int64_t vshape[5] = { vs->shape[0], vs->shape[1], video_shape[1], vs->shape[3],
                                      vs->shape[4] };
          video_out = jd_tensor_new (backend, JD_DTYPE_F32, 5, vshape, &error);
          audio_out = video_out ? jd_tensor_new (backend, JD_DTYPE_F32, 4, as->shape, &error)
                                : NULL;
          const JdJointDiTInputs forward_inputs = {
            .video_sample = vs,
            .video_timestep = inputs[VIDEO_TIMESTEP],
            .video_context = inputs[VIDEO_CONTEXT],
            .added_time_ids = inputs[ADDED_TIME_IDS],
            .audio_sample = as,
            .audio_timestep = inputs[AUDIO_TIMESTEP],
            .image_embeds = inputs[IMAGE_EMBEDS],
          };
          if (audio_out == NULL)
            status = jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
          else if (!jd_jointdit_forward (jointdit, &forward_inputs, attention, video_out,
                                         audio_out, &error))
            status = jd_cli_fail (JD_EXIT_FAILURE, "“%s”: %s", quoted, error->message);
        }
    }
  for (int i = 0; i < N_INPUTS; i++)
    g_clear_pointer (&inputs[i], jd_tensor_free);
  if (status != JD_EXIT_OK)
    return status;

  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  jd_safetensors_writer_set_metadata (writer, "generator", "jointdit denoise");
  if (!add_output (writer, "video", video_out, &error)
      || !add_output (writer, "audio", audio_out, &error)
      || !jd_safetensors_writer_write (writer, out_path, &error))
    return jd_cli_fail (JD_EXIT_FAILURE, "%s", error->message);
  return JD_EXIT_OK;
}

int
jd_cli_denoise (int argc, char **argv)
{
  g_autofree char *model = NULL, *in = NULL, *out = NULL, *attention = NULL;
  gboolean null_condition = FALSE;
  int n_threads = 0;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "The model bundle", "MODEL" },
    { "in", 0, 0, G_OPTION_ARG_FILENAME, &in,
      "Inputs in.video_sample, in.video_timestep, in.video_context, in.added_time_ids, "
      "in.audio_sample, in.audio_timestep, in.image_embeds (and null.video_sample, "
      "null.video_context for --null-condition)", "IN" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Where to write the outputs video and audio",
      "OUT" },
    { "attention", 0, 0, G_OPTION_ARG_STRING, &attention,
      "Joint attention: full (default), block-diagonal or skip", "MODE" },
    { "null-condition", 0, 0, G_OPTION_ARG_NONE, &null_condition,
      "Use the null condition: null.video_sample and null.video_context, no image embeds", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &n_threads, "Worker threads (default: one per core)",
      "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "One raw JointDiT forward (the reference's "
                                         "JointDiT.forward): video and audio UNet outputs from "
                                         "inputs in a safetensors file.");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return jd_cli_fail (JD_EXIT_USAGE, "%s\n" USAGE, error->message);
  if (argc != 1)
    return jd_cli_fail (JD_EXIT_USAGE, "unexpected argument “%s”\n" USAGE, argv[1]);
  if (model == NULL || in == NULL || out == NULL)
    return jd_cli_fail (JD_EXIT_USAGE, "denoise needs --model, --in and --out\n" USAGE);
  JdAttentionMode mode = JD_ATTENTION_FULL;
  if (attention != NULL && !parse_attention (attention, &mode))
    return jd_cli_fail (JD_EXIT_USAGE, "--attention must be full, block-diagonal or skip, not "
                                       "“%s”\n" USAGE, attention);
  if (n_threads < 0)
    return jd_cli_fail (JD_EXIT_USAGE, "--threads must be 0 (one per core) or more\n" USAGE);
  return run_denoise (model, in, out, mode, null_condition, n_threads);
}
