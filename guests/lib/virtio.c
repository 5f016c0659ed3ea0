// Guest runtime: virtio-mmio version 2 and split virtqueues (virtio.h). Register offsets and the
// initialisation sequence follow the virtio 1.1 specification (§4.2.2, §3.1.1, §2.6).
#include "virtio.h"

#include "rt.h"
#include "../../tools/zxhv/virtio_mmio.h"  // the layout the VMM implements


#define F_VERSION_1_HIGH 1u  // feature bit 32: bit 0 of the upper word
#define DESC_F_WRITE 2u

static uint32_t reg_read(struct virtio_dev* dev, uint32_t offset) {
    return mmio_read32(dev->regs + offset);
}

static void reg_write(struct virtio_dev* dev, uint32_t offset, uint32_t value) {
    mmio_write32(dev->regs + offset, value);
}

const char* virtio_init(struct virtio_dev* dev, uintptr_t regs, uintptr_t bell,
                        uint32_t device_id) {
    dev->regs = regs;
    dev->bell = bell;
    if (reg_read(dev, REG_MAGIC) != VIRTIO_MMIO_MAGIC) return "no virtio-mmio magic value";
    if (reg_read(dev, REG_VERSION) != 2) return "not virtio-mmio version 2";
    if (reg_read(dev, REG_DEVICE_ID) != device_id) return "another kind of device";
    reg_write(dev, REG_STATUS, 0);  // reset
    reg_write(dev, REG_STATUS, STATUS_ACKNOWLEDGE);
    reg_write(dev, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    reg_write(dev, REG_DEVICE_FEATURES_SEL, 1);
    if (!(reg_read(dev, REG_DEVICE_FEATURES) & F_VERSION_1_HIGH)) return "no VIRTIO_F_VERSION_1";
    reg_write(dev, REG_DRIVER_FEATURES_SEL, 0);
    reg_write(dev, REG_DRIVER_FEATURES, 0);
    reg_write(dev, REG_DRIVER_FEATURES_SEL, 1);
    reg_write(dev, REG_DRIVER_FEATURES, F_VERSION_1_HIGH);
    uint32_t status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
    reg_write(dev, REG_STATUS, status);
    if (!(reg_read(dev, REG_STATUS) & STATUS_FEATURES_OK)) {
        reg_write(dev, REG_STATUS, status | STATUS_FAILED);
        return "features not accepted";
    }
    return NULL;
}

const char* virtio_queue_init(struct virtio_dev* dev, struct virtq* q, uint16_t index,
                              struct virtq_memory* mem) {
    memset(mem, 0, sizeof(*mem));
    *q = (struct virtq){
        .mem = mem,
        .index = index,
        .doorbell = dev->bell ? dev->bell + 4u * index : dev->regs + REG_QUEUE_NOTIFY,
    };
    reg_write(dev, REG_QUEUE_SEL, index);
    if (reg_read(dev, REG_QUEUE_READY) != 0) return "queue already in use";
    uint32_t max = reg_read(dev, REG_QUEUE_NUM_MAX);
    if (max < VIRTQ_SIZE) return "queue too small";
    reg_write(dev, REG_QUEUE_NUM, VIRTQ_SIZE);
    uint64_t desc = (uintptr_t)mem->desc;
    uint64_t avail = (uintptr_t)&mem->avail;
    uint64_t used = (uintptr_t)&mem->used;
    reg_write(dev, REG_QUEUE_DESC_LOW, (uint32_t)desc);
    reg_write(dev, REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    reg_write(dev, REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
    reg_write(dev, REG_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    reg_write(dev, REG_QUEUE_DEVICE_LOW, (uint32_t)used);
    reg_write(dev, REG_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    reg_write(dev, REG_QUEUE_READY, 1);
    if (reg_read(dev, REG_QUEUE_READY) != 1) return "queue layout refused";
    return NULL;
}

void virtio_driver_ok(struct virtio_dev* dev) {
    reg_write(dev, REG_STATUS, reg_read(dev, REG_STATUS) | STATUS_DRIVER_OK);
}

void virtq_post(struct virtq* q, uint16_t desc, void* buf, uint32_t len, bool device_writes) {
    volatile struct virtq_memory* m = q->mem;
    m->desc[desc].addr = (uintptr_t)buf;
    m->desc[desc].len = len;
    m->desc[desc].flags = device_writes ? DESC_F_WRITE : 0;
    m->desc[desc].next = 0;
    m->avail.ring[q->next_avail % VIRTQ_SIZE] = desc;
    // x86 keeps stores in order; the compiler must too: the entry before the index.
    compiler_barrier();
    m->avail.idx = ++q->next_avail;
}

void virtq_notify(struct virtq* q) {
    compiler_barrier();
    mmio_write32(q->doorbell, q->index);
}

bool virtq_take_used(struct virtq* q, uint16_t* desc, uint32_t* len) {
    volatile struct virtq_memory* m = q->mem;
    if (m->used.idx == q->last_used) return false;
    compiler_barrier();  // the index before the entry it covers
    volatile struct virtq_used_elem* e = &m->used.ring[q->last_used % VIRTQ_SIZE];
    *desc = (uint16_t)e->id;
    *len = e->len;
    q->last_used++;
    return true;
}
