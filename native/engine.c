/*
 * The engine: its private epoll fd on Node's loop, the dispatch of one epoll batch, records, the
 * graveyard and the timeout sweep; listeners and the sockets to servers (slot tables: slot.c).
 *
 * fd ownership: the engine owns epfd (closed when the last uv handle has closed, after
 * engine_destroy) and the listener fds (listener_open .. listener_close). server_socket creates
 * the server-side fd of a connection or session and hands it to its owner (tcp.c, udp.c) only
 * once it is registered; on failure it has closed it. Every data fd is closed by
 * engine_close_fd (EPOLL_CTL_DEL, then close) or, for an edge-triggered TCP conn's fd or an fd
 * never registered, engine_close_et (close only: a stale registration's events are dropped by
 * their tag, see engine.h). Session and listener memory is freed only by engine_reap, outside
 * any epoll batch; a conn's is its slot's (conns), taken again only once its record is delivered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "engine.h"

void *xmalloc(struct engine *e, size_t n) {
  void *p = malloc(n);
  if (p) { e->st.allocs++; e->st.alloc_bytes += (double)n; }
  return p;
}

void *xcalloc(struct engine *e, size_t n) {
  void *p = calloc(1, n);
  if (p) { e->st.allocs++; e->st.alloc_bytes += (double)n; }
  return p;
}

void xfree(struct engine *e, void *p, size_t n) {
  if (!p) return;
  free(p);
  e->st.allocs--;
  e->st.alloc_bytes -= (double)n;
}

/* a worker cannot read the loop's time: it reads the clock (the same monotonic ms) */
uint64_t engine_now(struct engine *e) { return e->wk ? uv_hrtime() / 1000000 : uv_now(e->loop); }

uint64_t engine_tag(const struct watch *w) {
  return ((uint64_t)w->gen << 32) | ((uint64_t)(w->index & 0xffffffu) << 8) | w->kind;
}

/* Register fd. On the JS thread w gets a new generation, so events of an fd closed earlier
 * under the same watch (a failed connect's socket, a slot's last conn) no longer match it. */
