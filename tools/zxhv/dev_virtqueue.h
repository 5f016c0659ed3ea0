// zxhv run: split virtqueues (virtio 1.x, §2.6) in guest RAM, read through the VMM's host mapping
// of it. Everything the guest wrote is checked before use: ring addresses, indices, descriptor
// bounds and chain lengths. A bad descriptor is skipped; a queue whose avail index is impossible
// is marked broken and left alone. No indirect descriptors, no event index.
#ifndef ZXHV_TOOLS_DEV_VIRTQUEUE_H_
#define ZXHV_TOOLS_DEV_VIRTQUEUE_H_

#include <stdbool.h>
#include <stdint.h>

#define VQ_MAX_SIZE 256u

// Guest RAM as the host sees it: guest physical [0, size) at base.
struct guest_mem {
    uint8_t* base;
    uint64_t size;
};

// A host pointer to guest physical [gpa, gpa + len), or NULL if any of it lies outside RAM.
void* guest_mem_ptr(const struct guest_mem* mem, uint64_t gpa, uint64_t len);

// One queue's registers as the driver set them, and the device's progress. Not thread-safe: the
// device that owns it serializes access.
struct virtqueue {
    uint16_t num;        // queue size the driver chose (QueueNum)
    bool ready;          // QueueReady, accepted only for a valid layout (vq_enable)
    bool broken;         // the driver published an impossible avail index
    uint64_t desc, avail, used;  // guest physical addresses of the three areas
    uint16_t last_avail; // next avail ring entry the device will take
    uint16_t used_idx;   // the used index the device last published
};

// A piece of a descriptor chain, already bounds-checked.
struct vq_buf {
    uint8_t* data;  // host pointer
    uint32_t len;
    bool writable;  // device-writable (VIRTQ_DESC_F_WRITE)
};

// Validates the layout (size a power of two up to VQ_MAX_SIZE, areas aligned and inside RAM) and
// marks the queue ready. Returns false, leaving it not ready, if the layout is invalid.
bool vq_enable(struct virtqueue* vq, const struct guest_mem* mem);

// Forgets the queue's state (device reset or QueueReady = 0).
void vq_reset(struct virtqueue* vq);

// Takes the next available chain into bufs (at most max pieces; bad descriptors are left out).
// Returns 1 with *head and *count set, 0 if none is available, -1 if the queue is unusable.
int vq_pop(struct virtqueue* vq, const struct guest_mem* mem, uint16_t* head, struct vq_buf* bufs,
           unsigned max, unsigned* count);

// Gives back the chain vq_pop just returned, unused, so a later vq_pop returns it again.
void vq_unpop(struct virtqueue* vq);

// Returns chain |head| to the driver with |len| bytes written into it.
void vq_push(struct virtqueue* vq, const struct guest_mem* mem, uint16_t head, uint32_t len);

#endif  // ZXHV_TOOLS_DEV_VIRTQUEUE_H_
