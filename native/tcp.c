/*
 * TCP and Unix-socket pairs: accept, non-blocking connect with failover through JS, forwarding
 * both ways with backpressure, half-close, tcp_fastclose, connect and idle timeouts.
 *
 * fd ownership: a conn owns cfd (from accept4; closed at once if JS refuses it or the slot is
 * taken) and sfd (from server_socket, already registered); both are registered once in the
 * engine's epoll fd (edge-triggered, EPOLLIN|EPOLLOUT|EPOLLRDHUP) and closed only through
 * engine_close_et (close, no EPOLL_CTL_DEL: see engine.h) by conn_close (or, for a failed connect
 * attempt, by connect_failed). The
 * listener fd is the engine's. The conn memory is its slot's (engine.h struct conn), taken again
 * only after the batch (pitfall 3), so every handler first checks C_DEAD.
 *
 * Lengths: recv into the engine's IO_BUF_SIZE buffer; a partial send stores n - w bytes
 * (0 < n - w <= IO_BUF_SIZE, pending_store checks); drain writes len - off bytes of it.
 *
 * Reading: to EAGAIN or EOF (edge-triggered; an EOF that came with the data must not be lost,
 * pitfalls 1 and 2), except that a read shorter than the buffer, on an event that reported no
 * EOF, hangup or error, ends it: the socket is then empty, and whatever arrives after (data or
 * the FIN) raises a new edge, as nginx's ngx_unix_recv reasons. That saves the recv that would
 * only say EAGAIN, one per event. Where the events are not known (after a connect or a drain),
 * the read goes to EAGAIN. A partial send keeps the rest in a pending buffer and stops reading
 * that direction; when the buffer drains the read is retried (pitfall 6).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include "engine.h"

#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define MAX_ATTEMPTS 1024   /* failover is JS's policy; this only stops a JS bug looping forever */
_Static_assert(MAX_ATTEMPTS <= UINT16_MAX, "conn.attempts is a uint16_t");
#define EV_UNKNOWN EPOLLHUP /* pump: the edge is not known, read to EAGAIN */
#define EV_END (EPOLLRDHUP | EPOLLHUP | EPOLLERR)

static double *live_of(struct engine *e, struct conn *c) { return e->live + (size_t)conn_slot(c) * LIVE_WORDS; }

/* The client's events while connecting, kept in 6 bits of flags: what pump reads of them. */
static uint16_t cev_pack(uint32_t ev) {
  return (uint16_t)(((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) | ((ev & EPOLLRDHUP) ? 0x20u : 0)) << C_CEV_SHIFT);
}
static uint32_t cev_unpack(uint16_t flags) {
  uint32_t b = (flags & C_CEV_MASK) >> C_CEV_SHIFT;
  return (b & (EPOLLIN | EPOLLERR | EPOLLHUP)) | ((b & 0x20u) ? EPOLLRDHUP : 0);
}
_Static_assert(((EPOLLIN | EPOLLERR | EPOLLHUP) & ~0x1fu) == 0, "cev_pack: these events fit in 5 bits");

static void pending_free(struct engine *e, struct pending *p) {
  if (!p->data) return;
  xfree(e, p->data, (size_t)p->off + p->shown);
  p->data = NULL;
  p->off = 0;
  __atomic_store_n(&p->shown, 0, __ATOMIC_RELAXED);
  e->st.pending_bufs--;
}

static int pending_store(struct engine *e, struct pending *p, const char *data, size_t n) {
  if (n == 0 || n > IO_BUF_SIZE) return n == 0 ? 0 : -EINVAL;
  p->data = xmalloc(e, n);
  if (!p->data) return -ENOMEM;
  memcpy(p->data, data, n);
  p->off = 0;
  __atomic_store_n(&p->shown, (uint32_t)n, __ATOMIC_RELAXED);
  e->st.pending_bufs++;
  return 0;
}

void pending_release(struct engine *e, struct conn *c) {
  pending_free(e, &c->to_server);
  pending_free(e, &c->to_client);
}