int engine_watch(struct engine *e, int fd, struct watch *w, uint32_t events) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  if (e->wk) ev.data.ptr = w;   /* a worker's epoll fd: every fd is taken out before the hand back */
  else {
    if (++e->watch_gen == 0) e->watch_gen = 1;
    w->gen = e->watch_gen;
    ev.data.u64 = engine_tag(w);
  }
  return epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Take fd out of epoll, then close it: for level-triggered fds (listeners, UDP). close() alone
 * removes it from epoll only when no other reference to the open file exists (a fork() between
 * child_process.spawn's fork and exec, pidfd_getfd), and a stale level-triggered registration
 * of a readable socket would be reported on every wake-up: dropped by its tag, but a spin. */
int engine_close_fd(struct engine *e, int fd) {
  if (fd < 0) return -1;
  epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  e->st.fds--;
  return -1;
}

/* Close only: for an edge-triggered conn fd (a registration that outlives close reports each new
 * edge once, and its tag is dropped) or an fd never registered. Saves the EPOLL_CTL_DEL. */
int engine_close_et(struct engine *e, int fd) {
  if (fd < 0) return -1;
  close(fd);
  e->st.fds--;
  return -1;
}

/* A connection or session closed: one record; the slot stays taken until JS has seen it. */
void engine_record(struct engine *e, int kind, int32_t slot, int32_t server, int32_t listener, int why, int err) {
  if (slot < 0 || (uint32_t)slot >= e->nslots) return;
  double *l = e->live + (size_t)slot * LIVE_WORDS;
  if (kind == REC_UDP_CLOSED) e->slot_ptr[slot] = NULL;
  e->slot_kind[slot] = SLOT_CLOSED;
  l[L_STATE] = ST_CLOSED;
  if (e->destroyed) return;
  /* rec_count < nslots always: one record per taken slot, freed only when delivered */
  if (e->rec_count >= e->nslots) abort();
  double *r = e->rec + (size_t)e->rec_count++ * REC_WORDS;
  r[R_KIND] = kind; r[R_SLOT] = slot; r[R_SERVER] = server; r[R_LISTENER] = listener;
  r[R_BYTES_UP] = l[L_BYTES_UP]; r[R_BYTES_DOWN] = l[L_BYTES_DOWN];
  r[R_WHY] = why; r[R_ERRNO] = err;
  const double *p = e->pkts + (size_t)slot * PKT_WORDS;
  r[R_PKTS_UP] = kind == REC_UDP_CLOSED ? p[P_UP] : 0;
  r[R_PKTS_DOWN] = kind == REC_UDP_CLOSED ? p[P_DOWN] : 0;
  if (!e->in_batch && !e->flushing) engine_kick(e);
}

/* Free what closed during the batch. Never inside a batch: later events may name it. */
void engine_reap(struct engine *e) {
  if (e->in_batch) return;
  while (e->sgrave) { struct session *s = e->sgrave; e->sgrave = s->next; session_free(e, s); }
  while (e->lgrave) { struct listener *l = e->lgrave; e->lgrave = l->next; xfree(e, l, sizeof *l); }
}

/* The live watch a tag names, or NULL: its listener, conn or session closed (in this batch or
 * before, the fd perhaps still open elsewhere), or its slot now holds another registration. */
static struct watch *resolve(struct engine *e, uint64_t tag) {
  uint32_t kind = (uint32_t)(tag & 0xff), idx = (uint32_t)(tag >> 8) & 0xffffffu, gen = (uint32_t)(tag >> 32);
  struct watch *w = NULL;
  if (kind == W_TCP_LISTEN || kind == W_UDP_LISTEN) {
    if (idx < MAX_LISTENERS && e->listeners[idx]) w = &e->listeners[idx]->w;
  } else if (kind == W_CLIENT || kind == W_SERVER) {
    if (idx < e->nslots && e->slot_kind[idx] == SLOT_TCP) { struct conn *c = &e->conns[idx]; w = kind == W_CLIENT ? &c->wc : &c->ws; }
  } else if (kind == W_UDP_UP) {
    if (idx < e->nslots && e->slot_kind[idx] == SLOT_UDP) w = &((struct session *)e->slot_ptr[idx])->w;
  }
  return w && w->kind == kind && w->gen == gen ? w : NULL;
}

static void dispatch(struct engine *e, struct epoll_event *ev) {
  struct watch *w = resolve(e, ev->data.u64);
  if (!w) { e->st.stale_events++; return; }
  switch (w->kind) {
  case W_TCP_LISTEN: tcp_on_accept(e, (struct listener *)w); break;
  case W_UDP_LISTEN: udp_on_listener(e, (struct listener *)w); break;
  case W_CLIENT: tcp_on_event(e, (struct conn *)((char *)w - offsetof(struct conn, wc)), 0, ev->events); break;
  case W_SERVER: tcp_on_event(e, (struct conn *)((char *)w - offsetof(struct conn, ws)), 1, ev->events); break;
  case W_UDP_UP: udp_on_upstream(e, (struct session *)w); break;
  }
}

/* Like a net.Server, the engine keeps Node's loop alive only while it has fds open. */
void engine_update_ref(struct engine *e) {
  if (!e->poll || e->destroyed) return;
  if (e->st.fds > 0) uv_ref((uv_handle_t *)e->poll);
  else uv_unref((uv_handle_t *)e->poll);
}

/* After a native callback: deliver records, free the graveyard, close the JS scope. */
static void batch_end(struct engine *e) {
  e->in_batch--;
  if (e->in_batch) return;
  if (e->rec_count && !e->destroyed) js_flush_records(e);
  engine_reap(e);
  engine_update_ref(e);
  js_scope_close(e);
}

/* The single reader of the private epoll fd: one batch, waiting up to timeout_ms (0 from the
 * poll handle; the hold's wait in hold.c). Whether libuv's fd was among the events (BATCH_LOOP),
 * none came (BATCH_IDLE), or only the engine's (BATCH_ENGINE; an interrupted wait too). */
int engine_batch(struct engine *e, int timeout_ms) {
  struct epoll_event ev[EPOLL_BATCH];
  int seen = BATCH_ENGINE;
  e->in_batch++;
  e->st.batches++;
  int n = epoll_wait(e->epfd, ev, EPOLL_BATCH, timeout_ms);
  if (timeout_ms != 0) uv_update_time(e->loop);   /* a hold's wait: JS run now reads libuv's clock */
  if (n == 0 || (n < 0 && errno != EINTR)) seen = BATCH_IDLE;
  for (int i = 0; i < n && !e->destroyed; i++) {
    if (ev[i].data.u64 == TAG_LOOP) seen = BATCH_LOOP;
    else dispatch(e, &ev[i]);
  }
  batch_end(e);
  return seen;
}

/* The poll handle fires while epoll still has ready fds, so other work on Node's loop gets its
 * turn; after a batch that ran no JavaScript the engine may hold the loop instead (hold.c). */
void engine_on_poll(uv_poll_t *h, int status, int events) {
  (void)status; (void)events;
  struct engine *e = h->data;
  double scopes = e->st.js_scopes;
  engine_batch(e, 0);
  if (e->st.js_scopes == scopes || hold_after_js(e)) hold_loop(e);
}

static void on_timer(uv_timer_t *t) {
  struct engine *e = t->data;
  e->in_batch++;
  uint64_t now = engine_now(e);
  tcp_sweep(e, now);
  udp_sweep(e, now);
  batch_end(e);
}

/* records produced outside a batch (close() from JS, a listener closed) are delivered next turn */
static void on_idle(uv_idle_t *i) {
  struct engine *e = i->data;
  uv_idle_stop(i);
  e->in_batch++;
  batch_end(e);
}

/* --threads: conns the workers handed back, to close and record here */
void engine_on_async(uv_async_t *a) {
  struct engine *e = a->data;
  e->in_batch++;
  threads_collect(e);
  batch_end(e);
}

/* deliver pending records on the next loop turn */
void engine_kick(struct engine *e) {
  if (e->idle && !e->destroyed) uv_idle_start(e->idle, on_idle);
}

void engine_arm_sweep(struct engine *e) {
  uint64_t t = 0;
  uint64_t ts[3] = { e->connect_timeout_ms, e->idle_timeout_ms, e->udp_idle_ms };
  for (int i = 0; i < 3; i++) if (ts[i] && (!t || ts[i] < t)) t = ts[i];
  uv_timer_stop(e->timer);
  if (!t) return;
  uint64_t every = t / 10;
  if (every < 10) every = 10;
  if (every > 1000) every = 1000;
  uv_timer_start(e->timer, on_timer, every, every);
}

int engine_init(struct engine *e, uint32_t nslots) {
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (e->epfd < 0) return -errno;
  e->poll = xmalloc(e, sizeof *e->poll);
  e->timer = xmalloc(e, sizeof *e->timer);
  e->idle = xmalloc(e, sizeof *e->idle);
  if (!e->poll || !e->timer || !e->idle) abort();   /* three small structs at start-up */
  uv_poll_init(e->loop, e->poll, e->epfd);   /* an epoll fd: FIONBIO on it is harmless */
  uv_timer_init(e->loop, e->timer);
  uv_idle_init(e->loop, e->idle);
  e->poll->data = e->timer->data = e->idle->data = e;
  e->handles_open = 3;
  uv_unref((uv_handle_t *)e->timer);
  e->nslots = nslots;
  e->accept_max = 1;
  slots_init(e);
  e->iobuf = xmalloc(e, IO_BUF_SIZE);
  uint32_t hs = 64;
  while (hs < nslots * 2u && hs < (1u << 24)) hs <<= 1;
  e->hash = xcalloc(e, (size_t)hs * sizeof(struct session *));
  e->hmask = hs - 1;
  if (!e->slot_kind || !e->slot_ptr || !e->conns || !e->iobuf || !e->hash) return -ENOMEM;   /* caller: engine_destroy */
  if (hold_init(e) < 0) return -ENOMEM;
  e->hold = 1;
  e->hold_js = -1;
  uv_poll_start(e->poll, UV_READABLE, engine_on_poll);
  engine_update_ref(e);
  return 0;
}

/* A socket of `type` connected (or connecting) to servers[server], from its source address if it
 * has one, registered with w. 0 and the fd in *out, or the errno of the failure (no fd left). */
int server_socket(struct engine *e, int32_t server, int type, struct watch *w, uint32_t events, int *out) {
  if (server < 0 || (uint32_t)server >= e->nservers) return EINVAL;   /* servers changed meanwhile */
  const struct server_addr *s = &e->servers[server];
  int fd = socket(s->addr.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0) return errno;
  e->st.fds++;
  if (s->source_len) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if ((s->source_len && bind(fd, &s->source.sa, s->source_len) < 0)
      || (connect(fd, &s->addr.sa, s->len) < 0 && errno != EINPROGRESS)) {
    int err = errno;
    engine_close_et(e, fd);   /* not registered */
    return err;
  }
  int r = engine_watch(e, fd, w, events);
  if (r < 0) { engine_close_et(e, fd); return -r; }
  *out = fd;
  return 0;
}

/* A TCP/Unix (backlog > 0) or UDP (backlog 0) listener on a; its id in *id. 0 or -errno. */
int listener_open(struct engine *e, const union sockaddr_any *a, socklen_t len, int udp, int backlog, int *id) {
  int i = 0, one = 1;
  while (i < MAX_LISTENERS && e->listeners[i]) i++;
  if (i == MAX_LISTENERS) return -EMFILE;
  int fd = socket(a->sa.sa_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  e->st.fds++;
  if (a->sa.sa_family != AF_UNIX) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, &a->sa, len) < 0 || (!udp && listen(fd, backlog) < 0)) { int err = errno; engine_close_fd(e, fd); return -err; }
  struct listener *l = xcalloc(e, sizeof *l);
  if (!l) { engine_close_fd(e, fd); return -ENOMEM; }
  l->w.kind = udp ? W_UDP_LISTEN : W_TCP_LISTEN;
  l->w.index = (uint32_t)i;
  l->fd = fd; l->id = i; l->family = a->sa.sa_family; l->udp = udp;
  /* level-triggered: a TCP listener that still has clients waiting is reported again (tcp.c
   * accepts accept_max per wake-up); UDP bounds its batches the same way */
  int r = engine_watch(e, fd, &l->w, EPOLLIN);
  if (r < 0) { xfree(e, l, sizeof *l); engine_close_fd(e, fd); return r; }
  l->armed = !udp;
  e->listeners[i] = l;
  e->st.listeners++;
  *id = i;
  return 0;
}

