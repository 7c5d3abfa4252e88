/* jd-mp4-read.c — decoding a video file's frames and sound with FFmpeg. */
#include "jd-mp4-read.h"

#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "jd-media-error.h"

typedef struct
{
  const char      *path;
  AVFormatContext *demuxer;
  AVCodecContext  *video, *sound;
  int              video_index, sound_index;
  struct SwsContext *to_rgb;
  SwrContext      *to_mono;
  GPtrArray       *frames;   /* JdImage */
  GArray          *samples;  /* float */
  int              sample_rate;
} Reader;

void
jd_video_clip_free (JdVideoClip *clip)
{
  if (!clip)
    return;
  for (guint i = 0; i < clip->n_frames; i++)
    jd_image_free (clip->frames[i]);
  g_free (clip->frames);
  jd_audio_free (clip->audio);
  g_free (clip);
}

static void
reader_clear (Reader *r)
{
  avcodec_free_context (&r->video);
  avcodec_free_context (&r->sound);
  avformat_close_input (&r->demuxer);
  sws_freeContext (r->to_rgb);
  swr_free (&r->to_mono);
  if (r->frames)
    g_ptr_array_free (r->frames, TRUE);
  if (r->samples)
    g_array_free (r->samples, TRUE);
}

static gboolean
fail (GError **error, int code, const char *path, const char *what, int ret)
{
  char text[AV_ERROR_MAX_STRING_SIZE] = "";
  if (ret < 0)
    av_strerror (ret, text, sizeof text);
  g_set_error (error, JD_MEDIA_ERROR, code, "Could not read the video “%s”: %s%s%s%s", path,
               what, ret < 0 ? " (" : "", text, ret < 0 ? ")" : "");
  return FALSE;
}

static gboolean
open_decoder (Reader *r, int index, AVCodecContext **context, GError **error)
{
  AVStream *stream = r->demuxer->streams[index];
  const AVCodec *codec = avcodec_find_decoder (stream->codecpar->codec_id);
  if (!codec)
    return fail (error, JD_MEDIA_ERROR_UNSUPPORTED, r->path,
                 "this FFmpeg has no decoder for one of its streams", 0);
  *context = avcodec_alloc_context3 (codec);
  int ret = AVERROR (ENOMEM);
  if (!*context || (ret = avcodec_parameters_to_context (*context, stream->codecpar)) < 0
      || (ret = avcodec_open2 (*context, codec, NULL)) < 0)
    return fail (error, JD_MEDIA_ERROR_UNSUPPORTED, r->path, "a decoder would not open", ret);
  return TRUE;
}

