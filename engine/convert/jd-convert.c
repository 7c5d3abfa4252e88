/* `jointdit convert`: check every source against its layout, then write one bundle. */
#include "jd-convert.h"

#include <string.h>

#include "jd-bundle.h"
#include "jd-config-read.h"
#include "jd-convert-audioldm2.h"
#include "jd-convert-blocks.h"
#include "jd-convert-config.h"
#include "jd-convert-joint.h"
#include "jd-convert-layout.h"
#include "jd-convert-source.h"
#include "jd-error.h"
#include "jd-json-depth.h"
#include "jd-weight-norm.h"

/* One part of the bundle from one source. */
typedef struct {
  const char      *prefix;    /* "video.unet." */
  const char      *what;      /* "SVD UNet (UNetSpatioTemporalConditionModel)" */
  JdConvertSource *source;    /* NULL for generated parts */
  JdConvertLayout *layout;    /* the tensors written, by source name */
  JdConvertLayout *dropped;   /* source names left out on purpose, or NULL */
  gboolean         weight_norm;
  GHashTable      *generated; /* layout names made here, not read (image_proj) */
} Part;

static void
part_clear (Part *part)
{
  g_clear_pointer (&part->source, jd_convert_source_free);
  g_clear_pointer (&part->layout, jd_convert_layout_free);
  g_clear_pointer (&part->dropped, jd_convert_layout_free);
  g_clear_pointer (&part->generated, g_hash_table_unref);
}

void
jd_convert_report_clear (JdConvertReport *report)
{
  g_clear_pointer (&report->notices, g_ptr_array_unref);
  memset (report, 0, sizeof *report);
}

