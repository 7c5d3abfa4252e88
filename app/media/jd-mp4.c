/* jd-mp4.c — H.264 + AAC in MP4 through libavformat/libavcodec (FFmpeg 5.1 API).
 *
 * The order follows FFmpeg's muxing rules: output context → encoders (global header flag when
 * the container asks for it) → streams with the encoders' parameters → avio_open → header →
 * frames of both streams interleaved by time, each packet rescaled to its stream's time base →
 * encoder flush → trailer. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <glib/gstdio.h>
#include <string.h>

#include "jd-media-error.h"
#include "jd-media-private.h"
#include "jd-mp4.h"

#include <math.h>

#define DEFAULT_CRF        18
#define FALLBACK_RATE      48000
#define MAX_FRAME_SIDE     16384
#define MAX_SECONDS        3600 /* keeps every sample count of the sound within an int */

typedef struct
{
  const char        *path;    /* what the caller asked for; messages name it */
  const JdMp4Input  *input;
  AVFormatContext   *muxer;
  AVCodecContext    *video, *audio;
  AVStream          *video_stream, *audio_stream;
  struct SwsContext *to_yuv;
  AVFrame           *picture, *sound;
  AVPacket          *packet;
  AVAudioFifo       *fifo;
  guint8            *staging;  /* one frame as packed RGB at the encoded (even) size */
  int                width, height;
  guint              next_frame;
  gint64             audio_sent, audio_total; /* samples at the encoder's rate */
  gboolean           video_flushed, audio_flushed;
} Mp4Writer;

static const char *
video_encoder_name (const AVCodec **codec)
{
  const AVCodec *x264 = avcodec_find_encoder_by_name ("libx264");
  if (codec != NULL)
    *codec = x264 != NULL ? x264 : avcodec_find_encoder (AV_CODEC_ID_MPEG4);
  return x264 != NULL ? "libx264" : "mpeg4";
}

void
jd_mp4_fps_fraction (double fps, int *fps_num, int *fps_den)
{
  for (int d = 1; d <= 1001; d++)
    {
      double n = fps * d;
      if (fabs (n - round (n)) < 1e-6 * d)
        {
          *fps_num = (int) round (n);
          *fps_den = d;
          return;
        }
    }
  *fps_num = (int) round (fps * 1000);
  *fps_den = 1000;
}

const char *
jd_mp4_video_encoder_name (void)
{
  return video_encoder_name (NULL);
}

static gboolean
fail (Mp4Writer *w, GError **error, JdMediaError code, int av_error, const char *format, ...)
  G_GNUC_PRINTF (5, 6);

static gboolean
fail (Mp4Writer *w, GError **error, JdMediaError code, int av_error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  if (av_error < 0)
    {
      char text[AV_ERROR_MAX_STRING_SIZE] = "";
      av_strerror (av_error, text, sizeof text);
      g_set_error (error, JD_MEDIA_ERROR, code, "Could not write the video “%s”: %s (%s)",
                   w->path, what, text);
    }
  else
    g_set_error (error, JD_MEDIA_ERROR, code, "Could not write the video “%s”: %s", w->path,
                 what);
  return FALSE;
}

