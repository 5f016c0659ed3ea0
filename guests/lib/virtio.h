// Guest runtime: a virtio 1.x driver core for virtio-mmio version 2 devices with split
// virtqueues, polled (zxhv's devices raise no interrupts; tools/zxhv/platform.h). One buffer per
// descriptor, no chains, no event index.
#ifndef GUESTS_LIB_VIRTIO_H_
#define GUESTS_LIB_VIRTIO_H_

#include <stdbool.h>
#include <stdint.h>

#define VIRTQ_SIZE 16u  // entries per queue this driver uses (a power of two)

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

// The three areas of one queue, in guest memory the device reads and writes.
struct virtq_memory {
    struct virtq_desc desc[VIRTQ_SIZE];
    struct {
        uint16_t flags;
        uint16_t idx;
        uint16_t ring[VIRTQ_SIZE];
        uint16_t used_event;
    } avail;
    struct {
        uint16_t flags;
        uint16_t idx;
        struct virtq_used_elem ring[VIRTQ_SIZE];
        uint16_t avail_event;
    } __attribute__((aligned(4))) used;
} __attribute__((aligned(4096)));

struct virtq {
    volatile struct virtq_memory* mem;
    uint16_t index;
    uint16_t next_avail;  // the avail index this driver publishes next
    uint16_t last_used;   // the used index this driver has consumed up to
    uintptr_t doorbell;
};

struct virtio_dev {
    uintptr_t regs;  // the register page
    uintptr_t bell;  // doorbells: a write at bell + 4 * queue notifies that queue (0: QueueNotify)
};

// Resets the device at |regs| and negotiates VIRTIO_F_VERSION_1 alone. Returns NULL, or why the
// device cannot be used.
const char* virtio_init(struct virtio_dev* dev, uintptr_t regs, uintptr_t bell, uint32_t device_id);

// Sets up queue |index| in |mem| (VIRTQ_SIZE entries). Returns NULL, or why not.
const char* virtio_queue_init(struct virtio_dev* dev, struct virtq* q, uint16_t index,
                              struct virtq_memory* mem);

// Tells the device the driver is ready (after all its queues are set up).
void virtio_driver_ok(struct virtio_dev* dev);

// Makes [buf, buf + len) available as descriptor |desc| (< VIRTQ_SIZE, not in use); the device
// writes it if |device_writes|, else reads it. The device learns of it at the next notify.
void virtq_post(struct virtq* q, uint16_t desc, void* buf, uint32_t len, bool device_writes);

// Rings the queue's doorbell.
void virtq_notify(struct virtq* q);

// Takes the next buffer the device has finished with: its descriptor and how many bytes the
// device wrote. Returns false if there is none yet.
bool virtq_take_used(struct virtq* q, uint16_t* desc, uint32_t* len);

#endif  // GUESTS_LIB_VIRTIO_H_