static void
notice (JdConvertReport *report, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
notice (JdConvertReport *report, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_ptr_array_add (report->notices, g_strdup_vprintf (format, args));
  va_end (args);
}

/* The weight-norm spelling of name, if any: stem + ".weight", and which half (0 g, 1 v). */
static char *
weight_norm_base (const char *name, int *half)
{
  static const struct {
    const char *suffix;
    int         half;
  } spellings[] = {
    { ".weight_g", 0 }, { ".weight_v", 1 },
    { ".parametrizations.weight.original0", 0 }, { ".parametrizations.weight.original1", 1 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (spellings); i++)
    if (g_str_has_suffix (name, spellings[i].suffix))
      {
        *half = spellings[i].half;
        {
          g_autofree char *stem = g_strndup (name, strlen (name) - strlen (spellings[i].suffix));
          return g_strconcat (stem, ".weight", NULL);
        }
      }
  return NULL;
}

static gboolean
shape_equal (const JdSafetensorsEntry *e, const JdConvertTensor *t)
{
  if (e->ndim != t->ndim)
    return FALSE;
  for (int i = 0; i < t->ndim; i++)
    if (e->shape[i] != t->shape[i])
      return FALSE;
  return TRUE;
}

static gboolean
fail_shape (GError **error, const char *file, const JdSafetensorsEntry *e, const char *name,
            int ndim, const int64_t *shape, const char *config)
{
  g_autofree char *q = jd_safetensors_quote (name);
  g_autofree char *have = jd_convert_shape_to_string (e->ndim, e->shape);
  g_autofree char *want = jd_convert_shape_to_string (ndim, shape);
  g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
               "%s: tensor “%s” has shape %s, but %s makes it %s", file, q, have, config, want);
  return FALSE;
}

/* Every source tensor is expected (or dropped on purpose) with the expected shape, and every
 * expected tensor is there. */
static gboolean
check_part (Part *part, JdConvertReport *report, GError **error)
{
  JdConvertSource *src = part->source;
  const char *config = jd_convert_source_get_config_path (src)
                       ? jd_convert_source_get_config_path (src) : "the model config";
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < jd_convert_source_get_n_tensors (src); i++)
    {
      const char *name = jd_convert_source_get_name (src, i);
      const char *file = NULL;
      const JdSafetensorsEntry *e = jd_convert_source_lookup (src, name, &file);
      int half = -1;
      g_autofree char *base = part->weight_norm ? weight_norm_base (name, &half) : NULL;
      const JdConvertTensor *t = jd_convert_layout_lookup (part->layout, base ? base : name);
      if (t == NULL || g_hash_table_contains (part->generated, t->name))
        {
          if (part->dropped != NULL && jd_convert_layout_lookup (part->dropped, name) != NULL)
            {
              report->n_dropped++;
              continue;
            }
          g_autofree char *q = jd_safetensors_quote (name);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: unexpected tensor “%s”: the %s that %s describes has no such "
                       "tensor (is this the right folder, or a different model version?)",
                       file, q, part->what, config);
          return FALSE;
        }
      int bit = half < 0 ? 1 : (half == 0 ? 2 : 4);
      if (half == 0)
        {
          /* g: (rows, 1, …, 1) */
          int64_t gshape[JD_MAX_DIMS];
          gshape[0] = t->shape[0];
          for (int d = 1; d < t->ndim; d++)
            gshape[d] = 1;
          gboolean ok = e->ndim == t->ndim;
          for (int d = 0; ok && d < t->ndim; d++)
            ok = e->shape[d] == gshape[d];
          if (!ok)
            return fail_shape (error, file, e, name, t->ndim, gshape, config);
        }
      else if (!shape_equal (e, t))
        return fail_shape (error, file, e, name, t->ndim, t->shape, config);
      guint have = GPOINTER_TO_UINT (g_hash_table_lookup (found, t->name));
      if ((have & bit) || (bit == 1 && have != 0) || (bit != 1 && (have & 1)))
        {
          g_autofree char *q = jd_safetensors_quote (t->name);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: tensor “%s” is stored twice (plainly and weight-normalised)", file,
                       q);
          return FALSE;
        }
      g_hash_table_replace (found, g_strdup (t->name), GUINT_TO_POINTER (have | bit));
    }
  for (guint i = 0; i < jd_convert_layout_get_n (part->layout); i++)
    {
      const JdConvertTensor *t = jd_convert_layout_get (part->layout, i);
      if (g_hash_table_contains (part->generated, t->name))
        continue;
      guint have = GPOINTER_TO_UINT (g_hash_table_lookup (found, t->name));
      if (have == 1 || have == 6)
        continue;
      g_autofree char *q = jd_safetensors_quote (t->name);
      if (have == 2 || have == 4)
        g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                     "%s: tensor “%s” is weight-normalised but its %s half is missing",
                     jd_convert_source_get_path (src), q, have == 2 ? "direction (v)"
                     : "magnitude (g)");
      else
        g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                     "%s: missing tensor “%s”, which the %s that %s describes needs",
                     jd_convert_source_get_path (src), q, part->what, config);
      return FALSE;
    }
  return TRUE;
}

/* What fills one output tensor. */
typedef struct {
  const JdSafetensorsEntry *plain;
  const JdSafetensorsEntry *g, *v;   /* weight-norm halves */
  gboolean                  joint_fresh;
  gboolean                  zero;
  int                       ndim;
  int64_t                   shape[JD_MAX_DIMS];
} Fill;

static gboolean
fill_tensor (gpointer data, const char *name, float *values, int64_t numel, GError **error)
{
  Fill *f = data;
  (void) error;
  if (f->plain != NULL)
    jd_convert_to_f32 (f->plain->dtype, f->plain->data, values, (gsize) numel);
  else if (f->g != NULL)
    {
      const int64_t rows = f->shape[0];
      g_autofree float *g = g_new (float, rows);
      jd_convert_to_f32 (f->g->dtype, f->g->data, g, (gsize) rows);
      jd_convert_to_f32 (f->v->dtype, f->v->data, values, (gsize) numel);
      jd_weight_norm_fold (g, values, rows, numel / MAX (rows, 1), values);
    }
  else if (f->joint_fresh)
    jd_convert_joint_fresh_values (name, f->ndim, f->shape, values);
  else
    memset (values, 0, sizeof (float) * (gsize) numel);
  return TRUE;
}

