// zxhv run: split virtqueues (dev_virtqueue.h). Layouts from the virtio 1.1 specification §2.6.
#include "dev_virtqueue.h"

#include <string.h>

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

// Offsets inside the avail and used areas.
#define AVAIL_IDX 2u
#define AVAIL_RING 4u
#define USED_IDX 2u
#define USED_RING 4u
#define USED_ELEM_SIZE 8u

void* guest_mem_ptr(const struct guest_mem* mem, uint64_t gpa, uint64_t len) {
    if (gpa > mem->size || len > mem->size - gpa)
        return NULL;
    return mem->base + gpa;
}

bool vq_enable(struct virtqueue* vq, const struct guest_mem* mem) {
    uint64_t n = vq->num;
    if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)) != 0)
        return false;
    if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
        return false;
    if (!guest_mem_ptr(mem, vq->desc, 16 * n) || !guest_mem_ptr(mem, vq->avail, 6 + 2 * n) ||
        !guest_mem_ptr(mem, vq->used, 6 + USED_ELEM_SIZE * n))
        return false;
    vq->ready = true;
    vq->broken = false;
    vq->last_avail = 0;
    vq->used_idx = 0;
    return true;
}

void vq_reset(struct virtqueue* vq) { *vq = (struct virtqueue){0}; }

// The driver's avail index (acquire: the ring entries before it are then visible).
static uint16_t avail_idx(const struct virtqueue* vq, const struct guest_mem* mem) {
    uint16_t* p = (uint16_t*)(mem->base + vq->avail + AVAIL_IDX);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

// Walks the chain from |head|, at most one visit per descriptor (a looping chain ends there).
static unsigned walk_chain(const struct virtqueue* vq, const struct guest_mem* mem, uint16_t head,
                           struct vq_buf* bufs, unsigned max) {
    unsigned count = 0;
    uint16_t i = head;
    for (unsigned steps = 0; steps < vq->num; steps++) {
        struct virtq_desc d;
        memcpy(&d, mem->base + vq->desc + 16u * i, sizeof(d));  // one copy: the guest may race
        void* data = guest_mem_ptr(mem, d.addr, d.len);
        if (data && d.len > 0 && !(d.flags & VIRTQ_DESC_F_INDIRECT) && count < max)
            bufs[count++] = (struct vq_buf){
                .data = data, .len = d.len, .writable = (d.flags & VIRTQ_DESC_F_WRITE) != 0};
        if (!(d.flags & VIRTQ_DESC_F_NEXT) || d.next >= vq->num)
            break;
        i = d.next;
    }
    return count;
}

int vq_pop(struct virtqueue* vq, const struct guest_mem* mem, uint16_t* head, struct vq_buf* bufs,
           unsigned max, unsigned* count) {
    if (!vq->ready || vq->broken)
        return -1;
    for (;;) {
        uint16_t pending = (uint16_t)(avail_idx(vq, mem) - vq->last_avail);
        if (pending == 0)
            return 0;
        if (pending > vq->num) {
            vq->broken = true;
            return -1;
        }
        uint16_t slot = vq->last_avail % vq->num;
        uint16_t h;
        memcpy(&h, mem->base + vq->avail + AVAIL_RING + 2u * slot, sizeof(h));
        vq->last_avail++;
        if (h >= vq->num)
            continue;  // no such descriptor: nothing to give back either
        *head = h;
        *count = walk_chain(vq, mem, h, bufs, max);
        return 1;
    }
}

void vq_unpop(struct virtqueue* vq) { vq->last_avail--; }

void vq_push(struct virtqueue* vq, const struct guest_mem* mem, uint16_t head, uint32_t len) {
    if (!vq->ready)
        return;
    uint16_t slot = vq->used_idx % vq->num;
    uint32_t elem[2] = {head, len};
    memcpy(mem->base + vq->used + USED_RING + USED_ELEM_SIZE * slot, elem, sizeof(elem));
    vq->used_idx++;
    uint16_t* idx = (uint16_t*)(mem->base + vq->used + USED_IDX);
    __atomic_store_n(idx, vq->used_idx, __ATOMIC_RELEASE);
}