static gboolean
check_input (const char *path, const JdMp4Input *in, GError **error)
{
  const char *problem = NULL;
  if (in->frames == NULL || in->n_frames == 0)
    problem = "there are no frames";
  else if (in->fps_num <= 0 || in->fps_den <= 0 || in->fps_num > 1000 * in->fps_den)
    problem = "the frame rate must be a positive fraction of at most 1000 frames per second";
  else if ((guint64) in->n_frames * (guint64) in->fps_den > (guint64) MAX_SECONDS * in->fps_num)
    problem = "the clip must be at most an hour long";
  else if (in->crf < 0 || in->crf > 51)
    problem = "the CRF must be 0 (default) to 51";
  else if (in->audio != NULL
           && (in->audio->channels < 1 || in->audio->channels > 2 || in->audio->sample_rate < 1000
               || in->audio->sample_rate > 192000
               || (in->audio->samples == NULL && in->audio->n_frames > 0)))
    problem = "the sound must be mono or stereo at 1000 to 192000 Hz";
  for (guint i = 0; problem == NULL && i < in->n_frames; i++)
    {
      const JdImage *f = in->frames[i];
      if (f == NULL || (f->channels != 3 && f->channels != 4))
        problem = "a frame is missing or not RGB/RGBA";
      else if (f->width != in->frames[0]->width || f->height != in->frames[0]->height)
        problem = "the frames differ in size";
      else if (f->width < 1 || f->height < 1 || f->width > MAX_FRAME_SIDE
               || f->height > MAX_FRAME_SIDE)
        problem = "the frame size must be 1 to 16384 pixels a side";
    }
  if (problem == NULL)
    return TRUE;
  g_set_error (error, JD_MEDIA_ERROR, JD_MEDIA_ERROR_INVALID_ARGUMENT,
               "Cannot write the video “%s”: %s", path, problem);
  return FALSE;
}

static void
quiet_ffmpeg_once (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      /* libx264 prints a dozen statistics lines per file at the default INFO level. Only the
       * untouched default is lowered, so a program that chose its own level keeps it. */
      if (av_log_get_level () == AV_LOG_INFO)
        av_log_set_level (AV_LOG_WARNING);
      g_once_init_leave (&done, 1);
    }
}