static gboolean
add_part (JdSafetensorsWriter *writer, Part *part, JdDType dtype, JdConvertReport *report,
          GError **error)
{
  for (guint i = 0; i < jd_convert_layout_get_n (part->layout); i++)
    {
      const JdConvertTensor *t = jd_convert_layout_get (part->layout, i);
      Fill *f = g_new0 (Fill, 1);
      f->ndim = t->ndim;
      memcpy (f->shape, t->shape, sizeof f->shape);
      if (part->source == NULL)
        f->joint_fresh = TRUE;
      else if (g_hash_table_contains (part->generated, t->name))
        f->zero = TRUE;
      else if ((f->plain = jd_convert_source_lookup (part->source, t->name, NULL)) == NULL)
        {
          g_autofree char *stem = g_strndup (t->name, strlen (t->name) - strlen (".weight"));
          g_autofree char *g1 = g_strconcat (stem, ".weight_g", NULL);
          g_autofree char *v1 = g_strconcat (stem, ".weight_v", NULL);
          g_autofree char *g2 = g_strconcat (stem, ".parametrizations.weight.original0", NULL);
          g_autofree char *v2 = g_strconcat (stem, ".parametrizations.weight.original1", NULL);
          f->g = jd_convert_source_lookup (part->source, g1, NULL);
          f->v = jd_convert_source_lookup (part->source, v1, NULL);
          if (f->g == NULL)
            {
              f->g = jd_convert_source_lookup (part->source, g2, NULL);
              f->v = jd_convert_source_lookup (part->source, v2, NULL);
            }
          g_assert (f->g != NULL && f->v != NULL);  /* check_part made sure */
          report->n_folded++;
        }
      g_autofree char *name = g_strconcat (part->prefix, t->name, NULL);
      if (!jd_safetensors_writer_add_producer (writer, name, dtype, t->ndim, t->shape,
                                               fill_tensor, f, g_free, error))
        return FALSE;
      int64_t n = 1;
      for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
      report->n_parameters += n;
    }
  return TRUE;
}

/* Stability's own SVD / SVD-XT release: one safetensors file whose UNet lives under
 * model.diffusion_model. (its VAE under first_stage_model., CLIP under conditioner.). */
static gboolean
is_original_svd_file (const char *path)
{
  g_autoptr (JdConvertSource) file = jd_convert_source_open_file (path, NULL);
  if (file == NULL)
    return FALSE;
  for (guint i = 0; i < jd_convert_source_get_n_tensors (file); i++)
    if (g_str_has_prefix (jd_convert_source_get_name (file, i), "model.diffusion_model."))
      return TRUE;
  return FALSE;
}

static JdConvertSource *
open_component (const char *root, const char *component, const char *model, const char *layout,
                GError **error)
{
  if (!g_file_test (root, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_IO, "%s does not exist; give the %s folder (%s)",
                   root, model, layout);
      return NULL;
    }
  if (g_file_test (root, G_FILE_TEST_IS_REGULAR))
    {
      if (jd_convert_is_pickle_name (root))
        {
          jd_convert_refuse_pickle (root, error);
          return NULL;
        }
      if (strcmp (model, "Stable Video Diffusion") == 0 && is_original_svd_file (root))
        g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                     "%s is Stability's original single-file SVD checkpoint "
                     "(model.diffusion_model.…, first_stage_model.…, conditioner.…), which "
                     "the converter cannot map yet: no released diffusers version ships that "
                     "layout's key mapping to check a conversion against. Give the diffusers "
                     "folder layout instead (%s, e.g. the unet/, vae/ and image_encoder/ "
                     "folders of stabilityai/stable-video-diffusion-img2vid-xt on Hugging Face)",
                     root, layout);
      else
        g_set_error (error, JD_ERROR, JD_ERROR_UNSUPPORTED,
                     "%s is a single file; the converter reads %s in the diffusers folder "
                     "layout (%s, each with config.json and safetensors weights). Single-file "
                     "checkpoints are not converted yet", root, model, layout);
      return NULL;
    }
  g_autofree char *folder = g_build_filename (root, component, NULL);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, JD_ERROR, JD_ERROR_IO,
                   "%s has no %s/ folder; %s in the diffusers layout has %s", root, component,
                   model, layout);
      return NULL;
    }
  return jd_convert_source_open_folder (folder, error);
}

