/*
 * UDP: a listener read with recvmmsg, a session table keyed by (listener, client address), each
 * session with its own connected upstream socket; datagrams of a known client go upstream with
 * send/sendmmsg and replies come back with recvmmsg + sendmmsg on the listener, without JS.
 * JS is called only for a new client (select); expiry is reported as a record.
 *
 * fd ownership: a session owns its upstream fd (from server_socket: socket + connect, already
 * registered in the engine's epoll fd, level-triggered: each wake-up handles at most
 * UDP_BATCHES_PER_EVENT batches, the rest is handled on the next loop turn) and closes it only
 * by session_close (engine_close_fd). The listener fd belongs to the engine (listener_close,
 * which first closes the listener's sessions: their replies go out through it). Session memory
 * is freed by engine_reap.
 *
 * Lengths: recvmmsg fills at most UDP_BATCH entries of UDP_BUF_SIZE bytes (a longer datagram is
 * MSG_TRUNC and dropped); msg_namelen is bounded by sizeof(union sockaddr_any); replies are sent
 * with the lengths recvmmsg returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "engine.h"

/* the receive buffers every UDP listener and upstream shares, allocated with the first listener */
int udp_buffers(struct engine *e) {
  if (!e->udpbuf) e->udpbuf = xmalloc(e, (size_t)UDP_BATCH * UDP_BUF_SIZE);
  return e->udpbuf ? 0 : -ENOMEM;
}

static struct session **bucket(struct engine *e, const union sockaddr_any *a) {
  return &e->hash[addr_hash(a) & e->hmask];
}

static struct session *lookup(struct engine *e, int listener, const union sockaddr_any *a) {
  for (struct session *s = *bucket(e, a); s; s = s->hnext)
    if (s->listener == listener && addr_equal(&s->client, a)) return s;
  return NULL;
}

static void unhash(struct engine *e, struct session *s) {
  for (struct session **p = bucket(e, &s->client); *p; p = &(*p)->hnext)
    if (*p == s) { *p = s->hnext; return; }
}

/* Out of the table, its fd closed, its memory to the graveyard; the caller says what becomes of the slot. */
static void session_end(struct engine *e, struct session *s) {
  s->dead = 1;
  unhash(e, s);
  s->fd = engine_close_fd(e, s->fd);
  e->st.sessions--;
  e->st.sessions_closed++;
  s->next = e->sgrave;
  e->sgrave = s;
}

void session_close(struct engine *e, struct session *s, int why, int err) {
  if (s->dead) return;
  session_end(e, s);
  engine_record(e, REC_UDP_CLOSED, s->slot, s->server, s->listener, why, err);
  engine_reap(e);
}

void session_free(struct engine *e, struct session *s) {
  xfree(e, s->last, s->last_cap);
  xfree(e, s, sizeof *s);
}

static int open_upstream(struct engine *e, struct session *s) {
  if ((uint32_t)s->server < e->nservers && e->servers[s->server].addr.sa.sa_family == AF_UNIX) return EAFNOSUPPORT;
  return server_socket(e, s->server, SOCK_DGRAM, &s->w, EPOLLIN, &s->fd);
}

/* A datagram from an unknown client: JS picks the slot and server. NULL: dropped. */
static struct session *session_new(struct engine *e, struct listener *l, const union sockaddr_any *from, socklen_t flen,
                                   uint32_t len) {
  if (from->sa.sa_family != AF_INET && from->sa.sa_family != AF_INET6) return NULL;
  double picked = js_select(e, l->id, from, (int)len);
  if (e->destroyed || l->w.kind == 0) return NULL;
  struct session *s = xcalloc(e, sizeof *s);
  int32_t slot, server;
  if (!s) return NULL;
  if (slot_take(e, picked, &slot, &server, SLOT_UDP, s) < 0) { xfree(e, s, sizeof *s); return NULL; }
  s->e = e;
  s->w.kind = W_UDP_UP;
  s->w.index = (uint32_t)slot;
  s->fd = -1;
  s->slot = slot; s->server = server; s->listener = l->id;
  s->client = *from;
  s->clen = flen;
  s->active_ms = engine_now(e);
  s->next = NULL;
  struct session **b = bucket(e, from);
  s->hnext = *b;
  *b = s;
  e->st.sessions++;
  e->st.sessions_created++;
  e->live[(size_t)slot * LIVE_WORDS + L_STATE] = ST_UDP | ST_CONNECTED;
  int err = open_upstream(e, s);
  if (err) { session_close(e, s, WHY_CONNECT_FAILED, err); return NULL; }
  return s;
}

