/* make-test-bundle — writes a small JointDiT bundle with random weights for the README's quick
 * start and the CLI tests: a jointdit.config and a few tensors under every part prefix with
 * diffusers-style names, in F32, F16 and BF16. Deterministic (fixed seed).
 *
 * Usage: make-test-bundle OUTPUT.safetensors */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "jd-bundle.h"

typedef struct {
  const char *name;
  JdDType     dtype;
  int         ndim;
  int64_t     shape[JD_MAX_DIMS];
} TensorSpec;

static const TensorSpec tensors[] = {
  { "video.unet.conv_in.weight", JD_DTYPE_F32, 4, { 32, 8, 3, 3 } },
  { "video.unet.conv_in.bias", JD_DTYPE_F32, 1, { 32 } },
  { "video.unet.time_embedding.linear_1.weight", JD_DTYPE_BF16, 2, { 64, 32 } },
  { "video.vae.decoder.conv_out.weight", JD_DTYPE_F16, 4, { 3, 16, 3, 3 } },
  { "video.vae.decoder.conv_out.bias", JD_DTYPE_F16, 1, { 3 } },
  { "audio.unet.conv_in.weight", JD_DTYPE_F32, 4, { 16, 8, 3, 3 } },
  { "audio.vae.decoder.conv_out.weight", JD_DTYPE_F16, 4, { 1, 16, 3, 3 } },
  { "audio.vocoder.conv_pre.weight", JD_DTYPE_F32, 3, { 32, 16, 7 } },
  { "audio.vocoder.conv_post.weight", JD_DTYPE_BF16, 3, { 1, 8, 7 } },
  { "image_encoder.vision_model.embeddings.patch_embedding.weight", JD_DTYPE_BF16, 4,
    { 32, 3, 4, 4 } },
  { "joint.blocks.0.attn.to_q_video.weight", JD_DTYPE_F32, 2, { 32, 32 } },
  { "joint.blocks.0.attn.to_q_audio.weight", JD_DTYPE_F32, 2, { 32, 32 } },
  { "joint.blocks.0.norm_video.weight", JD_DTYPE_F16, 1, { 32 } },
  { "joint.blocks.0.norm_video.bias", JD_DTYPE_F16, 1, { 32 } },
};

static char *
config_json (void)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, JD_BUNDLE_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, JD_BUNDLE_VERSION);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "test-bundle");
  json_builder_set_member_name (builder, "architecture");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "video_latent_channels");
  json_builder_add_int_value (builder, 8);
  json_builder_set_member_name (builder, "audio_latent_channels");
  json_builder_add_int_value (builder, 8);
  json_builder_set_member_name (builder, "joint_blocks");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "hidden_size");
  json_builder_add_int_value (builder, 32);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "provenance");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "made_by");
  json_builder_add_string_value (builder, "tests/make-test-bundle");
  json_builder_set_member_name (builder, "weights");
  json_builder_add_string_value (builder, "random (uniform in [-0.5, 0.5), seed 2025)");
  json_builder_set_member_name (builder, "training_steps");
  json_builder_add_int_value (builder, 0);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      fprintf (stderr, "Usage: make-test-bundle OUTPUT.safetensors\n");
      return 2;
    }
  g_autoptr (GRand) rng = g_rand_new_with_seed (2025);
  g_autoptr (JdSafetensorsWriter) writer = jd_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      const TensorSpec *spec = &tensors[i];
      int64_t numel = 1;
      for (int d = 0; d < spec->ndim; d++)
        numel *= spec->shape[d];
      g_autofree float *values = g_new (float, numel);
      for (int64_t k = 0; k < numel; k++)
        values[k] = (float) g_rand_double_range (rng, -0.5, 0.5);
      if (!jd_safetensors_writer_add_f32 (writer, spec->name, spec->dtype, spec->ndim,
                                          spec->shape, values, &error))
        break;
    }
  g_autofree char *config = config_json ();
  jd_safetensors_writer_set_metadata (writer, JD_BUNDLE_CONFIG_KEY, config);
  if (error == NULL)
    jd_safetensors_writer_write (writer, argv[1], &error);
  if (error != NULL)
    {
      fprintf (stderr, "make-test-bundle: %s\n", error->message);
      return 1;
    }
  return 0;
}
