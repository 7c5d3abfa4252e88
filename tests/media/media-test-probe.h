/* media-test-probe.h — what ffprobe says of a written file, for the MP4 and export tests. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* ffprobe's JSON (-show_streams -show_format) for path, or NULL with the test marked skipped
 * when ffprobe is not installed. count_frames adds -count_frames: every video stream then has
 * nb_read_frames, at the cost of decoding the whole file. Fails the test when ffprobe cannot
 * read path. */
JsonNode   *media_test_probe (const char *path, gboolean count_frames);
/* The first stream whose codec_type is type ("video", "audio"), or NULL. */
JsonObject *media_test_probe_stream (JsonNode *root, const char *type);
/* A numeric member that ffprobe writes as a string ("duration", "sample_rate", "nb_frames"). */
double      media_test_probe_number (JsonObject *object, const char *name);

G_END_DECLS