static char *
sha256_of_file (const char *path, GError **error)
{
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, error);
  if (mapped == NULL)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

static gboolean
add_provenance_source (JsonArray *sources, const char *part, JdConvertSource *src,
                       gboolean hash, GError **error)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "part", part);
  json_object_set_string_member (o, "path", jd_convert_source_get_path (src));
  JsonArray *files = json_array_new ();
  for (guint i = 0; i < jd_convert_source_get_n_files (src); i++)
    {
      const char *file = jd_convert_source_get_file (src, i);
      JsonObject *f = json_object_new ();
      g_autofree char *base = g_path_get_basename (file);
      json_object_set_string_member (f, "file", base);
      if (hash)
        {
          g_autofree char *sum = sha256_of_file (file, error);
          if (sum == NULL)
            {
              json_object_unref (f);
              json_array_unref (files);
              json_object_unref (o);
              return FALSE;
            }
          json_object_set_string_member (f, "sha256", sum);
        }
      json_array_add_object_element (files, f);
    }
  if (jd_convert_source_get_config_path (src) != NULL && hash)
    {
      JsonObject *f = json_object_new ();
      json_object_set_string_member (f, "file", "config.json");
      g_autofree char *sum = sha256_of_file (jd_convert_source_get_config_path (src), error);
      if (sum == NULL)
        {
          json_object_unref (f);
          json_array_unref (files);
          json_object_unref (o);
          return FALSE;
        }
      json_object_set_string_member (f, "sha256", sum);
      json_array_add_object_element (files, f);
    }
  json_object_set_array_member (o, "files", files);
  json_array_add_object_element (sources, o);
  return TRUE;
}

/* Stage name → output channels of that stage (conv_in, down_blocks.i, mid_block). */
static int64_t
stage_channels (const char *stage, const int64_t *ch, int n)
{
  if (strcmp (stage, "conv_in") == 0 || strcmp (stage, "down_blocks.0") == 0)
    return ch[0];
  if (strcmp (stage, "mid_block") == 0)
    return ch[n - 1];
  if (g_str_has_prefix (stage, "down_blocks."))
    {
      char *end = NULL;
      gint64 i = g_ascii_strtoll (stage + strlen ("down_blocks."), &end, 10);
      if (end != NULL && *end == '\0' && i >= 0 && i < n)
        return ch[i];
    }
  return -1;
}

/* d_qk, d_v, heads and split from a --joint checkpoint's own bundle config when it has one,
 * else d_qk/d_v from its block-0 shapes with the defaults for the rest. */
