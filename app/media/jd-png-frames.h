/* jd-png-frames.h — a video as a folder of PNG files 00000.png, 00001.png, …
 *
 * All frames are written into a fresh temporary folder beside the target (FOLDER.XXXXXX.tmp)
 * which is renamed to FOLDER only when every frame is on disk; on any failure the temporary
 * folder is removed. So FOLDER either holds the complete set or is not created. FOLDER must not
 * exist yet or be an empty folder (a set of frames is never mixed with older files). */
#pragma once

#include "jd-image.h"

G_BEGIN_DECLS

gboolean jd_png_frames_write (const char     *folder,
                              JdImage *const *frames,
                              guint           n_frames,
                              GError        **error);

G_END_DECLS