void conn_close(struct engine *e, struct conn *c, int why, int err) {
  if (c->flags & C_DEAD) return;
  if (e->wk) { worker_handback(e, c, why, err); return; }   /* closed on the JS thread */
  c->flags |= C_DEAD;
  c->cfd = engine_close_et(e, c->cfd);   /* edge-triggered: no EPOLL_CTL_DEL (engine.h) */
  c->sfd = engine_close_et(e, c->sfd);
  pending_free(e, &c->to_server);
  pending_free(e, &c->to_client);
  engine_record(e, REC_TCP_CLOSED, (int32_t)conn_slot(c), c->server, c->listener, why, err);
  e->st.conns--;
  e->st.closed++;
}

/* Start a connect to c->server. Returns 0 (in progress or done) or the errno of the failure. */
static int start_connect(struct engine *e, struct conn *c) {
  int err = server_socket(e, c->server, SOCK_STREAM, &c->ws, CONN_EVENTS, &c->sfd);
  if (err) return err;
  c->flags |= C_CONNECTING;
  c->connect_ms = engine_now(e);
  live_of(e, c)[L_STATE] = ST_CONNECTING;
  live_of(e, c)[L_SERVER] = c->server;
  return 0;
}

/* A connect attempt failed: ask JS for the next server. Returns 0 to try it, -1 when c closed. */
static int connect_failed(struct engine *e, struct conn *c, int err) {
  c->sfd = engine_close_et(e, c->sfd);   /* the next attempt's registration has a new generation */
  c->flags &= ~C_CONNECTING;
  c->attempts++;
  e->st.connect_failed++;
  double next = js_failed(e, (int32_t)conn_slot(c), c->server, err);
  if (c->flags & C_DEAD) return -1;   /* JS closed it from the callback */
  if (!(next >= 0) || next >= e->nservers || next != (double)(int64_t)next || c->attempts >= MAX_ATTEMPTS) {
    conn_close(e, c, WHY_CONNECT_FAILED, err);
    return -1;
  }
  c->server = (uint16_t)next;
  return 0;
}

static void connect_with_failover(struct engine *e, struct conn *c) {
  for (;;) {
    int err = start_connect(e, c);
    if (!err || connect_failed(e, c, err) < 0) return;
  }
}

static void on_eof(struct engine *e, struct conn *c, int from_client);

/* Move bytes from one end to the other until EAGAIN, EOF, a short read (see the top) or the
 * destination is full. `events`: the source's epoll events, or EV_UNKNOWN. */