static gboolean
take_video_frame (Reader *r, AVFrame *frame, GError **error)
{
  if (r->frames->len >= JD_MP4_READ_MAX_FRAMES)
    return fail (error, JD_MEDIA_ERROR_TOO_LARGE, r->path, "it has too many frames", 0);
  r->to_rgb = sws_getCachedContext (r->to_rgb, frame->width, frame->height, frame->format,
                                    frame->width, frame->height, AV_PIX_FMT_RGB24,
                                    SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
  if (!r->to_rgb)
    return fail (error, JD_MEDIA_ERROR_UNSUPPORTED, r->path, "its pixel format cannot be "
                 "converted to RGB", 0);
  if (r->frames->len > 0)
    {
      JdImage *first = g_ptr_array_index (r->frames, 0);
      if (first->width != frame->width || first->height != frame->height)
        return fail (error, JD_MEDIA_ERROR_UNSUPPORTED, r->path, "its frame size changes", 0);
    }
  JdImage *image = jd_image_new (frame->width, frame->height, 3, error);
  if (!image)
    return FALSE;
  g_ptr_array_add (r->frames, image);
  uint8_t *planes[4] = { image->pixels };
  int strides[4] = { (int) image->stride };
  sws_scale (r->to_rgb, (const uint8_t *const *) frame->data, frame->linesize, 0, frame->height,
             planes, strides);
  return TRUE;
}

static gboolean
take_audio_frame (Reader *r, AVFrame *frame, GError **error)
{
  if (!r->to_mono)
    {
      AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
      int ret = swr_alloc_set_opts2 (&r->to_mono, &mono, AV_SAMPLE_FMT_FLT, frame->sample_rate,
                                     &frame->ch_layout, frame->format, frame->sample_rate, 0,
                                     NULL);
      if (ret < 0 || (ret = swr_init (r->to_mono)) < 0)
        return fail (error, JD_MEDIA_ERROR_UNSUPPORTED, r->path,
                     "its sound cannot be converted to mono", ret);
      r->sample_rate = frame->sample_rate;
    }
  int room = swr_get_out_samples (r->to_mono, frame->nb_samples);
  guint at = r->samples->len;
  g_array_set_size (r->samples, at + MAX (room, 0));
  uint8_t *out = (uint8_t *) &g_array_index (r->samples, float, at);
  int got = swr_convert (r->to_mono, &out, room, (const uint8_t **) frame->extended_data,
                         frame->nb_samples);
  if (got < 0)
    return fail (error, JD_MEDIA_ERROR_DAMAGED, r->path, "its sound does not convert", got);
  g_array_set_size (r->samples, at + got);
  return TRUE;
}

static gboolean
drain (Reader *r, AVCodecContext *decoder, AVFrame *frame, GError **error)
{
  for (;;)
    {
      int ret = avcodec_receive_frame (decoder, frame);
      if (ret == AVERROR (EAGAIN) || ret == AVERROR_EOF)
        return TRUE;
      if (ret < 0)
        return fail (error, JD_MEDIA_ERROR_DAMAGED, r->path, "a frame does not decode", ret);
      gboolean ok = decoder == r->video ? take_video_frame (r, frame, error)
                                        : take_audio_frame (r, frame, error);
      av_frame_unref (frame);
      if (!ok)
        return FALSE;
    }
}

static gboolean
read_all (Reader *r, GError **error)
{
  int ret = avformat_open_input (&r->demuxer, r->path, NULL, NULL);
  if (ret < 0)
    return fail (error, ret == AVERROR (ENOENT) ? JD_MEDIA_ERROR_IO : JD_MEDIA_ERROR_DAMAGED,
                 r->path, ret == AVERROR (ENOENT) ? "there is no such file"
                                                  : "it is not a video file FFmpeg can open", ret);
  if ((ret = avformat_find_stream_info (r->demuxer, NULL)) < 0)
    return fail (error, JD_MEDIA_ERROR_DAMAGED, r->path, "its streams cannot be identified", ret);
  r->video_index = av_find_best_stream (r->demuxer, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (r->video_index < 0)
    return fail (error, JD_MEDIA_ERROR_UNSUPPORTED, r->path, "it has no video stream", 0);
  r->sound_index = av_find_best_stream (r->demuxer, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
  if (!open_decoder (r, r->video_index, &r->video, error))
    return FALSE;
  if (r->sound_index >= 0 && !open_decoder (r, r->sound_index, &r->sound, error))
    return FALSE;

  AVPacket *packet = av_packet_alloc ();
  AVFrame *frame = av_frame_alloc ();
  gboolean ok = packet && frame;
  while (ok && (ret = av_read_frame (r->demuxer, packet)) >= 0)
    {
      AVCodecContext *decoder = packet->stream_index == r->video_index ? r->video
                                : packet->stream_index == r->sound_index ? r->sound : NULL;
      if (decoder)
        {
          int sent = avcodec_send_packet (decoder, packet);
          if (sent < 0 && sent != AVERROR (EAGAIN))
            ok = fail (error, JD_MEDIA_ERROR_DAMAGED, r->path, "a packet does not decode", sent);
          else
            ok = drain (r, decoder, frame, error);
        }
      av_packet_unref (packet);
    }
  if (ok && ret < 0 && ret != AVERROR_EOF)
    ok = fail (error, JD_MEDIA_ERROR_DAMAGED, r->path, "it is cut short or corrupt", ret);
  for (int i = 0; ok && i < 2; i++)
    {
      AVCodecContext *decoder = i == 0 ? r->video : r->sound;
      if (decoder)
        {
          avcodec_send_packet (decoder, NULL);
          ok = drain (r, decoder, frame, error);
        }
    }
  av_packet_free (&packet);
  av_frame_free (&frame);
  if (ok && r->frames->len == 0)
    ok = fail (error, JD_MEDIA_ERROR_DAMAGED, r->path, "its video stream holds no frame", 0);
  return ok;
}

JdVideoClip *
jd_video_clip_read (const char *path, GError **error)
{
  av_log_set_level (MIN (av_log_get_level (), AV_LOG_ERROR));
  Reader r = { .path = path, .video_index = -1, .sound_index = -1 };
  r.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) jd_image_free);
  r.samples = g_array_new (FALSE, FALSE, sizeof (float));
  if (!read_all (&r, error))
    {
      reader_clear (&r);
      return NULL;
    }
  AVStream *stream = r.demuxer->streams[r.video_index];
  AVRational rate = stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  JdVideoClip *clip = g_new0 (JdVideoClip, 1);
  clip->fps = rate.num > 0 && rate.den > 0 ? av_q2d (rate) : 0;
  clip->n_frames = r.frames->len;
  clip->frames = (JdImage **) g_ptr_array_steal (r.frames, NULL);
  if (r.sample_rate > 0)
    {
      clip->audio = jd_audio_new (r.sample_rate, 1, MAX (r.samples->len, 1), NULL);
      if (clip->audio)
        {
          clip->audio->n_frames = r.samples->len;
          memcpy (clip->audio->samples, r.samples->data, sizeof (float) * r.samples->len);
        }
    }
  reader_clear (&r);
  return clip;
}
