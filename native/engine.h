/*
 * The native data path of pen-ts: shared definitions.
 *
 * One engine = one private epoll fd, watched by one uv_poll_t on Node's loop, so every native
 * callback runs on the JS thread and may call JS synchronously (select, failed, onRecords).
 *
 * fd ownership (the rule for every file of the addon):
 *  - The engine owns its epoll fd; libuv only watches it (uv_poll_t) and never closes it: the
 *    engine closes it after uv_close of the poll handle has completed.
 *  - Every data fd (listener, accepted client, connected server, UDP listener and upstream) is
 *    created by the addon, registered once in the private epoll fd, and closed by the addon only,
 *    always through engine_close_fd (from conn_close, session_close, listener_close or an error
 *    path before the fd was handed to its owner). libuv and JS never see these fds.
 *  - close() alone leaves an epoll registration in place while another reference to the file
 *    exists (a fork() that has not exec'd yet, pidfd_getfd). On the JS thread's epoll fd that is
 *    safe: epoll_data is a tag (struct watch), not a pointer, each registration has its own
 *    generation, and an event whose tag names no live registration is dropped (stats
 *    staleEvents). So a TCP conn's fds (edge-triggered: a stale registration reports each new
 *    edge once) are closed with engine_close_et, no EPOLL_CTL_DEL. Level-triggered fds (listeners,
 *    UDP upstreams) go through engine_close_fd, EPOLL_CTL_DEL then close: a stale level-triggered
 *    registration of a readable socket would be reported on every epoll_wait.
 *  - The memory of a closed session or listener stays valid until the end of the batch
 *    (graveyard, see engine_reap), and a closed conn's slot (its memory, struct conn) is not
 *    taken again before then: a handler whose JS call closed it still reads its flags.
 *  - Shared memory (records, live, packets) is not an fd but is shared the same way: the engine
 *    and the ArrayBuffers JS holds each keep a reference, and the last one frees it (napi.c).
 *
 * --threads (thread.c): a connected TCP pair may be handed to a forwarding thread, whose own epoll
 * fd then names it; it comes back to the JS thread to be closed. Only the JS thread creates or
 * closes an fd, and one thread at a time owns a conn (the hand-overs are mutex-ordered).
 *
 * Lengths: every recv/recvmmsg is bounded by its buffer (IO_BUF_SIZE, UDP_BUF_SIZE per entry,
 * UDP_BATCH entries); sockaddr lengths come from the kernel into a union sockaddr_any; slot,
 * server and listener numbers from JS are range-checked before use (slot_take, args.c).
 */
#ifndef PEN_ENGINE_H
#define PEN_ENGINE_H

#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <pthread.h>
#include <uv.h>
#include <node_api.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* a free slot's conn is poisoned, so ASan still sees a use after its slot was freed */
#define MEM_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define MEM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define MEM_POISON(p, n) ((void)(p), (void)(n))
#define MEM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define IO_BUF_SIZE 262144       /* one forwarding buffer per engine; 256 KiB: bulk makes a quarter of 64 KiB's syscalls */
#define MAX_LISTENERS 64
#define MAX_SERVERS 65535        /* select packs slot * 65536 + server */
#define EPOLL_BATCH 128
#define HOLD_MAX_BATCHES 1024   /* batches per hold of Node's loop before libuv gets a turn anyway (hold.c) */
#define HOLD_WORTH 4             /* batches a hold must serve to pay for its 4 epoll_ctl (hold.c) */
#define HOLD_BACKOFF_MAX 64      /* wake-ups passed up at most after a hold that did not pay */
#define TAG_LOOP 0               /* epoll_data of libuv's backend fd in the engine's (hold.c): no watch kind is 0 */
/* what engine_batch saw */
enum { BATCH_ENGINE, BATCH_LOOP, BATCH_IDLE };
#define UDP_BATCH 32             /* datagrams per recvmmsg/sendmmsg */
#define UDP_BUF_SIZE 65536       /* one full datagram per batch entry */
#define UDP_BATCHES_PER_EVENT 8  /* UDP sockets are level-triggered: bound the work per wake-up */
#define PICK_SLOT_MUL 65536.0
#define MAX_THREADS 64          /* --threads */

/* one record = REC_WORDS doubles in the records Float64Array */
enum { R_KIND, R_SLOT, R_SERVER, R_LISTENER, R_BYTES_UP, R_BYTES_DOWN, R_WHY, R_ERRNO, R_PKTS_UP, R_PKTS_DOWN, REC_WORDS };
enum rec_kind { REC_TCP_CLOSED = 1, REC_UDP_CLOSED = 2 };
enum close_why {
  WHY_EOF = 0,            /* both directions ended (or tcp_fastclose) */
  WHY_ERROR = 1,          /* read/write error (errno in R_ERRNO) */
  WHY_IDLE = 2,           /* idle timeout (TCP) or UDP session expiry */
  WHY_CONNECT_FAILED = 3, /* failed() returned -1 (last errno in R_ERRNO) */
  WHY_CLOSED = 4,         /* close(slot) from JS */
  WHY_SHUTDOWN = 5,       /* listener or engine going away */
};

