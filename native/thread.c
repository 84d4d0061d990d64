/*
 * --threads N: N - 1 forwarding threads next to the JS thread. The JS thread's engine still
 * accepts, asks JS for the pick (synchronously, so client tracking, counts, limits, blacklist and
 * health stay JS's one set of tables), connects and fails over; once a connect has completed it
 * hands the connection to a worker, which moves its bytes (pump, drain, half-close, fastclose,
 * idle timeout) without JS, and hands it back to be closed and recorded by the JS thread.
 *
 * fd ownership across threads (one owner at a time, the hand-over is the synchronisation):
 *  - JS thread: listeners, connecting sockets, and every close(): a data fd is created and closed
 *    on the JS thread only (engine_close_fd or engine_close_et, main engine).
 *  - adopt (JS thread): EPOLL_CTL_DEL of cfd and sfd from the main epoll fd, owner = 1 (the
 *    slot's conn_thr, engine.h: what only --threads needs is kept apart from struct conn, in an
 *    array made by threads_start), then the conn goes into the worker's inbox under its mutex,
 *    and an eventfd write wakes it. From then on only the worker reads or writes c (except
 *    close_req, c->active_ms and the pending lengths: atomics), and only the worker's epoll fd
 *    names it.
 *  - hand back (worker): EPOLL_CTL_DEL of both fds from the worker's epoll fd, its pending
 *    buffers freed, c onto the worker's batch list; at the end of the worker's batch (later
 *    events of the batch may name c) the list goes to the engine's done list under done_mu and
 *    uv_async_send wakes the JS thread, which sets owner = -1 and runs conn_close (close, record).
 *  - Shared memory: a worker writes the live words of the slots it owns (bytes, state), as the
 *    JS thread does for its own; the record is written by the JS thread after the hand back.
 *  - Each worker owns its epoll fd, its eventfd and its IO_BUF_SIZE buffer; the JS thread closes them
 *    after pthread_join (threads_stop), which is also when the conns a worker still held return.
 *
 * Lengths: as tcp.c (the worker runs tcp.c's forwarding with its own engine struct).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include "engine.h"

struct worker {
  struct engine w;              /* the worker's own engine: epfd, iobuf, stats; live is shared */
  struct engine *main;
  pthread_t tid;
  int evfd, started;
  pthread_mutex_t mu;           /* guards inbox */
  struct conn *inbox;           /* adopted, not yet registered (via T(c)->next) */
  int wake_close;               /* atomic: a close request is set on some owned conn */
  int stop;                     /* atomic */
  struct conn *owned;           /* worker-local list (T(c)->wnext / wprev) */
  struct conn *back;            /* handed back during this batch (via T(c)->next) */
  uint64_t last_sweep;
};

static struct watch wake_watch = { 0 };
#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

/* c's --threads fields; e is the JS thread's engine or a worker's (which shares its thr) */
#define T(e, c) (&(e)->thr[conn_slot(c)])

static void wake(int fd) { uint64_t one = 1; ssize_t r = write(fd, &one, sizeof one); (void)r; }

static void owned_remove(struct worker *k, struct conn *c) {
  struct conn_thr *t = T(&k->w, c);
  if (t->wprev) T(&k->w, t->wprev)->wnext = t->wnext; else k->owned = t->wnext;
  if (t->wnext) T(&k->w, t->wnext)->wprev = t->wprev;
  t->wnext = t->wprev = NULL;
}

/* tcp.c's conn_close on a worker's engine: give c back to the JS thread at the end of the batch. */
void worker_handback(struct engine *we, struct conn *c, int why, int err) {
  struct worker *k = we->wk;
  c->flags |= C_DEAD;   /* for the rest of this batch; the JS thread clears it */
  owned_remove(k, c);
  epoll_ctl(we->epfd, EPOLL_CTL_DEL, c->cfd, NULL);
  epoll_ctl(we->epfd, EPOLL_CTL_DEL, c->sfd, NULL);
  pending_release(we, c);
  struct conn_thr *t = T(we, c);
  t->hb_why = (uint8_t)why;
  t->hb_err = err;
  t->next = k->back;
  k->back = c;
}

static void batch_done(struct worker *k) {
  if (!k->back) return;
  struct engine *e = k->main;
  pthread_mutex_lock(&e->done_mu);
  struct conn *tail = k->back;
  while (T(e, tail)->next) tail = T(e, tail)->next;
  T(e, tail)->next = e->done;
  e->done = k->back;
  pthread_mutex_unlock(&e->done_mu);
  k->back = NULL;
  uv_async_send(e->async);
}

