// zxhv run: a virtio console (device ID 3) over virtio-mmio version 2 at PLAT_VIRTIO_CON_BASE.
// Feature VIRTIO_F_VERSION_1 only; queue 0 (receiveq) gets stdin bytes, queue 1 (transmitq) goes
// to stdout; at most VQ_MAX_SIZE entries per queue. A queue is processed when the driver notifies
// it (QueueNotify, or a doorbell write at PLAT_VIRTIO_CON_BELL + 4 * queue), and the receive queue
// also when input arrives. No interrupt line: InterruptStatus bit 0 is set on every used-ring
// update, and drivers poll the used ring. All entry points may run on any thread at once.
#ifndef ZXHV_TOOLS_DEV_VIRTIO_CON_H_
#define ZXHV_TOOLS_DEV_VIRTIO_CON_H_

#include <pthread.h>
#include <stdint.h>

#include "dev_term.h"
#include "dev_virtqueue.h"

#define VIRTIO_CON_QUEUES 2u

struct virtio_con {
    pthread_mutex_t mu;  // guards everything below (mem and term are fixed)
    struct guest_mem mem;
    struct term* term;
    uint32_t status;
    uint32_t device_features_sel;
    uint32_t driver_features_sel;
    uint64_t driver_features;
    uint32_t queue_sel;
    uint32_t interrupt_status;
    struct virtqueue vq[VIRTIO_CON_QUEUES];
};

void virtio_con_init(struct virtio_con* c, struct guest_mem mem, struct term* term);
void virtio_con_destroy(struct virtio_con* c);

// A |size|-byte load at |offset| in the register page; the value, zero-extended.
uint64_t virtio_con_mmio_read(struct virtio_con* c, uint64_t offset, uint8_t size);

// A |size|-byte store of |value| at |offset| in the register page.
void virtio_con_mmio_write(struct virtio_con* c, uint64_t offset, uint8_t size, uint64_t value);

// The driver notified |queue| (a doorbell); out-of-range queues are ignored.
void virtio_con_notify(struct virtio_con* c, uint32_t queue);

// A doorbell write at |offset| in the doorbell page (PLAT_VIRTIO_CON_BELL): offset 4 * q
// notifies queue q; other offsets do nothing.
void virtio_con_doorbell(struct virtio_con* c, uint64_t offset);

// New stdin bytes may be waiting (the terminal's input callback; |ctx| is the device).
void virtio_con_input(void* ctx);

#endif  // ZXHV_TOOLS_DEV_VIRTIO_CON_H_
