/* jds-mailbox.h — a one-slot mailbox from the sampling thread to the main loop.
 *
 * The worker posts after every step; the window reads on its frame clock. Each slot holds only
 * the newest message: a preview posted before the previous one was read replaces it, so a slow
 * main loop skips pictures instead of queueing them, and the sampler never waits for drawing. */
#pragma once

#include "jointdit.h"
#include "jds-frames.h"

G_BEGIN_DECLS

typedef struct _JdsMailbox JdsMailbox;

JdsMailbox *jds_mailbox_new   (void);
void        jds_mailbox_free  (JdsMailbox       *mailbox);

/* Worker side: thread-safe, never blocks for long (a mutex around pointer swaps). */
void        jds_mailbox_post_progress (JdsMailbox       *mailbox,
                                       const JdProgress *progress);
void        jds_mailbox_post_preview  (JdsMailbox       *mailbox,
                                       JdsFrames        *frames);

/* Main loop side: TRUE and the newest progress when one arrived since the last take. */
gboolean    jds_mailbox_take_progress (JdsMailbox       *mailbox,
                                       JdProgress       *progress);
/* The newest unread preview (owned by the caller), or NULL. */
JdsFrames  *jds_mailbox_take_preview  (JdsMailbox       *mailbox);
/* How many previews were replaced before being read (for tests and logs). */
guint       jds_mailbox_get_dropped   (JdsMailbox       *mailbox);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JdsMailbox, jds_mailbox_free)

G_END_DECLS
