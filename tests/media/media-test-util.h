/* media-test-util.h — what the media tests share: scratch folders and fixture paths. */
#pragma once

#include <glib.h>

#include "jd-image.h"

G_BEGIN_DECLS

/* A fresh empty folder under the system temporary folder; remove it with media_test_rmtree. */
char    *media_test_scratch (void);
/* Removes a folder and everything below it. */
void     media_test_rmtree (const char *path);
/* The names in folder, sorted, as one space-separated string ("" when empty). */
char    *media_test_listing (const char *folder);
/* The path of a committed fixture in tests/media/fixtures. */
char    *media_test_fixture (const char *name);
/* Asserts that error is set in the media domain with code and that its message names name. */
void     media_test_assert_error_names (const GError *error, int code, const char *name);
/* The pixel at (x, y) of an RGB/RGBA image. */
const guint8 *media_test_pixel (const JdImage *image, int x, int y);

G_END_DECLS