static gboolean
read_joint_settings (JdConvertSource *src, JdConvertConfigInput *in, char **owned[2],
                     GError **error)
{
  const JdSafetensorsEntry *q = jd_convert_source_lookup (src, "joint.blocks.0.attn.video_to_q.weight", NULL);
  const JdSafetensorsEntry *v = jd_convert_source_lookup (src, "joint.blocks.0.attn.video_to_v.weight", NULL);
  if (q == NULL || v == NULL || q->ndim != 2 || v->ndim != 2)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                   "%s: missing tensor “joint.blocks.0.attn.video_to_q.weight” (or "
                   "video_to_v): a Joint Block checkpoint holds joint.blocks.K.* tensors",
                   jd_convert_source_get_path (src));
      return FALSE;
    }
  in->d_qk = q->shape[0];
  in->d_v = v->shape[0];
  /* The number of blocks: the highest K present. */
  int n_blocks = 0;
  for (guint i = 0; i < jd_convert_source_get_n_tensors (src); i++)
    {
      const char *name = jd_convert_source_get_name (src, i);
      if (g_str_has_prefix (name, "joint.blocks."))
        {
          gint64 k = g_ascii_strtoll (name + strlen ("joint.blocks."), NULL, 10);
          if (k >= 0 && k < JD_CONVERT_MAX_BLOCKS)
            n_blocks = MAX (n_blocks, (int) k + 1);
        }
    }
  in->n_joint_blocks = MAX (n_blocks, 1);
  /* A checkpoint written as a bundle (tools/train) says its heads and split. */
  const char *text = jd_convert_source_get_metadata (src, JD_BUNDLE_CONFIG_KEY);
  if (text != NULL)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *root = NULL;
      if (jd_json_depth_within (text, strlen (text), JD_JSON_MAX_DEPTH)
          && json_parser_load_from_data (parser, text, -1, NULL))
        root = json_parser_get_root (parser);
      JsonNode *joint = root && JSON_NODE_HOLDS_OBJECT (root)
                        ? json_object_get_member (json_node_get_object (root), "joint") : NULL;
      if (joint == NULL || !JSON_NODE_HOLDS_OBJECT (joint))
        {
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: its __metadata__ “%s” has no \"joint\" object",
                       jd_convert_source_get_path (src), JD_BUNDLE_CONFIG_KEY);
          return FALSE;
        }
      JsonObject *j = json_node_get_object (joint);
      if (jd_config_has (j, "heads")
          && !jd_config_int (j, "joint", "heads", 1, 1024, &in->heads, error))
        {
          g_prefix_error (error, "%s: ", jd_convert_source_get_path (src));
          return FALSE;
        }
      if (jd_config_has (j, "split"))
        {
          JsonObject *split = jd_config_object (j, "joint", "split", error);
          g_auto (GStrv) video = split ? jd_config_string_array (split, "joint.split", "video",
                                                                 error) : NULL;
          g_auto (GStrv) audio = video ? jd_config_string_array (split, "joint.split", "audio",
                                                                 error) : NULL;
          if (audio == NULL)
            {
              g_prefix_error (error, "%s: ", jd_convert_source_get_path (src));
              return FALSE;
            }
          if ((int) g_strv_length (video) != in->n_joint_blocks
              || (int) g_strv_length (audio) != in->n_joint_blocks)
            {
              g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                           "%s: joint.split names %u and %u stages, but the file holds %d Joint "
                           "Blocks", jd_convert_source_get_path (src), g_strv_length (video),
                           g_strv_length (audio), in->n_joint_blocks);
              return FALSE;
            }
          owned[0] = g_strdupv (video);
          owned[1] = g_strdupv (audio);
        }
    }
  return TRUE;
}

