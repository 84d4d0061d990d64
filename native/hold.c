/*
 * Holding Node's loop: while libuv has nothing to do, the engine waits in its own epoll fd with
 * libuv's backend fd registered in it (tag TAG_LOOP), instead of returning to libuv, which would
 * epoll_pwait on its backend fd only to learn that the engine's fd is ready again, and then the
 * engine epoll_waits on its own. One wait per wake-up instead of two.
 *
 * The hold ends, and libuv gets its turn, as soon as libuv could have work:
 *  - its backend fd is ready (any libuv fd: sockets, signals' pipe, async wake-ups, threadpool);
 *  - uv_backend_timeout says 0 or the wait timed out (a timer is due, an idle handle, pending
 *    callbacks, closing handles), recomputed after every batch with the loop's time updated;
 *  - uv_backend_timeout is also 0 while libuv has watchers queued that it has not yet put in its
 *    epoll set (uv__io_start only queues them, and they would not wake the hold): so a batch
 *    whose JavaScript started or changed a watcher (a socket opened, a read resumed, a write
 *    that must wait) gives the loop back, and one whose JavaScript did not (a pick, the records)
 *    goes on holding. That is libuv's own rule for embedders that poll its backend fd; give()
 *    checks it on the running libuv the first time it restarts the poll handle (a queued watcher
 *    must turn a non-zero timeout to 0), and until it has, every batch that ran JS gives back.
 *    Node's unref'd native immediates wait for the hold to end: at most HOLD_MAX_BATCHES
 *    batches, or the next timer;
 *  - the engine was destroyed, or has no fd left (it no longer keeps the loop alive).
 * A hold costs 4 epoll_ctl (the engine's fd out of libuv's set and back, libuv's in and out of
 * the engine's), so one that served fewer than HOLD_WORTH batches cost more than it saved (new
 * connections call JS on nearly every batch): the next 1, 2, 4 … HOLD_BACKOFF_MAX wake-ups then
 * do not hold, and a hold that pays resets that.
 * While held, the engine's uv_poll_t is stopped (uv_poll_stop takes the engine's fd out of
 * libuv's epoll set at once; with it in, adding libuv's fd to the engine's would be a cycle,
 * ELOOP), and a ref'd uv_prepare_t `keep` stands in for it so uv_backend_timeout still sees an
 * active handle. Its callback never runs: the hold gives back before libuv's next poll.
 *
 * fd ownership: none. libuv's backend fd is only registered in the engine's epoll fd for the
 * hold and taken out before it returns.
 */
#include <errno.h>
#include <sys/epoll.h>
#include "engine.h"

static void never(uv_prepare_t *p) { (void)p; }

int hold_init(struct engine *e) {
  e->keep = xmalloc(e, sizeof *e->keep);
  if (!e->keep) return -ENOMEM;
  uv_prepare_init(e->loop, e->keep);
  e->keep->data = e;
  e->handles_open++;
  return 0;
}

/* A batch ran JS: may the engine go on holding? Once give() has seen this libuv's
 * uv_backend_timeout say 0 for a watcher just started: then the recomputed timeout tells. */
int hold_after_js(struct engine *e) { return e->hold_js == 1; }

/* libuv may have work now: its fd out of ours, the engine's poll handle back on libuv's loop. */
static void give(struct engine *e) {
  struct epoll_event unused = { 0 };
  epoll_ctl(e->epfd, EPOLL_CTL_DEL, uv_backend_fd(e->loop), &unused);
  if (!e->destroyed) {
    /* the keep handle still active: with no active handle at all the timeout would read 0 */
    int before = e->hold_js < 0 ? uv_backend_timeout(e->loop) : 0;
    uv_poll_start(e->poll, UV_READABLE, engine_on_poll);   /* queues its watcher for libuv's next poll */
    if (before != 0) e->hold_js = uv_backend_timeout(e->loop) == 0;
  }
  uv_prepare_stop(e->keep);
  engine_update_ref(e);
}

/* Called after a batch that ran no JavaScript, or ran some that left libuv nothing to register
 * (engine_on_poll). */
void hold_loop(struct engine *e) {
  if (!e->hold || !e->keep || e->destroyed || e->st.fds <= 0) return;
  if (e->hold_skip) {
    e->hold_skip--;
    e->st.holds_skipped++;
    return;
  }
  uv_update_time(e->loop);
  int timeout = uv_backend_timeout(e->loop);
  if (timeout == 0) return;
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_LOOP };
  uv_prepare_start(e->keep, never);
  uv_poll_stop(e->poll);
  if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, uv_backend_fd(e->loop), &ev) < 0) {
    e->hold = 0;   /* cannot nest here (ENOMEM, ELOOP): never try again */
    give(e);
    return;
  }
  e->st.holds++;
  int held = 0;
  while (held < HOLD_MAX_BATCHES) {
    double scopes = e->st.js_scopes;
    int r = engine_batch(e, timeout);
    if (r != BATCH_ENGINE || e->destroyed || e->st.fds <= 0) break;
    if (e->st.js_scopes != scopes) {
      if (!hold_after_js(e)) break;
      e->st.held_js++;
    }
    held++;
    e->st.held_batches++;
    uv_update_time(e->loop);
    timeout = uv_backend_timeout(e->loop);
    if (timeout == 0) break;
  }
  give(e);
  if (held >= HOLD_WORTH) e->hold_backoff = 0;
  else {
    e->hold_backoff = e->hold_backoff ? e->hold_backoff * 2 : 1;
    if (e->hold_backoff > HOLD_BACKOFF_MAX) e->hold_backoff = HOLD_BACKOFF_MAX;
    e->hold_skip = e->hold_backoff;
  }
}
