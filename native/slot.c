/*
 * The per-slot tables: slot_kind, slot_ptr (a UDP slot's session), conns (a TCP slot's conn) and,
 * with --threads, thr. They are mapped at start for every slot and touched only as slots are used,
 * as the live words of the shared memory are; a held TCP connection touches its conn, its live
 * words and its slot_kind byte (layout().tcpSlotBytes).
 *
 * fd ownership: none. Memory: each table is mapped by slots_init (thr by threads_start) and
 * unmapped by slots_free, once the engine's last handle has closed.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include "engine.h"

/* A per-slot table: mapped rather than malloc'd, so its pages are zero and untouched (not in RSS)
 * until a slot is used, whatever malloc's heap holds. Counted with the allocations. */
void *slot_map(struct engine *e, size_t n) {
  void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  e->st.allocs++;
  e->st.alloc_bytes += (double)n;
  return p;
}

void slot_unmap(struct engine *e, void *p, size_t n) {
  if (!p) return;
  MEM_UNPOISON(p, n);
  munmap(p, n ? n : 1);
  e->st.allocs--;
  e->st.alloc_bytes -= (double)n;
}

void slots_init(struct engine *e) {
  e->slot_kind = slot_map(e, e->nslots);
  e->slot_ptr = slot_map(e, (size_t)e->nslots * sizeof(void *));
  e->conns = slot_map(e, (size_t)e->nslots * sizeof(struct conn));
  if (e->conns) MEM_POISON(e->conns, (size_t)e->nslots * sizeof(struct conn));   /* no slot is taken yet */
}

void slots_free(struct engine *e) {
  slot_unmap(e, e->slot_kind, e->nslots);
  slot_unmap(e, e->slot_ptr, (size_t)e->nslots * sizeof(void *));
  slot_unmap(e, e->conns, (size_t)e->nslots * sizeof(struct conn));
  slot_unmap(e, e->thr, (size_t)e->nslots * sizeof(struct conn_thr));
  e->slot_kind = NULL; e->slot_ptr = NULL; e->conns = NULL; e->thr = NULL;
}

/*
 * JS returned a pick: -1, or slot * 65536 + server. Take the slot for `ptr`.
 * Returns 0, or -1 when JS refused, -2 when the pick is out of range or the slot is taken.
 */
int slot_take(struct engine *e, double picked, int32_t *slot, int32_t *server, int kind, void *ptr) {
  if (!(picked >= 0)) return -1;                   /* -1, NaN, undefined */
  if (!(picked < 9007199254740992.0)) { e->st.refused++; return -2; }   /* 2^53: exact integers only */
  double s = (double)(int64_t)(picked / PICK_SLOT_MUL);
  double v = picked - s * PICK_SLOT_MUL;
  if (picked != (double)(int64_t)picked || s >= e->nslots || v >= e->nservers) { e->st.refused++; return -2; }
  uint32_t si = (uint32_t)s;
  if (e->slot_kind[si] != SLOT_FREE) { e->st.slot_busy++; return -2; }
  e->slot_kind[si] = (uint8_t)kind;
  if (kind == SLOT_UDP) {   /* a TCP slot's conn is conns[si]: its slot_ptr and packets stay untouched */
    e->slot_ptr[si] = ptr;
    memset(e->pkts + (size_t)si * PKT_WORDS, 0, PKT_WORDS * sizeof(double));
  }
  *slot = (int32_t)si;
  *server = (int32_t)v;
  double *l = e->live + (size_t)si * LIVE_WORDS;
  memset(l, 0, LIVE_WORDS * sizeof(double));
  l[L_SERVER] = v;
  return 0;
}

/* The slot's record was delivered (js_flush_records, outside any batch, so no handler still reads
 * the conn that held it), or its UDP session was recycled (udp_recycle: the session is in the
 * graveyard): free for the next pick. */
void slot_free(struct engine *e, uint32_t slot) {
  e->slot_kind[slot] = SLOT_FREE;   /* slot_ptr was cleared by its owner: a TCP slot never touches it */
  e->live[(size_t)slot * LIVE_WORDS + L_STATE] = ST_FREE;
  MEM_POISON(&e->conns[slot], sizeof e->conns[slot]);
}