/* per-slot live counters = LIVE_WORDS doubles in the live Float64Array, touched once a slot is
 * used; a UDP session's datagram counts are apart (PKT_WORDS in packets), so a TCP slot's live
 * words are 32 bytes */
enum { L_BYTES_UP, L_BYTES_DOWN, L_SERVER, L_STATE, LIVE_WORDS };
enum { P_UP, P_DOWN, PKT_WORDS };
/* L_STATE values (bit flags once connected) */
#define ST_FREE 0
#define ST_CONNECTING 1
#define ST_CONNECTED 2
#define ST_EOF_CLIENT 4   /* client sent FIN */
#define ST_EOF_SERVER 8   /* server sent FIN */
#define ST_UDP 16
#define ST_CLOSED 32      /* closed, record not yet delivered: the slot is still taken */

enum watch_kind { W_TCP_LISTEN = 1, W_UDP_LISTEN, W_CLIENT, W_SERVER, W_UDP_UP };
/* What epoll_data names. On the JS thread's epoll fd it is a tag, not a pointer: kind, index (the
 * listener id, or the slot of a conn or session) and the generation of this registration;
 * dispatch finds the watch through the tables and drops a tag whose generation is not the watch's
 * (engine_tag). A worker's epoll fd holds the pointer: it takes every fd out before the hand back. */
struct watch { uint32_t kind : 8, index : 24; uint32_t gen; };   /* 8 bytes: two per conn */

union sockaddr_any {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_un un;
};

/* bytes waiting to be written to one end; data == NULL when nothing is pending. The buffer is
 * off + shown bytes long: shown (len - off, atomic: info() reads it while a worker writes it) is
 * the only length kept, to keep struct conn small. */
struct pending { char *data; uint32_t off; uint32_t shown; };

enum fastclose { FC_OFF = 0, FC_UP = 1, FC_DOWN = 2, FC_BOTH = 3 };

struct engine;

/* One per slot, in the engine's conns array (engine_init maps it; a slot's entry is touched once a
 * TCP pair takes it), so kept to 80 bytes: the slot is wc.index, the small fields share one word,
 * the client's address is not kept (info() asks getpeername), and what only --threads needs is in
 * the per-slot conn_thr array, made only with workers. The two watches' 32-bit generations are
 * what make a close without EPOLL_CTL_DEL safe. The memory is never freed while the engine lives;
 * the slot is taken again only after its record is delivered, which is outside any batch
 * (js_flush_records from batch_end), so a handler that closed c may still read it. */
struct conn {
  struct watch wc, ws;          /* epoll_data of the client and the server fd; wc.index is the slot */
  int cfd, sfd;
  uint16_t server;              /* < MAX_SERVERS */
  uint16_t flags;               /* C_*, and the client's events that came while connecting (C_CEV_*) */
  uint16_t attempts;            /* connects tried, < MAX_ATTEMPTS */
  uint8_t listener;             /* < MAX_LISTENERS */
  struct pending to_server, to_client;
  uint64_t active_ms, connect_ms;
};
_Static_assert(sizeof(struct conn) <= 80, "struct conn is held per slot: keep it at 80 bytes");
_Static_assert(MAX_LISTENERS <= 256, "conn.listener is a uint8_t");
_Static_assert(MAX_SERVERS <= 65536, "conn.server is a uint16_t");
static inline uint32_t conn_slot(const struct conn *c) { return c->wc.index; }

/* --threads (thread.c): per slot, next to conns, allocated by threads_start only */
struct conn_thr {
  struct conn *next;            /* a worker's inbox or hand-back list, the engine's done list */
  struct conn *wnext, *wprev;   /* the owning worker's list */
  struct worker *worker;
  int hb_err;                   /* why it was handed back */
  uint8_t owner;                /* 1 while a worker holds it (the JS thread's field) */
  uint8_t close_req, hb_why;    /* close asked of the worker (atomic); why it was handed back */
};