/* Closing a listener leaves its TCP connections alone (as a listener going away in pen) but ends
 * its UDP sessions, whose replies go out through the listener fd. */
void listener_close(struct engine *e, int id) {
  if (id < 0 || id >= MAX_LISTENERS || !e->listeners[id]) return;
  struct listener *l = e->listeners[id];
  e->listeners[id] = NULL;
  if (l->udp) udp_listener_gone(e, id);
  l->fd = engine_close_fd(e, l->fd);
  e->st.listeners--;
  /* later events of this batch may still name l: free it with the graveyard */
  l->w.kind = 0;
  l->next = e->lgrave;
  e->lgrave = l;
  if (!e->in_batch) engine_reap(e);
}

/* Turn a TCP listener's EPOLLIN on or off. Level-triggered, a listener left on while it cannot
 * accept (paused, EMFILE) would be reported on every epoll_wait: it is switched off instead. */
int listener_arm(struct engine *e, struct listener *l, int on) {
  if (l->armed == on) return 0;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = on ? EPOLLIN : 0;
  ev.data.u64 = engine_tag(&l->w);
  if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, l->fd, &ev) < 0) return -errno;
  l->armed = on;
  return 0;
}

/* Stop or resume accepting on a TCP listener: clients wait in the kernel backlog meanwhile, as in
 * pen with a full connection table. Resuming switches EPOLLIN back on, so it also retries accepts
 * that an error such as EMFILE stopped (tcp_on_accept switched it off then). */
