// zxhv: a guest's traps (Zircon's TrapMap and Trap, spec §1.2, §3.1, §3.3, §3.10). BELL and MEM
// traps share one address space, IO traps have their own; each is sorted by start address and a
// lookup finds the trap with the greatest start <= addr that contains addr.
#ifndef ZXHV_HV_TRAP_MAP_H_
#define ZXHV_HV_TRAP_MAP_H_

#include <pthread.h>
#include <stdatomic.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/types.h>

#include "object/port.h"

// Packets one BELL trap may have queued and not yet read (Zircon's kMaxPacketsPerRange).
#define TRAP_MAX_PACKETS 256u

struct bell_fast;

struct trap {
    atomic_uint_fast32_t refs;
    zx_guest_trap_t kind;
    uint64_t addr;
    uint64_t len;
    struct port* port;  // a reference, or NULL (MEM and IO traps)
    uint64_t key;
    // Guards |in_flight|; |freed| is signalled when a packet is read.
    pthread_mutex_t lock;
    pthread_cond_t freed;
    uint32_t in_flight;
    // The doorbell fast paths of a BELL trap (hv/bell_fast.h): a list only ever added to, while
    // the trap is alive, and read without a lock.
    _Atomic(struct bell_fast*) fast;
};

struct trap_list {
    struct trap** traps;  // sorted by addr
    size_t count;
    size_t capacity;
};

struct trap_map {
    pthread_mutex_t lock;  // guards both lists
    struct trap_list mem;  // BELL and MEM
    struct trap_list io;
};

void trap_map_init(struct trap_map* map);
// Drops every trap (queued BELL packets stay valid until read).
void trap_map_destroy(struct trap_map* map);

// Adds a trap; the map takes a reference to |port| if not NULL.
// Errors: ZX_ERR_ALREADY_EXISTS (a trap with the same start in the same space), ZX_ERR_NO_MEMORY.
zx_status_t trap_map_insert(struct trap_map* map, zx_guest_trap_t kind, uint64_t addr,
                            uint64_t len, struct port* port, uint64_t key);

// Finds the trap containing |addr| in the IO space (|io|) or the BELL/MEM space. On ZX_OK *out
// holds a reference (drop it with trap_unref). Errors: ZX_ERR_NOT_FOUND.
zx_status_t trap_map_find(struct trap_map* map, bool io, uint64_t addr, struct trap** out);

void trap_unref(struct trap* trap);

// Queues a GUEST_BELL packet for a write to |gpa|. Blocks while TRAP_MAX_PACKETS are queued and
// unread, until one is read or |*cancel| becomes true (then ZX_ERR_CANCELED). Other errors: those
// of port_queue (ZX_ERR_BAD_STATE when every handle to the port is closed, ZX_ERR_SHOULD_WAIT),
// ZX_ERR_NO_MEMORY. May block.
zx_status_t trap_queue_bell(struct trap* trap, uint64_t gpa, const atomic_bool* cancel);

#endif  // ZXHV_HV_TRAP_MAP_H_