/* conn flags */
#define C_CONNECTING 1u
#define C_CONNECTED 2u
#define C_EOF_CLIENT 4u      /* read EOF from the client */
#define C_EOF_SERVER 8u      /* read EOF from the server */
#define C_FLUSH_CLOSE 16u    /* close once nothing is pending (both ended, or fastclose) */
#define C_DEAD 32u
#define C_SHUT_SERVER 64u    /* shutdown(SHUT_WR) sent to the server */
#define C_SHUT_CLIENT 128u
#define C_CEV_SHIFT 8        /* bits 8..13: the client's events while connecting (tcp.c cev_pack) */
#define C_CEV_MASK (0x3fu << C_CEV_SHIFT)

struct server_addr {
  union sockaddr_any addr; socklen_t len;
  union sockaddr_any source; socklen_t source_len;   /* source_len 0: no bind */
  uint8_t down;            /* setDown: a known UDP client's next datagram asks JS where to go */
};

struct listener {
  struct watch w;
  int fd, id;
  int family;
  int udp;
  int paused;              /* TCP: accept nothing until resumed (JS's connection table is full) */
  int armed;               /* TCP: EPOLLIN is on (level-triggered); off while paused or after an accept error */
  struct listener *next;   /* graveyard */
};

struct session {
  struct watch w;
  struct session *next;           /* graveyard */
  struct session *hnext;          /* hash chain */
  struct engine *e;
  int fd;
  int32_t slot, server, listener;
  uint32_t dead;
  uint32_t replays;               /* resends of `last` since the client's latest datagram */
  uint64_t active_ms;
  union sockaddr_any client; socklen_t clen;
  char *last; uint32_t last_len, last_cap;   /* the latest client datagram, replayed after a refusal */
};

struct engine_stats {
  double allocs, alloc_bytes;      /* live native allocations */
  double fds;                      /* open data fds (listeners + connections + sessions) */
  double conns, sessions, listeners, pending_bufs;
  double accepted, accept_errors, closed, connect_failed, refused, slot_busy;
  double udp_in, udp_out, udp_dropped, sessions_created, sessions_closed;
  double js_calls, batches;
  double js_scopes;                /* batches that called JavaScript (js_scope_open) */
  double holds, held_batches;      /* hold.c: holds of Node's loop, and the batches run inside them */
  double holds_skipped;            /* hold.c: wake-ups that did not hold, backing off (see HOLD_WORTH) */
  double held_js;                  /* hold.c: held batches that ran JavaScript */
  double stale_events;             /* epoll events whose tag named no live registration (ignored) */
};

struct worker;

struct engine {
  napi_env env;
  /* a worker's engine (thread.c): wk its worker, main_e the JS thread's engine; both NULL there */
  struct worker *wk;
  struct engine *main_e;
  struct worker **workers; int nworkers, workers_cap, next_worker;
  uv_async_t *async;               /* workers -> JS thread: conns handed back (done) */
  pthread_mutex_t done_mu; int done_mu_init;
  struct conn *done;
  uv_loop_t *loop;
  int epfd;
  uv_poll_t *poll;                 /* own allocation: freed in its close callback */
  uv_timer_t *timer;
  uv_idle_t *idle;
  uv_prepare_t *keep;              /* hold.c: stands in for the stopped poll handle while holding */
  int hold;                        /* create({ holdLoop }): hold Node's loop (1 by default) */
  int hold_js;                     /* hold.c: 1 once uv_backend_timeout was seen to count queued
                                      watchers, so a batch that ran JS may go on holding; -1 unknown */
  uint32_t hold_skip, hold_backoff; /* hold.c: wake-ups to pass up after holds that bought nothing */
  int handles_open;                /* uv handles not yet closed-back */
  int destroyed, in_batch, flushing;
  /* JS side */
  napi_ref select_ref, failed_ref, records_ref, resource_ref;
  napi_async_context actx;
  napi_handle_scope hscope; napi_callback_scope cscope; int scoped;
  /* shared memory: records and live in one block (napi.c shared_memory), e->shm holds a ref */
  void *shm;
  double *rec; uint32_t rec_count;
  double *live;
  double *pkts;                    /* UDP datagrams per slot, PKT_WORDS each (untouched by TCP) */
  uint32_t nslots;
  /* per-slot tables, mapped (slot_map) so only the slots used are touched */
  uint8_t *slot_kind;              /* 0 free, 1 tcp, 2 udp, 3 closed-awaiting-record */
  void **slot_ptr;                 /* a UDP slot's session (a TCP slot's conn is conns[slot]) */
  struct conn *conns;
  struct conn_thr *thr;            /* --threads only; a worker's engine shares the JS thread's */
  /* configuration */
  struct server_addr *servers; uint32_t nservers;
  int fastclose;
  uint32_t accept_max;             /* accepts per listener wake-up (pen's -m); 1 by default */
  uint32_t watch_gen;              /* the last generation given to a registration (engine_watch) */
  uint64_t connect_timeout_ms, idle_timeout_ms, udp_idle_ms;
  /* tables */
  struct listener *listeners[MAX_LISTENERS];
  struct session *sgrave;
  struct listener *lgrave;
  struct session **hash; uint32_t hmask;
  char *iobuf;
  char *udpbuf;                    /* UDP_BATCH * UDP_BUF_SIZE, while a UDP listener exists */
  struct engine_stats st;
};