static void take_inbox(struct worker *k, int stopping) {
  pthread_mutex_lock(&k->mu);
  struct conn *c = k->inbox;
  k->inbox = NULL;
  pthread_mutex_unlock(&k->mu);
  while (c) {
    struct conn_thr *t = T(&k->w, c);
    struct conn *next = t->next;
    t->next = NULL;
    if (stopping) {   /* never registered here: straight back */
      t->hb_why = WHY_SHUTDOWN; t->hb_err = 0;
      t->next = k->back; k->back = c;
      c = next;
      continue;
    }
    t->wnext = k->owned; t->wprev = NULL;
    if (k->owned) T(&k->w, k->owned)->wprev = c;
    k->owned = c;
    if (engine_watch(&k->w, c->cfd, &c->wc, CONN_EVENTS) < 0 || engine_watch(&k->w, c->sfd, &c->ws, CONN_EVENTS) < 0)
      worker_handback(&k->w, c, WHY_ERROR, errno);
    else tcp_resume(&k->w, c);   /* the edges may have passed while the conn moved */
    c = next;
  }
}

/* close requests from the JS thread, and the idle timeout of the conns this worker owns */
static void sweep(struct worker *k, int closes) {
  uint64_t now = engine_now(&k->w);
  uint64_t idle = __atomic_load_n(&k->main->idle_timeout_ms, __ATOMIC_RELAXED);
  if (!closes && (!idle || now - k->last_sweep < 100)) return;
  k->last_sweep = now;
  for (struct conn *c = k->owned, *next; c; c = next) {
    next = T(&k->w, c)->wnext;
    int req = __atomic_load_n(&T(&k->w, c)->close_req, __ATOMIC_ACQUIRE);
    if (req) conn_close(&k->w, c, req, 0);
    else if (idle && now - __atomic_load_n(&c->active_ms, __ATOMIC_RELAXED) >= idle) conn_close(&k->w, c, WHY_IDLE, 0);
  }
}

static void *worker_main(void *arg) {
  struct worker *k = arg;
  struct epoll_event ev[EPOLL_BATCH];
  pthread_setname_np(pthread_self(), "pen-fwd");   /* ps -L, /proc/PID/task/N/comm */
  while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
    int n = epoll_wait(k->w.epfd, ev, EPOLL_BATCH, 100);
    int closes = __atomic_exchange_n(&k->wake_close, 0, __ATOMIC_ACQ_REL);
    k->w.in_batch++;
    for (int i = 0; i < n; i++) {
      struct watch *w = ev[i].data.ptr;
      if (w == &wake_watch) { uint64_t v; ssize_t r = read(k->evfd, &v, sizeof v); (void)r; take_inbox(k, 0); continue; }
      if (w->kind == W_CLIENT) tcp_on_event(&k->w, (struct conn *)((char *)w - offsetof(struct conn, wc)), 0, ev[i].events);
      else if (w->kind == W_SERVER) tcp_on_event(&k->w, (struct conn *)((char *)w - offsetof(struct conn, ws)), 1, ev[i].events);
    }
    sweep(k, closes);
    k->w.in_batch--;
    batch_done(k);
  }
  return NULL;
}

/* JS thread, from on_connect_done: give c to the next worker. 0, or -1 to keep it here. */
int threads_adopt(struct engine *e, struct conn *c) {
  if (!e->nworkers || e->destroyed) return -1;
  struct worker *k = e->workers[e->next_worker++ % e->nworkers];
  epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->cfd, NULL);
  epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->sfd, NULL);
  T(e, c)->owner = 1;
  T(e, c)->worker = k;
  pthread_mutex_lock(&k->mu);
  T(e, c)->next = k->inbox;
  k->inbox = c;
  pthread_mutex_unlock(&k->mu);
  wake(k->evfd);
  return 0;
}

