/* jds-mailbox.c — newest-wins slots for progress and previews. */
#include "jds-mailbox.h"

struct _JdsMailbox
{
  GMutex      lock;
  gboolean    has_progress;
  JdProgress  progress;
  JdsFrames  *preview;
  guint       dropped;
};

JdsMailbox *
jds_mailbox_new (void)
{
  JdsMailbox *self = g_new0 (JdsMailbox, 1);
  g_mutex_init (&self->lock);
  return self;
}

void
jds_mailbox_free (JdsMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  g_clear_pointer (&mailbox->preview, jds_frames_unref);
  g_mutex_clear (&mailbox->lock);
  g_free (mailbox);
}

void
jds_mailbox_post_progress (JdsMailbox       *mailbox,
                           const JdProgress *progress)
{
  g_mutex_lock (&mailbox->lock);
  mailbox->progress = *progress;
  mailbox->has_progress = TRUE;
  g_mutex_unlock (&mailbox->lock);
}

void
jds_mailbox_post_preview (JdsMailbox *mailbox,
                          JdsFrames  *frames)
{
  JdsFrames *unread;
  g_mutex_lock (&mailbox->lock);
  unread = mailbox->preview;
  mailbox->preview = jds_frames_ref (frames);
  if (unread != NULL)
    mailbox->dropped++;
  g_mutex_unlock (&mailbox->lock);
  /* Freed outside the lock: the main loop never waits on a free. */
  g_clear_pointer (&unread, jds_frames_unref);
}

gboolean
jds_mailbox_take_progress (JdsMailbox *mailbox,
                           JdProgress *progress)
{
  gboolean had;
  g_mutex_lock (&mailbox->lock);
  had = mailbox->has_progress;
  if (had)
    *progress = mailbox->progress;
  mailbox->has_progress = FALSE;
  g_mutex_unlock (&mailbox->lock);
  return had;
}

JdsFrames *
jds_mailbox_take_preview (JdsMailbox *mailbox)
{
  JdsFrames *frames;
  g_mutex_lock (&mailbox->lock);
  frames = g_steal_pointer (&mailbox->preview);
  g_mutex_unlock (&mailbox->lock);
  return frames;
}

guint
jds_mailbox_get_dropped (JdsMailbox *mailbox)
{
  guint dropped;
  g_mutex_lock (&mailbox->lock);
  dropped = mailbox->dropped;
  g_mutex_unlock (&mailbox->lock);
  return dropped;
}