static gboolean
open_video (Mp4Writer *w, GError **error)
{
  const JdMp4Input *in = w->input;
  const AVCodec *codec = NULL;
  const char *name = video_encoder_name (&codec);
  if (in->use_fallback_encoder)
    {
      name = "mpeg4";
      codec = avcodec_find_encoder (AV_CODEC_ID_MPEG4);
    }
  if (codec == NULL)
    return fail (w, error, JD_MEDIA_ERROR_UNSUPPORTED, 0,
                 "this FFmpeg has neither the libx264 nor the mpeg4 encoder");
  static gsize warned = 0;
  if (strcmp (name, "libx264") != 0 && !in->use_fallback_encoder && g_once_init_enter (&warned))
    {
      g_warning ("FFmpeg has no libx264 encoder; videos such as “%s” are written with the "
                 "MPEG-4 Part 2 encoder instead (larger files, not H.264)", w->path);
      g_once_init_leave (&warned, 1);
    }

  w->width = in->frames[0]->width + (in->frames[0]->width & 1);
  w->height = in->frames[0]->height + (in->frames[0]->height & 1);
  AVCodecContext *c = w->video = avcodec_alloc_context3 (codec);
  if (c == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no video encoder");
  c->width = w->width;
  c->height = w->height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = (AVRational) { in->fps_den, in->fps_num };
  c->framerate = (AVRational) { in->fps_num, in->fps_den };
  c->sample_aspect_ratio = (AVRational) { 1, 1 };
  /* swscale's default RGB→YUV matrix is BT.601 with limited range: say so in the stream. */
  c->colorspace = AVCOL_SPC_SMPTE170M;
  c->color_range = AVCOL_RANGE_MPEG;
  if (strcmp (name, "libx264") == 0)
    {
      g_autofree char *crf = g_strdup_printf ("%d", in->crf > 0 ? in->crf : DEFAULT_CRF);
      av_opt_set (c->priv_data, "crf", crf, 0);
      av_opt_set (c->priv_data, "preset", "medium", 0);
    }
  else
    {
      c->flags |= AV_CODEC_FLAG_QSCALE;
      c->global_quality = FF_QP2LAMBDA * 3;
    }
  if (w->muxer->oformat->flags & AVFMT_GLOBALHEADER)
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int ret = avcodec_open2 (c, codec, NULL);
  if (ret < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "the %s encoder refused %d×%d at %d/%d fps",
                 name, w->width, w->height, in->fps_num, in->fps_den);

  w->video_stream = avformat_new_stream (w->muxer, NULL);
  if (w->video_stream == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no video stream");
  w->video_stream->time_base = c->time_base;
  w->video_stream->avg_frame_rate = c->framerate;
  if ((ret = avcodec_parameters_from_context (w->video_stream->codecpar, c)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "video stream parameters");

  w->picture = av_frame_alloc ();
  w->staging = g_try_malloc ((gsize) w->width * (gsize) w->height * 3);
  if (w->picture == NULL || w->staging == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no memory for frames");
  w->picture->format = c->pix_fmt;
  w->picture->width = c->width;
  w->picture->height = c->height;
  if ((ret = av_frame_get_buffer (w->picture, 0)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "no memory for frames");
  w->to_yuv = sws_getContext (w->width, w->height, AV_PIX_FMT_RGB24, w->width, w->height,
                              AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL,
                              NULL);
  if (w->to_yuv == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, 0, "swscale cannot convert RGB to yuv420p");
  return TRUE;
}

static int
aac_rate_for (const AVCodec *codec, int rate)
{
  if (codec->supported_samplerates == NULL)
    return rate;
  for (const int *r = codec->supported_samplerates; *r != 0; r++)
    if (*r == rate)
      return rate;
  return FALLBACK_RATE;
}

/* Resamples/planarises the whole sound into the FIFO, trimmed or padded later to the video's
 * duration (audio_total). The clips are seconds long, so holding them whole is cheap. */
static gboolean
fill_audio_fifo (Mp4Writer *w, GError **error)
{
  const JdAudio *a = w->input->audio;
  const JdMp4Input *in = w->input;
  /* The sound that covers the video exactly, at the input rate, rounded to whole samples. */
  guint64 wanted = ((guint64) in->n_frames * (guint64) in->fps_den * (guint64) a->sample_rate * 2
                    + (guint64) in->fps_num) / (2 * (guint64) in->fps_num);
  w->audio_total = (gint64) (((guint64) in->n_frames * (guint64) in->fps_den
                              * (guint64) w->audio->sample_rate * 2 + (guint64) in->fps_num)
                             / (2 * (guint64) in->fps_num));
  gsize used = (gsize) MIN ((guint64) a->n_frames, wanted);

  AVChannelLayout layout = { 0 };
  av_channel_layout_default (&layout, a->channels);
  SwrContext *swr = NULL;
  int ret = swr_alloc_set_opts2 (&swr, &w->audio->ch_layout, w->audio->sample_fmt,
                                 w->audio->sample_rate, &layout, AV_SAMPLE_FMT_FLT,
                                 a->sample_rate, 0, NULL);
  av_channel_layout_uninit (&layout);
  if (ret >= 0)
    ret = swr_init (swr);
  if (ret >= 0)
    {
      w->fifo = av_audio_fifo_alloc (w->audio->sample_fmt, w->audio->ch_layout.nb_channels,
                                     (int) MAX (w->audio_total, 1));
      int capacity = swr_get_out_samples (swr, (int) used) + 64;
      uint8_t **planes = NULL;
      ret = w->fifo == NULL ? AVERROR (ENOMEM)
                            : av_samples_alloc_array_and_samples (
                                &planes, NULL, w->audio->ch_layout.nb_channels, capacity,
                                w->audio->sample_fmt, 0);
      if (ret >= 0)
        {
          /* Sound outside [-1, 1] (Griffin-Lim is not bounded) is clipped, as the WAV writer
           * does, rather than handed to the encoder to wrap or distort. */
          gsize n_values = used * (gsize) a->channels;
          g_autofree float *clipped = g_new (float, MAX (n_values, 1));
          for (gsize i = 0; i < n_values; i++)
            clipped[i] = isnan (a->samples[i]) ? 0.0f : CLAMP (a->samples[i], -1.0f, 1.0f);
          const uint8_t *source = (const uint8_t *) clipped;
          int got = swr_convert (swr, planes, capacity, used > 0 ? &source : NULL, (int) used);
          if (got >= 0)
            ret = av_audio_fifo_write (w->fifo, (void **) planes, got);
          else
            ret = got;
          /* The resampler keeps a few samples of history: drain them. */
          while (ret >= 0 && (got = swr_convert (swr, planes, capacity, NULL, 0)) > 0)
            ret = av_audio_fifo_write (w->fifo, (void **) planes, got);
          if (got < 0)
            ret = got;
        }
      if (planes != NULL)
        av_freep (&planes[0]);
      av_freep (&planes);
    }
  swr_free (&swr);
  if (ret < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "converting the sound for AAC failed");
  return TRUE;
}

static gboolean
open_audio (Mp4Writer *w, GError **error)
{
  const JdAudio *a = w->input->audio;
  const AVCodec *codec = avcodec_find_encoder (AV_CODEC_ID_AAC);
  if (codec == NULL)
    return fail (w, error, JD_MEDIA_ERROR_UNSUPPORTED, 0, "this FFmpeg has no AAC encoder");
  AVCodecContext *c = w->audio = avcodec_alloc_context3 (codec);
  if (c == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no audio encoder");
  c->sample_fmt = codec->sample_fmts != NULL ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  c->sample_rate = aac_rate_for (codec, a->sample_rate);
  av_channel_layout_default (&c->ch_layout, a->channels);
  c->bit_rate = 64000 * a->channels;
  c->time_base = (AVRational) { 1, c->sample_rate };
  if (w->muxer->oformat->flags & AVFMT_GLOBALHEADER)
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int ret = avcodec_open2 (c, codec, NULL);
  if (ret < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret,
                 "the AAC encoder refused %d channels at %d Hz", a->channels, c->sample_rate);

  w->audio_stream = avformat_new_stream (w->muxer, NULL);
  if (w->audio_stream == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no audio stream");
  w->audio_stream->time_base = c->time_base;
  if ((ret = avcodec_parameters_from_context (w->audio_stream->codecpar, c)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "audio stream parameters");

  w->sound = av_frame_alloc ();
  if (w->sound == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no memory for sound");
  w->sound->format = c->sample_fmt;
  w->sound->sample_rate = c->sample_rate;
  w->sound->nb_samples = c->frame_size > 0 ? c->frame_size : 1024;
  if ((ret = av_channel_layout_copy (&w->sound->ch_layout, &c->ch_layout)) < 0
      || (ret = av_frame_get_buffer (w->sound, 0)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "no memory for sound");
  return fill_audio_fifo (w, error);
}

static void
set_tag (AVDictionary **tags, const char *key, const char *value)
{
  if (value != NULL)
    av_dict_set (tags, key, value, 0);
}

/* Numbers are written for machines: g_ascii_* never use the locale's decimal comma. */
static void
set_metadata (Mp4Writer *w)
{
  const JdMediaSettings *s = w->input->settings;
  if (s == NULL)
    return;
  AVDictionary **tags = &w->muxer->metadata;
  char seed[32], steps[16], omega_video[G_ASCII_DTOSTR_BUF_SIZE],
    omega_video_first[G_ASCII_DTOSTR_BUF_SIZE], omega_audio[G_ASCII_DTOSTR_BUF_SIZE];
  g_snprintf (seed, sizeof seed, "%" G_GUINT64_FORMAT, s->seed);
  g_snprintf (steps, sizeof steps, "%d", s->steps);
  g_ascii_dtostr (omega_video, sizeof omega_video, s->omega_video);
  g_ascii_dtostr (omega_video_first, sizeof omega_video_first, s->omega_video_first);
  g_ascii_dtostr (omega_audio, sizeof omega_audio, s->omega_audio);
  set_tag (tags, "jointdit_seed", seed);
  set_tag (tags, "jointdit_steps", steps);
  set_tag (tags, "jointdit_guidance", s->guidance_mode);
  set_tag (tags, "jointdit_omega_video", omega_video);
  set_tag (tags, "jointdit_omega_video_first", omega_video_first);
  set_tag (tags, "jointdit_omega_audio", omega_audio);
  set_tag (tags, "jointdit_model", s->model_name);
  set_tag (tags, "jointdit_model_sha256", s->model_sha256);
  g_autofree char *comment = g_strdup_printf (
    "JointDiT: seed %s, %s steps, guidance %s, omega video %s to %s, audio %s, model %s", seed,
    steps, s->guidance_mode != NULL ? s->guidance_mode : "?", omega_video_first, omega_video,
    omega_audio, s->model_name != NULL ? s->model_name : "?");
  set_tag (tags, "comment", comment);
}

/* Sends frame (NULL flushes) and writes every packet the encoder hands back. */
static int
encode (Mp4Writer *w, AVCodecContext *c, AVStream *stream, AVFrame *frame)
{
  int ret = avcodec_send_frame (c, frame);
  while (ret >= 0)
    {
      ret = avcodec_receive_packet (c, w->packet);
      if (ret == AVERROR (EAGAIN) || ret == AVERROR_EOF)
        return 0;
      if (ret < 0)
        return ret;
      av_packet_rescale_ts (w->packet, c->time_base, stream->time_base);
      w->packet->stream_index = stream->index;
      ret = av_interleaved_write_frame (w->muxer, w->packet);
    }
  return ret;
}

/* Copies frame i into the staging buffer as packed RGB, repeating the last column and row
 * when the encoded size is one larger (odd sizes), then converts it to YUV. */
static int
next_picture (Mp4Writer *w)
{
  const JdImage *f = w->input->frames[w->next_frame];
  gsize out_stride = (gsize) w->width * 3;
  for (int y = 0; y < w->height; y++)
    {
      const guint8 *src = f->pixels + (gsize) MIN (y, f->height - 1) * f->stride;
      guint8 *dst = w->staging + (gsize) y * out_stride;
      for (int x = 0; x < w->width; x++)
        memcpy (dst + 3 * x, src + (gsize) MIN (x, f->width - 1) * (gsize) f->channels, 3);
    }
  int ret = av_frame_make_writable (w->picture);
  if (ret < 0)
    return ret;
  const uint8_t *planes[1] = { w->staging };
  const int strides[1] = { (int) out_stride };
  sws_scale (w->to_yuv, planes, strides, 0, w->height, w->picture->data, w->picture->linesize);
  w->picture->pts = w->next_frame;
  w->next_frame++;
  return 0;
}

static int
next_sound (Mp4Writer *w, gboolean *have_frame)
{
  gint64 left = w->audio_total - w->audio_sent;
  int frame_size = w->audio->frame_size > 0 ? w->audio->frame_size : 1024;
  int n = (int) MIN (left, (gint64) frame_size);
  /* The last frame may be short only where the encoder says so; else pad it with silence. */
  if (!(w->audio->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME))
    n = frame_size;
  *have_frame = left > 0;
  if (left <= 0)
    return 0;
  int ret = av_frame_make_writable (w->sound);
  if (ret < 0)
    return ret;
  w->sound->nb_samples = n;
  /* The FIFO may hold less (short sound: the rest is silence) or a few samples more (the
   * resampler's rounding: never sent). */
  int got = av_audio_fifo_read (w->fifo, (void **) w->sound->data, (int) MIN (left, (gint64) n));
  if (got < 0)
    return got;
  if (got < n)
    av_samples_set_silence (w->sound->data, got, n - got, w->sound->ch_layout.nb_channels,
                            w->sound->format);
  w->sound->pts = w->audio_sent;
  w->audio_sent += MIN ((gint64) n, left);
  return 0;
}

/* Interleaves by presentation time: whichever stream is behind gets the next frame. */
static gboolean
encode_all (Mp4Writer *w, GError **error)
{
  if (w->audio == NULL)
    w->audio_flushed = TRUE;
  while (!w->video_flushed || !w->audio_flushed)
    {
      gboolean video_turn
        = w->audio_flushed
          || (!w->video_flushed
              && av_compare_ts (w->next_frame, w->video->time_base, w->audio_sent,
                                w->audio->time_base)
                   <= 0);
      int ret;
      if (video_turn)
        {
          if (w->next_frame < w->input->n_frames)
            ret = next_picture (w) < 0 ? -1
                                       : encode (w, w->video, w->video_stream, w->picture);
          else
            {
              ret = encode (w, w->video, w->video_stream, NULL);
              w->video_flushed = TRUE;
            }
          if (ret < 0)
            return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "encoding video frame %u failed",
                         w->next_frame);
        }
      else
        {
          gboolean have_frame = FALSE;
          ret = next_sound (w, &have_frame);
          if (ret >= 0)
            ret = encode (w, w->audio, w->audio_stream, have_frame ? w->sound : NULL);
          if (!have_frame)
            w->audio_flushed = TRUE;
          if (ret < 0)
            return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "encoding the sound failed");
        }
    }
  return TRUE;
}

static gboolean
write_file (Mp4Writer *w, const char *temp, GError **error)
{
  int ret = avformat_alloc_output_context2 (&w->muxer, NULL, "mp4", temp);
  if (ret < 0)
    return fail (w, error, JD_MEDIA_ERROR_UNSUPPORTED, ret, "this FFmpeg cannot write MP4");
  if (!open_video (w, error))
    return FALSE;
  if (w->input->audio != NULL && !open_audio (w, error))
    return FALSE;
  set_metadata (w);
  w->packet = av_packet_alloc ();
  if (w->packet == NULL)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, AVERROR (ENOMEM), "no memory for packets");

  if ((ret = avio_open (&w->muxer->pb, temp, AVIO_FLAG_WRITE)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_IO, ret, "cannot open the temporary file “%s”", temp);
  AVDictionary *options = NULL;
  /* faststart: the index (moov) goes first so players can start before the end arrives;
   * use_metadata_tags: keep our own jointdit_* keys, which plain MP4 tags cannot hold. */
  av_dict_set (&options, "movflags", "+faststart+use_metadata_tags", 0);
  ret = avformat_write_header (w->muxer, &options);
  av_dict_free (&options);
  if (ret < 0)
    return fail (w, error, JD_MEDIA_ERROR_ENCODER, ret, "the MP4 header could not be written");
  if (!encode_all (w, error))
    return FALSE;
  if ((ret = av_write_trailer (w->muxer)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_IO, ret, "the MP4 index could not be written");
  if ((ret = avio_closep (&w->muxer->pb)) < 0)
    return fail (w, error, JD_MEDIA_ERROR_IO, ret, "closing the file failed");
  return TRUE;
}

static void
writer_clear (Mp4Writer *w)
{
  if (w->muxer != NULL && w->muxer->pb != NULL)
    avio_closep (&w->muxer->pb);
  avformat_free_context (w->muxer);
  avcodec_free_context (&w->video);
  avcodec_free_context (&w->audio);
  sws_freeContext (w->to_yuv);
  av_frame_free (&w->picture);
  av_frame_free (&w->sound);
  av_packet_free (&w->packet);
  if (w->fifo != NULL)
    av_audio_fifo_free (w->fifo);
  g_free (w->staging);
}

gboolean
jd_mp4_write (const char *path, const JdMp4Input *input, GError **error)
{
  if (!check_input (path, input, error))
    return FALSE;
  quiet_ffmpeg_once ();
  g_autofree char *temp = jd_media_temp_file_for (path, "video", error);
  if (temp == NULL)
    return FALSE;
  Mp4Writer w = { .path = path, .input = input };
  gboolean ok = write_file (&w, temp, error);
  writer_clear (&w);
  if (!ok)
    {
      g_unlink (temp);
      return FALSE;
    }
  return jd_media_commit_temp (temp, path, "video", error);
}