/* JS thread: close(slot) of a conn a worker owns; its record follows the hand back. */
void threads_request_close(struct engine *e, struct conn *c, int why) {
  struct worker *k = T(e, c)->worker;
  uint8_t zero = 0;
  if (!__atomic_compare_exchange_n(&T(e, c)->close_req, &zero, (uint8_t)why, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) return;
  __atomic_store_n(&k->wake_close, 1, __ATOMIC_RELEASE);
  wake(k->evfd);
}

/* JS thread (uv_async, or threads_stop): close and record what the workers handed back. */
void threads_collect(struct engine *e) {
  if (!e->done_mu_init) return;
  pthread_mutex_lock(&e->done_mu);
  struct conn *c = e->done;
  e->done = NULL;
  pthread_mutex_unlock(&e->done_mu);
  while (c) {
    struct conn_thr *t = T(e, c);
    struct conn *next = t->next;
    int why = t->hb_why, err = t->hb_err;
    memset(t, 0, sizeof *t);   /* the JS thread's again; close_req cleared for the slot's next conn */
    c->flags &= ~C_DEAD;
    conn_close(e, c, why, err);
    c = next;
  }
}

int threads_start(struct engine *e, int n) {
  if (n <= 1) return 0;
  e->thr = slot_map(e, (size_t)e->nslots * sizeof *e->thr);
  e->workers = xcalloc(e, (size_t)(n - 1) * sizeof *e->workers);
  if (!e->thr || !e->workers) return -ENOMEM;
  e->workers_cap = n - 1;
  e->async = xmalloc(e, sizeof *e->async);
  if (!e->async) return -ENOMEM;
  uv_async_init(e->loop, e->async, engine_on_async);
  e->async->data = e;
  e->handles_open++;
  uv_unref((uv_handle_t *)e->async);   /* the poll handle keeps the loop alive while fds are open */
  pthread_mutex_init(&e->done_mu, NULL);
  e->done_mu_init = 1;
  for (int i = 0; i < n - 1; i++) {
    struct worker *k = calloc(1, sizeof *k);
    if (!k) return -ENOMEM;
    e->workers[e->nworkers++] = k;
    k->main = e;
    k->w.wk = k;
    k->w.loop = e->loop;
    k->w.live = e->live;
    k->w.thr = e->thr;
    k->w.nslots = e->nslots;
    k->w.main_e = e;
    k->w.epfd = epoll_create1(EPOLL_CLOEXEC);
    k->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    k->w.iobuf = xmalloc(&k->w, IO_BUF_SIZE);
    pthread_mutex_init(&k->mu, NULL);
    if (k->w.epfd < 0 || k->evfd < 0 || !k->w.iobuf) return -EMFILE;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_watch };
    if (epoll_ctl(k->w.epfd, EPOLL_CTL_ADD, k->evfd, &ev) < 0) return -errno;
    /* signals stay the JS thread's (libuv's handlers): a worker starts with all of them blocked */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&k->tid, NULL, worker_main, k);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) return -EAGAIN;
    k->started = 1;
  }
  return 0;
}

/* JS thread, engine_destroy: stop and join every worker; the conns they held are the JS
 * thread's again (the join orders their memory), with nothing left registered anywhere. */
void threads_stop(struct engine *e) {
  if (!e->workers) return;   /* --threads 1: nothing was started (done_mu is not initialised) */
  for (int i = 0; i < e->nworkers; i++) {
    struct worker *k = e->workers[i];
    __atomic_store_n(&k->stop, 1, __ATOMIC_RELEASE);
    if (k->evfd >= 0) wake(k->evfd);
  }
  for (int i = 0; i < e->nworkers; i++) {
    struct worker *k = e->workers[i];
    if (k->started) pthread_join(k->tid, NULL);
    take_inbox(k, 1);
    while (k->owned) worker_handback(&k->w, k->owned, WHY_SHUTDOWN, 0);
    batch_done(k);
    if (k->w.epfd >= 0) close(k->w.epfd);
    if (k->evfd >= 0) close(k->evfd);
    xfree(&k->w, k->w.iobuf, IO_BUF_SIZE);
    /* the worker's allocation counters go to the engine's, so the totals still add up */
    e->st.allocs += k->w.st.allocs;
    e->st.alloc_bytes += k->w.st.alloc_bytes;
    e->st.pending_bufs += k->w.st.pending_bufs;
    pthread_mutex_destroy(&k->mu);
    free(k);
  }
  threads_collect(e);
  xfree(e, e->workers, (size_t)e->workers_cap * sizeof *e->workers);
  e->workers = NULL;
  e->nworkers = e->workers_cap = 0;
}

/* stats(): what the workers hold, read without a lock (counters only) */
void threads_stats(struct engine *e, struct engine_stats *out) {
  *out = e->st;
  for (int i = 0; i < e->nworkers; i++) {
    const struct engine_stats *w = &e->workers[i]->w.st;
    out->allocs += w->allocs;
    out->alloc_bytes += w->alloc_bytes;
    out->pending_bufs += w->pending_bufs;
  }
}