/* Keep the client's latest datagram for a replay after a refusal (the buffer grows, never shrinks). */
static void remember(struct engine *e, struct session *s, const char *data, uint32_t len) {
  s->replays = 0;
  if (len > s->last_cap) {
    char *p = xmalloc(e, len);
    if (!p) { s->last_len = 0; return; }
    xfree(e, s->last, s->last_cap);
    s->last = p;
    s->last_cap = len;
  }
  memcpy(s->last, data, len);
  s->last_len = len;
}

/*
 * JS moves s to another server (err: ECONNREFUSED from its server, or 0: setDown says it is
 * down). 0 when s has a new upstream; -1 when it stays where it was (JS said no) or is closed (the
 * new upstream could not be opened, or JS closed it).
 */
static int session_failover(struct engine *e, struct session *s, int err) {
  double next = js_failed(e, s->slot, s->server, err);
  if (e->destroyed || s->dead) return -1;
  if (!(next >= 0) || next >= e->nservers || next != (double)(int32_t)next) return -1;
  s->fd = engine_close_fd(e, s->fd);
  s->server = (int32_t)next;
  e->live[(size_t)s->slot * LIVE_WORDS + L_SERVER] = next;
  int r = open_upstream(e, s);
  if (r) { session_close(e, s, WHY_CONNECT_FAILED, r); return -1; }
  return 0;
}

static int server_down(struct engine *e, const struct session *s) {
  return (uint32_t)s->server < e->nservers && e->servers[s->server].down;
}

