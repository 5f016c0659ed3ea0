// zxhv: the doorbell fast path (an extension, zxhv.h): writes of one size to one address inside a
// BELL trap are absorbed by a KVM ioeventfd instead of exiting to the VCPU's thread, and a library
// thread turns the eventfd's count into GUEST_BELL packets on the trap's port
// (design-notes "Bells and ioeventfd", docs/host-differences.md §5.9).
#ifndef ZXHV_HV_BELL_FAST_H_
#define ZXHV_HV_BELL_FAST_H_

#include <stdatomic.h>
#include <stdint.h>
#include <zircon/types.h>

#include "hv/trap_map.h"

// Adds a fast path for |size|-byte writes at |addr|; |coalesce| merges the writes that arrive
// before the library reads the counter into one packet. Errors: ZX_ERR_NOT_FOUND (no BELL trap
// holds [addr, addr + size)), ZX_ERR_ALREADY_EXISTS (a fast path at |addr|), ZX_ERR_NOT_SUPPORTED
// (KVM has no ioeventfds), ZX_ERR_NO_RESOURCES (no fd or thread), ZX_ERR_NO_MEMORY,
// ZX_ERR_INTERNAL (KVM refused the ioeventfd otherwise).
zx_status_t bell_fast_add(struct trap_map* map, int vm_fd, uint64_t addr, uint32_t size,
                          bool coalesce);

// Queues, in order, the packets for every write the fast paths of |trap| have absorbed, so that a
// doorbell taken through an exit is not overtaken. May block like trap_queue_bell; returns
// ZX_ERR_CANCELED if |*cancel| becomes true meanwhile (what was not queued stays counted).
zx_status_t bell_fast_flush(struct trap* trap, const atomic_bool* cancel);

// Stops every fast path of |map|: no write is absorbed after this, counted writes are queued as far
// as the traps have room, and the threads are joined. Call before trap_map_destroy, with the VM fd
// still open and no VCPU running.
void bell_fast_stop_all(struct trap_map* map, int vm_fd);

#endif  // ZXHV_HV_BELL_FAST_H_