#define SLOT_FREE 0
#define SLOT_TCP 1
#define SLOT_UDP 2
#define SLOT_CLOSED 3

/* engine.c */
void *xmalloc(struct engine *e, size_t n);
void *xcalloc(struct engine *e, size_t n);
void xfree(struct engine *e, void *p, size_t n);
int engine_init(struct engine *e, uint32_t nslots);
void engine_destroy(struct engine *e);
int engine_watch(struct engine *e, int fd, struct watch *w, uint32_t events);
void engine_reap(struct engine *e);
void engine_record(struct engine *e, int kind, int32_t slot, int32_t server, int32_t listener, int why, int err);
void engine_arm_sweep(struct engine *e);
void engine_kick(struct engine *e);
int engine_batch(struct engine *e, int timeout_ms);
void engine_on_poll(uv_poll_t *h, int status, int events);
/* hold.c */
int hold_init(struct engine *e);
int hold_after_js(struct engine *e);
void hold_loop(struct engine *e);
void engine_update_ref(struct engine *e);
int engine_close_fd(struct engine *e, int fd);
int engine_close_et(struct engine *e, int fd);
uint64_t engine_tag(const struct watch *w);
uint64_t engine_now(struct engine *e);

/* slot.c: the per-slot tables */
void *slot_map(struct engine *e, size_t n);
void slot_unmap(struct engine *e, void *p, size_t n);
void slots_init(struct engine *e);
void slots_free(struct engine *e);
int slot_take(struct engine *e, double picked, int32_t *slot, int32_t *server, int kind, void *ptr);
void slot_free(struct engine *e, uint32_t slot);

/* napi.c: drop the engine's reference to the shared memory */
void shm_release(void *shm);

/* js.c: calls into JS, valid only on the JS thread inside a native callback */
void js_scope_open(struct engine *e);
void js_scope_close(struct engine *e);
double js_select(struct engine *e, int listener, const union sockaddr_any *from, int len);
double js_failed(struct engine *e, int32_t slot, int32_t server, int err);
void js_flush_records(struct engine *e);

/* addr.c */
int addr_parse(const char *host, int port, union sockaddr_any *out, socklen_t *len);
int addr_unix(const char *path, union sockaddr_any *out, socklen_t *len);
int addr_format(const struct sockaddr *sa, char *buf, size_t buflen, int *port);
uint32_t addr_hash(const union sockaddr_any *a);
int addr_equal(const union sockaddr_any *a, const union sockaddr_any *b);

/* tcp.c */
void tcp_on_accept(struct engine *e, struct listener *l);
void tcp_on_event(struct engine *e, struct conn *c, int server_side, uint32_t events);
void conn_close(struct engine *e, struct conn *c, int why, int err);
void tcp_sweep(struct engine *e, uint64_t now);

void tcp_resume(struct engine *e, struct conn *c);
void pending_release(struct engine *e, struct conn *c);

/* thread.c: --threads */
int threads_start(struct engine *e, int n);
void threads_stop(struct engine *e);
int threads_adopt(struct engine *e, struct conn *c);
void threads_request_close(struct engine *e, struct conn *c, int why);
void threads_collect(struct engine *e);
void threads_stats(struct engine *e, struct engine_stats *out);
static inline int conn_owned(const struct engine *e, const struct conn *c) { return e->thr && e->thr[conn_slot(c)].owner; }
void worker_handback(struct engine *we, struct conn *c, int why, int err);
void engine_on_async(uv_async_t *a);

/* udp.c */
int udp_buffers(struct engine *e);
void udp_on_listener(struct engine *e, struct listener *l);
void udp_on_upstream(struct engine *e, struct session *s);
void session_close(struct engine *e, struct session *s, int why, int err);
void udp_sweep(struct engine *e, uint64_t now);
void session_free(struct engine *e, struct session *s);
void udp_listener_gone(struct engine *e, int id);
int udp_recycle(struct engine *e);

/* engine.c: listeners (their fds are the engine's) */
int server_socket(struct engine *e, int32_t server, int type, struct watch *w, uint32_t events, int *out);
int listener_open(struct engine *e, const union sockaddr_any *a, socklen_t len, int udp, int backlog, int *id);
void listener_close(struct engine *e, int id);
int listener_pause(struct engine *e, int id, int paused);
int listener_arm(struct engine *e, struct listener *l, int on);

#endif