static void pump(struct engine *e, struct conn *c, int from_client, uint32_t events) {
  int src = from_client ? c->cfd : c->sfd, dst = from_client ? c->sfd : c->cfd;
  struct pending *p = from_client ? &c->to_server : &c->to_client;
  uint32_t eof = from_client ? C_EOF_CLIENT : C_EOF_SERVER;
  if ((c->flags & (eof | C_DEAD)) || p->data) return;
  double *l = live_of(e, c);
  for (;;) {
    ssize_t n = recv(src, e->iobuf, IO_BUF_SIZE, 0);
    if (n > 0) {
      __atomic_store_n(&c->active_ms, engine_now(e), __ATOMIC_RELAXED);
      l[from_client ? L_BYTES_UP : L_BYTES_DOWN] += (double)n;
      ssize_t w;
      do w = send(dst, e->iobuf, (size_t)n, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
      if (w == n) {
        if ((size_t)n < IO_BUF_SIZE && !(events & EV_END)) return;   /* short read: empty, a new edge follows */
        continue;
      }
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { conn_close(e, c, WHY_ERROR, errno); return; }
      if (w < 0) w = 0;
      if (pending_store(e, p, e->iobuf + w, (size_t)(n - w)) < 0) conn_close(e, c, WHY_ERROR, ENOMEM);
      return;   /* backpressure: this direction waits for the drain */
    }
    if (n == 0) { on_eof(e, c, from_client); return; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) conn_close(e, c, WHY_ERROR, errno);
    return;
  }
}

/* Write what is pending to one end. 0: nothing was pending; 1: drained; -1: still pending or closed. */
static int drain(struct engine *e, struct conn *c, int to_server) {
  struct pending *p = to_server ? &c->to_server : &c->to_client;
  int fd = to_server ? c->sfd : c->cfd;
  if (!p->data) return 0;
  uint32_t left;
  while ((left = __atomic_load_n(&p->shown, __ATOMIC_RELAXED)) > 0) {   /* this thread is its only writer */
    ssize_t w = send(fd, p->data + p->off, left, MSG_NOSIGNAL);
    if (w > 0) { p->off += (uint32_t)w; __atomic_store_n(&p->shown, left - (uint32_t)w, __ATOMIC_RELAXED); continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
    conn_close(e, c, WHY_ERROR, w < 0 ? errno : EIO);
    return -1;
  }
  pending_free(e, p);
  return 1;
}

/*
 * EOF from one end, as TcpConnection.eof() in server/core/tcp.ts: when both directions are done,
 * or tcp_fastclose says this one is enough, close once what is still queued to the other end is
 * written; otherwise pass the half-close on. Reading stops while data is pending, so at EOF
 * nothing is pending toward the other end and the shutdown can go at once.
 */
static void on_eof(struct engine *e, struct conn *c, int from_client) {
  c->flags |= from_client ? C_EOF_CLIENT : C_EOF_SERVER;
  live_of(e, c)[L_STATE] = ST_CONNECTED | ((c->flags & C_EOF_CLIENT) ? ST_EOF_CLIENT : 0) | ((c->flags & C_EOF_SERVER) ? ST_EOF_SERVER : 0);
  int fc = e->main_e ? __atomic_load_n(&e->main_e->fastclose, __ATOMIC_RELAXED) : e->fastclose;
  int fast = fc == FC_BOTH || (from_client ? fc == FC_DOWN : fc == FC_UP);
  if (fast) pending_free(e, from_client ? &c->to_client : &c->to_server);   /* nothing more goes to `from` */
  if (fast || (c->flags & (C_EOF_CLIENT | C_EOF_SERVER)) == (C_EOF_CLIENT | C_EOF_SERVER)) {
    if (!c->to_server.data && !c->to_client.data) conn_close(e, c, WHY_EOF, 0);
    else c->flags |= C_FLUSH_CLOSE;
    return;
  }
  shutdown(from_client ? c->sfd : c->cfd, SHUT_WR);
  c->flags |= from_client ? C_SHUT_SERVER : C_SHUT_CLIENT;
}

static void on_connect_done(struct engine *e, struct conn *c, uint32_t events) {
  int err = 0;
  /* writable with no error or hangup is a connect that succeeded: SO_ERROR would say 0 */
  if ((events & (EPOLLERR | EPOLLHUP)) || !(events & EPOLLOUT)) {
    socklen_t len = sizeof err;
    if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (!err && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
  }
  if (err) {
    if (connect_failed(e, c, err) == 0) connect_with_failover(e, c);
    return;
  }
  c->flags = (c->flags & ~C_CONNECTING) | C_CONNECTED;
  c->active_ms = engine_now(e);
  live_of(e, c)[L_STATE] = ST_CONNECTED;
  if (threads_adopt(e, c) == 0) return;   /* --threads: a worker moves its bytes from now on */
  /* What the client sent while we connected: its edge has passed. No readable client event yet
   * means none was delivered, and one still comes (the readiness is on epoll's list, or later). */
  uint32_t cev = cev_unpack(c->flags);
  c->flags &= ~C_CEV_MASK;
  if (cev & (EPOLLIN | EV_END)) pump(e, c, 1, cev);
  /* the server's data before this event shows in `events`; later data raises a new edge */
  if (events & (EPOLLIN | EV_END)) pump(e, c, 0, events);
}

/* a conn a worker adopted: the edges may have passed while it moved, so both ends read to EAGAIN */
void tcp_resume(struct engine *e, struct conn *c) {
  c->flags &= ~C_CEV_MASK;
  pump(e, c, 1, EV_UNKNOWN);
  pump(e, c, 0, EV_UNKNOWN);
}

void tcp_on_event(struct engine *e, struct conn *c, int server_side, uint32_t events) {
  if (!e->wk && conn_owned(e, c)) return;   /* adopted by a worker earlier in this batch: c is the worker's */
  if (c->flags & C_DEAD) return;
  if (c->flags & C_CONNECTING) {
    if (server_side) on_connect_done(e, c, events);
    else c->flags |= cev_pack(events);   /* they wait for the connect; on_connect_done reads what came */
    return;
  }
  if (!(c->flags & C_CONNECTED)) return;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    int r = drain(e, c, server_side);
    if (c->flags & C_DEAD) return;
    if (r == 1) {
      if (c->flags & C_FLUSH_CLOSE) {
        if (!c->to_server.data && !c->to_client.data) conn_close(e, c, WHY_EOF, 0);
        return;
      }
      pump(e, c, server_side, EV_UNKNOWN);   /* the direction into this end may read again: its edge has passed */
      if (c->flags & C_DEAD) return;
    }
  }
  if (events & (EPOLLIN | EV_END)) pump(e, c, server_side ? 0 : 1, events);
}

static void new_conn(struct engine *e, struct listener *l, int fd, const union sockaddr_any *peer) {
  double picked = js_select(e, l->id, peer, -1);
  int32_t slot, server;
  if (e->destroyed || slot_take(e, picked, &slot, &server, SLOT_TCP, NULL) < 0) {
    engine_close_et(e, fd);   /* not registered */
    return;
  }
  struct conn *c = &e->conns[slot];
  MEM_UNPOISON(c, sizeof *c);
  memset(c, 0, sizeof *c);   /* the slot's last conn, if any, was done with before its record was delivered */
  c->wc.kind = W_CLIENT;
  c->ws.kind = W_SERVER;
  c->wc.index = c->ws.index = (uint32_t)slot;
  c->cfd = fd;
  c->sfd = -1;
  c->server = (uint16_t)server;
  c->listener = (uint8_t)l->id;
  c->active_ms = engine_now(e);
  e->st.conns++;
  int r = engine_watch(e, fd, &c->wc, CONN_EVENTS);
  if (r < 0) { conn_close(e, c, WHY_ERROR, -r); return; }
  connect_with_failover(e, c);
}

/* The listener is level-triggered: accept up to accept_max (pen's -m, 1 by default) and leave the
 * rest to the next wake-up. One accept per wake-up saves the accept4 that would only say EAGAIN. */
void tcp_on_accept(struct engine *e, struct listener *l) {
  if (l->paused) return;   /* switched off: a report from before the pause */
  for (uint32_t i = 0; i < e->accept_max; i++) {
    union sockaddr_any peer;
    socklen_t plen = sizeof peer;
    memset(&peer, 0, sizeof peer.sa);
    int fd = accept4(l->fd, &peer.sa, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        /* EMFILE and the like: the client stays in the backlog and the listener readable, so it
         * is switched off until JS's sweep sees accept_errors move and resumes it */
        e->st.accept_errors++;
        listener_arm(e, l, 0);
      }
      return;
    }
    e->st.fds++;
    e->st.accepted++;
    if (l->family == AF_UNIX) peer.sa.sa_family = AF_UNIX;
    new_conn(e, l, fd, &peer);
    if (e->destroyed || l->w.kind == 0 || l->paused) return;   /* JS closed or paused the listener from select */
  }
}

/* One sweep over the slots: robust against JS closing other connections from failed(). */
void tcp_sweep(struct engine *e, uint64_t now) {
  for (uint32_t i = 0; i < e->nslots && !e->destroyed; i++) {
    if (e->slot_kind[i] != SLOT_TCP) continue;
    struct conn *c = &e->conns[i];
    if (conn_owned(e, c)) continue;   /* a worker applies the idle timeout to its own */
    if (c->flags & C_CONNECTING) {
      if (e->connect_timeout_ms && now - c->connect_ms >= e->connect_timeout_ms)
        if (connect_failed(e, c, ETIMEDOUT) == 0) connect_with_failover(e, c);
    } else if (e->idle_timeout_ms && now - c->active_ms >= e->idle_timeout_ms) {
      conn_close(e, c, WHY_IDLE, 0);
    }
  }
}