int listener_pause(struct engine *e, int id, int paused) {
  if (id < 0 || id >= MAX_LISTENERS || !e->listeners[id]) return -ENOENT;
  struct listener *l = e->listeners[id];
  if (l->udp) return -EINVAL;
  l->paused = paused;
  return listener_arm(e, l, !paused);
}

static void on_handle_closed(uv_handle_t *h) {
  struct engine *e = h->data;
  if (h == (uv_handle_t *)e->poll) { xfree(e, e->poll, sizeof *e->poll); e->poll = NULL; }
  else if (h == (uv_handle_t *)e->timer) { xfree(e, e->timer, sizeof *e->timer); e->timer = NULL; }
  else if (h == (uv_handle_t *)e->idle) { xfree(e, e->idle, sizeof *e->idle); e->idle = NULL; }
  else if (h == (uv_handle_t *)e->keep) { xfree(e, e->keep, sizeof *e->keep); e->keep = NULL; }
  else if (h == (uv_handle_t *)e->async) { xfree(e, e->async, sizeof *e->async); e->async = NULL; }
  if (--e->handles_open == 0) {
    close(e->epfd);
    xfree(e, e->iobuf, IO_BUF_SIZE);
    slots_free(e);
    xfree(e, e->hash, (size_t)(e->hmask + 1) * sizeof(struct session *));
    xfree(e, e->servers, (size_t)e->nservers * sizeof(struct server_addr));
    xfree(e, e->udpbuf, (size_t)UDP_BATCH * UDP_BUF_SIZE);
    if (e->done_mu_init) pthread_mutex_destroy(&e->done_mu);
    shm_release(e->shm);   /* JS's views may outlive the engine: the last holder frees it */
    free(e);   /* the engine struct itself is not counted */
  }
}

/* Close every fd; the memory goes once libuv has closed the handles. No JS is called. */
void engine_destroy(struct engine *e) {
  e->destroyed = 1;
  e->in_batch++;
  threads_stop(e);   /* joins the workers: every conn is this thread's again */
  for (uint32_t i = 0; e->slot_kind && i < e->nslots; i++) {   /* slot_kind NULL: engine_init ran out of memory */
    if (e->slot_kind[i] == SLOT_TCP) conn_close(e, &e->conns[i], WHY_SHUTDOWN, 0);
    else if (e->slot_kind[i] == SLOT_UDP) session_close(e, e->slot_ptr[i], WHY_SHUTDOWN, 0);
  }
  for (int i = 0; i < MAX_LISTENERS; i++) listener_close(e, i);
  e->in_batch--;
  engine_reap(e);
  uv_close((uv_handle_t *)e->poll, on_handle_closed);
  uv_close((uv_handle_t *)e->timer, on_handle_closed);
  uv_close((uv_handle_t *)e->idle, on_handle_closed);
  if (e->keep) uv_close((uv_handle_t *)e->keep, on_handle_closed);
  if (e->async) uv_close((uv_handle_t *)e->async, on_handle_closed);
}
