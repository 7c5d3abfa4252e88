/* jd-picture-end.c — following PNG, JPEG and WebP containers to their last byte. */
#include <string.h>

#include "jd-picture-end.h"

enum { KIND_UNDECIDED, KIND_OTHER, KIND_PNG, KIND_JPEG, KIND_WEBP };

enum
{
  STATE_SKIP,           /* skipping `skip` bytes, then after_skip */
  STATE_PNG_CHUNK,      /* reading a chunk's length and type */
  STATE_JPEG_MARKER,    /* between segments: expecting FF */
  STATE_JPEG_CODE,      /* after FF: the marker code (FF is fill) */
  STATE_JPEG_LENGTH,    /* a segment's two-byte length */
  STATE_JPEG_SCAN,      /* entropy-coded data after SOS */
  STATE_JPEG_SCAN_FF,   /* FF inside a scan: stuffing, restart marker or the next marker */
  STATE_DONE,           /* the container ended; the rest is ignored */
};

void
jd_picture_end_init (JdPictureEnd *end)
{
  memset (end, 0, sizeof *end);
}

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static void
skip_then (JdPictureEnd *end, guint64 count, int next)
{
  end->skip = count;
  end->after_skip = next;
  end->state = count > 0 ? STATE_SKIP : next;
}

/* Collects up to n bytes of a field; TRUE when it is complete. */
static gboolean
collect (JdPictureEnd *end, int n, const guint8 *data, gsize length, gsize *i)
{
  while (end->have_field < n && *i < length)
    end->field[end->have_field++] = data[(*i)++];
  if (end->have_field < n)
    return FALSE;
  end->have_field = 0;
  return TRUE;
}

static void
walk (JdPictureEnd *end, const guint8 *data, gsize length)
{
  gsize i = 0;
  while (i < length && end->state != STATE_DONE)
    switch (end->state)
      {
      case STATE_SKIP:
        {
          gsize n = (gsize) MIN (end->skip, (guint64) (length - i));
          i += n;
          end->skip -= n;
          if (end->skip == 0)
            end->state = end->after_skip;
          break;
        }
      case STATE_PNG_CHUNK:
        if (collect (end, 8, data, length, &i))
          {
            gboolean last = memcmp (end->field + 4, "IEND", 4) == 0;
            /* data + CRC; the end counts once the IEND chunk is whole */
            skip_then (end, (guint64) be32 (end->field) + 4, last ? STATE_DONE : STATE_PNG_CHUNK);
          }
        break;
      case STATE_JPEG_MARKER:
        if (data[i++] == 0xff)
          end->state = STATE_JPEG_CODE;
        break;
      case STATE_JPEG_CODE:
        {
          guint8 code = data[i++];
          if (code == 0xd9)
            end->state = STATE_DONE;
          else if (code == 0xff)
            ; /* fill byte */
          else if (code == 0x01 || code == 0xd8 || (code >= 0xd0 && code <= 0xd7))
            end->state = STATE_JPEG_MARKER; /* markers without a length */
          else
            {
              end->marker = code;
              end->state = STATE_JPEG_LENGTH;
            }
          break;
        }
      case STATE_JPEG_LENGTH:
        if (collect (end, 2, data, length, &i))
          {
            guint segment = (guint) end->field[0] << 8 | end->field[1];
            int next = end->marker == 0xda ? STATE_JPEG_SCAN : STATE_JPEG_MARKER;
            skip_then (end, segment >= 2 ? segment - 2 : 0, next);
          }
        break;
      case STATE_JPEG_SCAN:
        {
          const guint8 *ff = memchr (data + i, 0xff, length - i);
          if (ff == NULL)
            i = length;
          else
            {
              i = (gsize) (ff - data) + 1;
              end->state = STATE_JPEG_SCAN_FF;
            }
          break;
        }
      case STATE_JPEG_SCAN_FF:
        {
          guint8 code = data[i++];
          if (code == 0x00 || (code >= 0xd0 && code <= 0xd7))
            end->state = STATE_JPEG_SCAN; /* stuffed FF or restart marker */
          else if (code == 0xd9)
            end->state = STATE_DONE;
          else if (code != 0xff)
            {
              end->marker = code; /* DHT, SOS, DRI … between progressive scans */
              end->state = STATE_JPEG_LENGTH;
            }
          break;
        }
      default:
        g_assert_not_reached ();
      }
}

void
jd_picture_end_feed (JdPictureEnd *end, const guint8 *data, gsize length)
{
  if (end->kind == KIND_UNDECIDED)
    {
      gsize take = MIN (length, sizeof end->head - (gsize) end->have_head);
      memcpy (end->head + end->have_head, data, take);
      end->have_head += (int) take;
      data += take;
      length -= take;
      if (end->have_head < (int) sizeof end->head)
        return;
      const guint8 *h = end->head;
      if (memcmp (h, "\x89PNG\r\n\x1a\n", 8) == 0)
        {
          end->kind = KIND_PNG;
          skip_then (end, 8, STATE_PNG_CHUNK);
        }
      else if (h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
        {
          end->kind = KIND_JPEG;
          skip_then (end, 2, STATE_JPEG_MARKER);
        }
      else if (memcmp (h, "RIFF", 4) == 0 && memcmp (h + 8, "WEBP", 4) == 0)
        {
          end->kind = KIND_WEBP;
          guint64 riff = (guint64) h[4] | (guint64) h[5] << 8 | (guint64) h[6] << 16
                         | (guint64) h[7] << 24;
          skip_then (end, riff + 8, STATE_DONE);
        }
      else
        {
          end->kind = KIND_OTHER;
          return;
        }
      walk (end, end->head, sizeof end->head);
    }
  if (end->kind != KIND_OTHER)
    walk (end, data, length);
}

gboolean
jd_picture_end_cut_short (const JdPictureEnd *end)
{
  return (end->kind == KIND_PNG || end->kind == KIND_JPEG || end->kind == KIND_WEBP)
         && end->state != STATE_DONE;
}
