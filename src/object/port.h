// zxhv: ports: FIFO packet queues with any number of waiters (spec §1.9, §3.10).
#ifndef ZXHV_OBJECT_PORT_H_
#define ZXHV_OBJECT_PORT_H_

#include <pthread.h>
#include <zircon/syscalls/port.h>
#include <zircon/types.h>

#include "object/object.h"

// Zircon's kMaxPendingPacketCountPerPort: 16 KiB of packet pointers (spec §3.10).
#define PORT_MAX_PENDING 2048u

struct port_packet {
    struct port_packet* next;
    zx_port_packet_t packet;
    // Called once the packet has left the port (delivered, or dropped with the port). NULL means
    // free(). Trap packets return to their trap's arena this way.
    void (*release)(struct port_packet* p);
};

struct port {
    struct object base;
    // Guards every field below. Waiters sleep on |ready|.
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct port_packet* head;
    struct port_packet* tail;
    size_t count;
    bool zero_handles;  // set once the last handle is closed
};

zx_status_t port_create(struct port** out);

// Queues |p| at the tail. The port takes ownership only on ZX_OK.
// Errors: ZX_ERR_SHOULD_WAIT (more than PORT_MAX_PENDING packets already queued, so at most 2049
// can be pending, as on Zircon), ZX_ERR_BAD_STATE (every handle to the port is closed: nobody
// could ever read it).
zx_status_t port_queue(struct port* port, struct port_packet* p);

// Waits until a packet is queued or |deadline| (ZX_CLOCK_MONOTONIC) passes, then copies the oldest
// packet to |user_packet|. A packet that cannot be copied out goes back to the head of the queue,
// so it is never lost. May block. Errors: ZX_ERR_TIMED_OUT, ZX_ERR_INVALID_ARGS (bad pointer).
zx_status_t port_wait(struct port* port, zx_time_t deadline, zx_port_packet_t* user_packet);

static inline struct port* to_port(struct object* obj) { return (struct port*)obj; }

#endif  // ZXHV_OBJECT_PORT_H_