gboolean
jd_convert_run (const JdConvertOptions *o, JdConvertReport *report, GError **error)
{
  memset (report, 0, sizeof *report);
  report->notices = g_ptr_array_new_with_free_func (g_free);
  if (o->svd == NULL || o->audioldm2 == NULL || o->out == NULL)
    {
      g_set_error (error, JD_ERROR, JD_ERROR_INVALID_ARGUMENT,
                   "convert needs an SVD folder, an AudioLDM2 folder and an output path");
      return FALSE;
    }
  if (o->joint != NULL && jd_convert_is_pickle_name (o->joint))
    return jd_convert_refuse_pickle (o->joint, error);

  Part parts[8] = { 0 };
  enum { VIDEO_UNET, VIDEO_VAE, IMAGE_ENCODER, AUDIO_UNET, AUDIO_VAE, VOCODER, JOINT, N_PARTS };
  gboolean ok = FALSE;
  g_autoptr (JdSafetensorsWriter) writer = NULL;
  g_autofree char *config_text = NULL;
  g_autoptr (JsonNode) provenance = NULL;
  JdConvertConfigInput in = { 0 };
  char **joint_split[2] = { NULL, NULL };
  for (int i = 0; i < N_PARTS; i++)
    parts[i].generated = g_hash_table_new (g_str_hash, g_str_equal);

  static const char *const svd_layout = "unet/, vae/ and image_encoder/";
  static const char *const audio_layout = "unet/, vae/ and vocoder/";
  parts[VIDEO_UNET] = (Part) { "video.unet.", "SVD UNet (UNetSpatioTemporalConditionModel)",
                               open_component (o->svd, "unet", "Stable Video Diffusion",
                                               svd_layout, error), NULL, NULL, FALSE,
                               parts[VIDEO_UNET].generated };
  if (parts[VIDEO_UNET].source == NULL)
    goto out;
  parts[VIDEO_VAE] = (Part) { "video.vae.", "SVD VAE (AutoencoderKLTemporalDecoder)",
                              open_component (o->svd, "vae", "Stable Video Diffusion",
                                              svd_layout, error), NULL, NULL, FALSE,
                              parts[VIDEO_VAE].generated };
  if (parts[VIDEO_VAE].source == NULL)
    goto out;
  parts[IMAGE_ENCODER] = (Part) { "image_encoder.", "CLIP image encoder "
                                  "(CLIPVisionModelWithProjection)",
                                  o->clip ? jd_convert_source_open_folder (o->clip, error)
                                  : open_component (o->svd, "image_encoder",
                                                    "Stable Video Diffusion", svd_layout, error),
                                  NULL, NULL, FALSE, parts[IMAGE_ENCODER].generated };
  if (parts[IMAGE_ENCODER].source == NULL)
    {
      if (o->clip == NULL && error != NULL && *error != NULL)
        {
          char *message = g_strconcat ((*error)->message, "; or give the image encoder with "
                                       "--clip", NULL);
          g_free ((*error)->message);
          (*error)->message = message;
        }
      goto out;
    }
  parts[AUDIO_UNET] = (Part) { "audio.unet.", "AudioLDM2 UNet (AudioLDM2UNet2DConditionModel)",
                               open_component (o->audioldm2, "unet", "AudioLDM2", audio_layout,
                                               error), NULL, NULL, FALSE,
                               parts[AUDIO_UNET].generated };
  if (parts[AUDIO_UNET].source == NULL)
    goto out;
  parts[AUDIO_VAE] = (Part) { "audio.vae.", "AudioLDM2 mel VAE (AutoencoderKL)",
                              open_component (o->audioldm2, "vae", "AudioLDM2", audio_layout,
                                              error), NULL, NULL, FALSE,
                              parts[AUDIO_VAE].generated };
  if (parts[AUDIO_VAE].source == NULL)
    goto out;
  parts[VOCODER] = (Part) { "audio.vocoder.", "HiFi-GAN vocoder (SpeechT5HifiGan)",
                            open_component (o->audioldm2, "vocoder", "AudioLDM2", audio_layout,
                                            error), NULL, NULL, TRUE, parts[VOCODER].generated };
  if (parts[VOCODER].source == NULL)
    goto out;

  /* Layouts from the sources' own configs. */
  JsonObject *clip_config = jd_convert_source_get_config (parts[IMAGE_ENCODER].source);
  if (json_object_has_member (clip_config, "vision_config")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (clip_config, "vision_config")))
    clip_config = json_object_get_object_member (clip_config, "vision_config");
  in.video_unet = jd_convert_source_get_config (parts[VIDEO_UNET].source);
  in.video_vae = jd_convert_source_get_config (parts[VIDEO_VAE].source);
  in.image_encoder = clip_config;
  in.audio_unet = jd_convert_source_get_config (parts[AUDIO_UNET].source);
  in.audio_vae = jd_convert_source_get_config (parts[AUDIO_VAE].source);
  in.vocoder = jd_convert_source_get_config (parts[VOCODER].source);
  const char *names[N_PARTS];
  for (int i = 0; i < JOINT; i++)
    names[i] = jd_convert_source_get_config_path (parts[i].source);
  if (!jd_config_int (clip_config, names[IMAGE_ENCODER], "projection_dim", 1, 1 << 16,
                      &in.image_embed_dim, error))
    goto out;
  parts[VIDEO_UNET].layout = jd_convert_layout_svd_unet (in.video_unet, names[VIDEO_UNET], error);
  if (parts[VIDEO_UNET].layout == NULL)
    goto out;
  parts[VIDEO_VAE].layout = jd_convert_layout_svd_vae (in.video_vae, names[VIDEO_VAE], error);
  if (parts[VIDEO_VAE].layout == NULL)
    goto out;
  parts[IMAGE_ENCODER].layout = jd_convert_layout_clip_vision (clip_config, names[IMAGE_ENCODER],
                                                               error);
  if (parts[IMAGE_ENCODER].layout == NULL)
    goto out;
  parts[AUDIO_UNET].layout = jd_convert_layout_audioldm2_unet (in.audio_unet, names[AUDIO_UNET],
                                                               FALSE, in.image_embed_dim, error);
  if (parts[AUDIO_UNET].layout == NULL)
    goto out;
  parts[AUDIO_UNET].dropped = jd_convert_layout_audioldm2_unet (in.audio_unet, names[AUDIO_UNET],
                                                                TRUE, 0, error);
  g_hash_table_add (parts[AUDIO_UNET].generated, (gpointer) "image_proj.weight");
  g_hash_table_add (parts[AUDIO_UNET].generated, (gpointer) "image_proj.bias");
  parts[AUDIO_VAE].layout = jd_convert_layout_autoencoder_kl (in.audio_vae, names[AUDIO_VAE],
                                                              error);
  if (parts[AUDIO_VAE].layout == NULL)
    goto out;
  parts[VOCODER].layout = jd_convert_layout_hifigan (in.vocoder, names[VOCODER], error);
  if (parts[VOCODER].layout == NULL)
    goto out;

  for (int i = 0; i < JOINT; i++)
    if (!check_part (&parts[i], report, error))
      goto out;

  /* Audio UNet reading that the config needs. */
  int64_t vch[JD_CONVERT_MAX_BLOCKS], ach[JD_CONVERT_MAX_BLOCKS];
  int nv = 0, na = 0;
  if (!jd_convert_config_channels (in.video_unet, names[VIDEO_UNET], vch, &nv, error)
      || !jd_convert_config_channels (in.audio_unet, names[AUDIO_UNET], ach, &na, error)
      || !jd_convert_audioldm2_heads (in.audio_unet, names[AUDIO_UNET], na, in.audio_heads,
                                      error)
      || !jd_convert_audioldm2_contexts (in.audio_unet, names[AUDIO_UNET], na,
                                         in.audio_contexts, in.audio_positions, error))
    goto out;
  in.n_audio_blocks = na;

  /* Joint Blocks. */
  in.d_qk = JD_CONVERT_JOINT_D_QK;
  in.d_v = JD_CONVERT_JOINT_D_V;
  in.heads = JD_CONVERT_JOINT_HEADS;
  in.n_joint_blocks = MIN (nv, na);
  Part *joint = &parts[JOINT];
  joint->prefix = "";
  joint->what = "Joint Blocks";
  if (o->joint != NULL)
    {
      joint->source = jd_convert_source_open_file (o->joint, error);
      if (joint->source == NULL || !read_joint_settings (joint->source, &in, joint_split, error))
        goto out;
    }
  char split_names[2][JD_CONVERT_MAX_BLOCKS][32];
  int64_t jv[JD_CONVERT_MAX_BLOCKS], ja[JD_CONVERT_MAX_BLOCKS];
  const int n_joint = in.n_joint_blocks;
  for (int k = 0; k < n_joint; k++)
    {
      /* The checkpoint's split, or the default: after down_blocks.1 … down_blocks.(n−1), then
       * the mid block. */
      for (int m = 0; m < 2; m++)
        {
          if (joint_split[m] != NULL)
            {
              g_strlcpy (split_names[m][k], joint_split[m][k], sizeof split_names[m][k]);
              continue;
            }
          const int n = m == 0 ? nv : na;
          const int stage = n - n_joint + 1 + k;
          if (stage >= n)
            g_strlcpy (split_names[m][k], "mid_block", sizeof split_names[m][k]);
          else
            g_snprintf (split_names[m][k], sizeof split_names[m][k], "down_blocks.%d",
                        MAX (stage, 0));
        }
      in.split_video[k] = split_names[0][k];
      in.split_audio[k] = split_names[1][k];
      jv[k] = stage_channels (in.split_video[k], vch, nv);
      ja[k] = stage_channels (in.split_audio[k], ach, na);
      if (jv[k] < 0 || ja[k] < 0)
        {
          g_autofree char *q = jd_safetensors_quote (jv[k] < 0 ? in.split_video[k]
                                                     : in.split_audio[k]);
          g_set_error (error, JD_ERROR, JD_ERROR_MODEL_FILE,
                       "%s: joint.split names the stage “%s”, which the UNets do not have "
                       "(conv_in, down_blocks.N or mid_block)", o->joint, q);
          goto out;
        }
    }
  joint->layout = jd_convert_layout_joint (n_joint, jv, 4 * vch[0], ja, 4 * ach[0], in.d_qk,
                                           in.d_v);
  if (joint->source != NULL && !check_part (joint, report, error))
    goto out;

  /* Provenance. */
  {
    JsonObject *p = json_object_new ();
    json_object_set_string_member (p, "made_by", "jointdit convert");
    json_object_set_string_member (p, "converter_version", JD_CONVERT_VERSION);
    JsonArray *sources = json_array_new ();
    json_object_set_array_member (p, "sources", sources);
    static const char *const part_names[] = {
      "video.unet", "video.vae", "image_encoder", "audio.unet", "audio.vae", "audio.vocoder",
      "joint",
    };
    for (int i = 0; i < N_PARTS; i++)
      if (parts[i].source != NULL
          && !add_provenance_source (sources, part_names[i], parts[i].source, o->hash_sources,
                                     error))
        {
          json_object_unref (p);
          goto out;
        }
    json_object_set_string_member (p, "joint_blocks", joint->source
                                   ? "loaded from the --joint checkpoint"
                                   : "fresh: AdaLN-Zero gates at zero (video and audio are "
                                     "sampled independently)");
    json_object_set_string_member (p, "audio_unet_image_conditioning",
                                   "image_proj zero-initialised: must be fine-tuned "
                                   "(the paper's AudioLDM-v) before the sound depends on "
                                   "the picture");
    json_object_set_int_member (p, "training_steps", 0);
    provenance = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (provenance, p);
    in.provenance = provenance;
  }
  config_text = jd_convert_config_build (&in, error);
  if (config_text == NULL)
    goto out;

  writer = jd_safetensors_writer_new ();
  jd_safetensors_writer_set_metadata (writer, JD_BUNDLE_CONFIG_KEY, config_text);
  for (int i = 0; i < N_PARTS; i++)
    if (!add_part (writer, &parts[i], o->dtype, report, error))
      goto out;
  report->n_tensors = jd_safetensors_writer_get_n (writer);
  report->n_bytes = jd_safetensors_writer_get_data_size (writer);

  if (report->n_dropped > 0)
    notice (report, "Dropped %u tensors of AudioLDM2's text-context transformers "
            "(attentions.{3g+1}, attentions.{3g+2}) on purpose: JointDiT conditions the audio "
            "UNet on the picture, not on text.", report->n_dropped);
  notice (report, "The audio UNet's image conditioning (image_proj, %" G_GINT64_FORMAT " → %"
          G_GINT64_FORMAT ") is new and starts at zero: until it is fine-tuned (the paper's "
          "AudioLDM-v), the sound ignores the picture and, without its text transformers, "
          "means nothing yet.", in.image_embed_dim, 4 * ach[0]);
  notice (report, joint->source
          ? "Joint Blocks loaded from %s."
          : "Joint Blocks are fresh (AdaLN-Zero gates at zero%s): video and audio are sampled "
            "independently until they are trained.", joint->source ? o->joint : "");

  if (!jd_safetensors_writer_write_with_progress (writer, o->out, o->progress, o->user_data,
                                                  error))
    goto out;
  /* The result must open as a bundle. */
  {
    g_autoptr (JdBundle) bundle = jd_bundle_open (o->out, error);
    if (bundle == NULL)
      goto out;
  }
  ok = TRUE;
out:
  for (int i = 0; i < N_PARTS; i++)
    part_clear (&parts[i]);
  g_strfreev (joint_split[0]);
  g_strfreev (joint_split[1]);
  return ok;
}