/* Send msgs[from, to) of the received batch to the session's upstream. */
static void send_run(struct engine *e, struct session *s, struct mmsghdr *in, int from, int to) {
  struct mmsghdr out[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  int n = to - from;
  double bytes = 0;
  for (int k = 0; k < n; k++) {
    iov[k].iov_base = in[from + k].msg_hdr.msg_iov->iov_base;
    iov[k].iov_len = in[from + k].msg_len;
    bytes += in[from + k].msg_len;
    memset(&out[k], 0, sizeof out[k]);
    out[k].msg_hdr.msg_iov = &iov[k];
    out[k].msg_hdr.msg_iovlen = 1;
  }
  int sent = n == 1 ? (send(s->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0 ? 1 : 0)
                    : sendmmsg(s->fd, out, (unsigned)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0) sent = 0;
  e->st.udp_dropped += n - sent;
  e->live[(size_t)s->slot * LIVE_WORDS + L_BYTES_UP] += bytes;
  e->pkts[(size_t)s->slot * PKT_WORDS + P_UP] += n;
  s->active_ms = engine_now(e);
  remember(e, s, iov[n - 1].iov_base, (uint32_t)iov[n - 1].iov_len);
}

static void setup_batch(struct engine *e, struct mmsghdr *m, struct iovec *iov, union sockaddr_any *names) {
  for (int i = 0; i < UDP_BATCH; i++) {
    iov[i].iov_base = e->udpbuf + (size_t)i * UDP_BUF_SIZE;
    iov[i].iov_len = UDP_BUF_SIZE;
    memset(&m[i], 0, sizeof m[i]);
    m[i].msg_hdr.msg_iov = &iov[i];
    m[i].msg_hdr.msg_iovlen = 1;
    if (names) { m[i].msg_hdr.msg_name = &names[i]; m[i].msg_hdr.msg_namelen = sizeof names[i]; }
  }
}

void udp_on_listener(struct engine *e, struct listener *l) {
  struct mmsghdr m[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  union sockaddr_any names[UDP_BATCH];
  for (int b = 0; b < UDP_BATCHES_PER_EVENT && l->w.kind && !e->destroyed; b++) {
    setup_batch(e, m, iov, names);
    int n = recvmmsg(l->fd, m, UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    e->st.udp_in += n;
    for (int i = 0; i < n && l->w.kind && !e->destroyed;) {
      if (m[i].msg_hdr.msg_flags & MSG_TRUNC) { e->st.udp_dropped++; i++; continue; }
      struct session *s = lookup(e, l->id, &names[i]);
      if (s && server_down(e, s) && session_failover(e, s, 0) < 0) s = NULL;   /* JS counted the drop */
      else if (!s) s = session_new(e, l, &names[i], m[i].msg_hdr.msg_namelen, m[i].msg_len);
      if (!s) { e->st.udp_dropped++; i++; continue; }
      int j = i + 1;   /* the run of datagrams from the same client goes out in one call */
      while (j < n && !(m[j].msg_hdr.msg_flags & MSG_TRUNC) && addr_equal(&names[j], &names[i])) j++;
      send_run(e, s, m, i, j);
      i = j;
    }
    if (n < UDP_BATCH) return;
  }
}

void udp_on_upstream(struct engine *e, struct session *s) {
  if (s->dead) return;
  struct listener *l = (s->listener >= 0 && s->listener < MAX_LISTENERS) ? e->listeners[s->listener] : NULL;
  if (!l) { session_close(e, s, WHY_SHUTDOWN, 0); return; }
  struct mmsghdr m[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  double *lv = e->live + (size_t)s->slot * LIVE_WORDS;
  for (int b = 0; b < UDP_BATCHES_PER_EVENT; b++) {
    setup_batch(e, m, iov, NULL);
    int n = recvmmsg(s->fd, m, UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == ECONNREFUSED) {
      /* ICMP port unreachable: JS blacklists the server and names the next, where the latest
       * datagram is resent, at most once per server */
      if (session_failover(e, s, ECONNREFUSED) == 0 && s->last_len && s->replays++ < e->nservers)
        send(s->fd, s->last, s->last_len, MSG_NOSIGNAL | MSG_DONTWAIT);
      return;
    }
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) e->st.udp_dropped++;   /* other ICMP errors */
      return;
    }
    for (int i = 0; i < n; i++) {   /* replies go back to the client, through the listener */
      iov[i].iov_len = m[i].msg_len;
      m[i].msg_hdr.msg_name = &s->client;
      m[i].msg_hdr.msg_namelen = s->clen;
      m[i].msg_hdr.msg_flags = 0;
      lv[L_BYTES_DOWN] += m[i].msg_len;
    }
    e->pkts[(size_t)s->slot * PKT_WORDS + P_DOWN] += n;
    s->active_ms = engine_now(e);
    int sent = sendmmsg(l->fd, m, (unsigned)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) sent = 0;
    e->st.udp_out += sent;
    e->st.udp_dropped += n - sent;
    if (n < UDP_BATCH) return;
  }
}

void udp_sweep(struct engine *e, uint64_t now) {
  if (!e->udp_idle_ms) return;
  for (uint32_t i = 0; i < e->nslots && !e->destroyed; i++) {
    if (e->slot_kind[i] != SLOT_UDP) continue;
    struct session *s = e->slot_ptr[i];
    if (now - s->active_ms >= e->udp_idle_ms) session_close(e, s, WHY_IDLE, 0);
  }
}

void udp_listener_gone(struct engine *e, int id) {
  for (uint32_t i = 0; i < e->nslots; i++) {
    if (e->slot_kind[i] != SLOT_UDP) continue;
    struct session *s = e->slot_ptr[i];
    if (s->listener == id) session_close(e, s, WHY_SHUTDOWN, 0);
  }
}

/* The least recently active session closes without a record and its slot is free at once: a full
 * table makes room for a new client (JS releases the session itself). Its live words stay until the
 * slot is taken again. The slot, or -1 when there is no session. */
int udp_recycle(struct engine *e) {
  struct session *old = NULL;
  for (uint32_t i = 0; i < e->nslots; i++) {
    if (e->slot_kind[i] != SLOT_UDP) continue;
    struct session *s = e->slot_ptr[i];
    if (!old || s->active_ms < old->active_ms) old = s;
  }
  if (!old) return -1;
  int32_t slot = old->slot;
  session_end(e, old);
  e->slot_ptr[slot] = NULL;
  slot_free(e, (uint32_t)slot);
  engine_reap(e);
  return slot;
}
