// zxhv run: virtio console over virtio-mmio (dev_virtio_con.h). Register offsets from the virtio
// 1.1 specification §4.2.2; the console from §5.3.
#include "dev_virtio_con.h"

#include <string.h>

#include "platform.h"
#include "virtio_mmio.h"

#define VIRTIO_MMIO_VERSION 2u
#define VIRTIO_ID_CONSOLE 3u
#define VIRTIO_VENDOR_ZXHV 0x7668787au  // "zxhv"
#define VIRTIO_F_VERSION_1 (1ull << 32)
#define DEVICE_FEATURES VIRTIO_F_VERSION_1

#define INTERRUPT_USED_BUFFER 1u

#define QUEUE_RX 0u
#define QUEUE_TX 1u

// The console's configuration space (cols, rows, max_nr_ports, emerg_wr) is 12 bytes; with none
// of its features offered it reads as zeros.
#define CONFIG_OFFSET 0x100u


void virtio_con_init(struct virtio_con* c, struct guest_mem mem, struct term* term) {
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->mem = mem;
    c->term = term;
}

void virtio_con_destroy(struct virtio_con* c) { pthread_mutex_destroy(&c->mu); }

static void reset_locked(struct virtio_con* c) {
    c->status = 0;
    c->device_features_sel = c->driver_features_sel = c->queue_sel = 0;
    c->driver_features = 0;
    c->interrupt_status = 0;
    for (unsigned q = 0; q < VIRTIO_CON_QUEUES; q++)
        vq_reset(&c->vq[q]);
}

// The selected queue, or NULL when QueueSel names none.
static struct virtqueue* selected(struct virtio_con* c) {
    return c->queue_sel < VIRTIO_CON_QUEUES ? &c->vq[c->queue_sel] : NULL;
}

// A queue the driver broke (an impossible avail index) stays stopped until the device is reset.
static void check_broken_locked(struct virtio_con* c, const struct virtqueue* vq) {
    if (vq->broken)
        c->status |= STATUS_DEVICE_NEEDS_RESET;
}

// Every device-readable byte of every available transmit chain goes to the terminal.
static void drain_tx_locked(struct virtio_con* c) {
    struct virtqueue* vq = &c->vq[QUEUE_TX];
    struct vq_buf bufs[VQ_MAX_SIZE];
    uint16_t head;
    unsigned n;
    bool used = false;
    while (vq_pop(vq, &c->mem, &head, bufs, VQ_MAX_SIZE, &n) == 1) {
        for (unsigned i = 0; i < n; i++)
            if (!bufs[i].writable)
                term_write(c->term, bufs[i].data, bufs[i].len);
        vq_push(vq, &c->mem, head, 0);
        used = true;
    }
    check_broken_locked(c, vq);
    if (used)
        c->interrupt_status |= INTERRUPT_USED_BUFFER;
}

// Queued stdin bytes go into available receive chains, as long as both last.
static void fill_rx_locked(struct virtio_con* c) {
    struct virtqueue* vq = &c->vq[QUEUE_RX];
    struct vq_buf bufs[VQ_MAX_SIZE];
    uint16_t head;
    unsigned n;
    bool used = false;
    while (vq->ready && term_input_ready(c->term) &&
           vq_pop(vq, &c->mem, &head, bufs, VQ_MAX_SIZE, &n) == 1) {
        uint32_t written = 0;
        bool room = false;
        for (unsigned i = 0; i < n; i++) {
            if (!bufs[i].writable)
                continue;
            room = true;
            size_t got = term_read(c->term, bufs[i].data, bufs[i].len);
            written += (uint32_t)got;
            if (got < bufs[i].len)
                break;
        }
        if (written == 0 && room) {  // another console took the bytes: keep the chain for later
            vq_unpop(vq);
            break;
        }
        // A chain with no usable writable buffer goes back empty: kept, it would block the queue.
        vq_push(vq, &c->mem, head, written);
        used = true;
    }
    check_broken_locked(c, vq);
    if (used)
        c->interrupt_status |= INTERRUPT_USED_BUFFER;
}

static void notify_locked(struct virtio_con* c, uint32_t queue) {
    if (queue == QUEUE_TX)
        drain_tx_locked(c);
    else if (queue == QUEUE_RX)
        fill_rx_locked(c);
}

void virtio_con_notify(struct virtio_con* c, uint32_t queue) {
    pthread_mutex_lock(&c->mu);
    notify_locked(c, queue);
    pthread_mutex_unlock(&c->mu);
}

void virtio_con_doorbell(struct virtio_con* c, uint64_t offset) {
    if (offset < PLAT_VIRTIO_CON_BELL_SIZE && offset % 4 == 0)
        virtio_con_notify(c, (uint32_t)(offset / 4));
}

void virtio_con_input(void* ctx) {
    struct virtio_con* c = ctx;
    pthread_mutex_lock(&c->mu);
    fill_rx_locked(c);
    pthread_mutex_unlock(&c->mu);
}

static uint32_t read_reg_locked(struct virtio_con* c, uint64_t offset) {
    struct virtqueue* vq = selected(c);
    switch (offset) {
    case REG_MAGIC:
        return VIRTIO_MMIO_MAGIC;
    case REG_VERSION:
        return VIRTIO_MMIO_VERSION;
    case REG_DEVICE_ID:
        return VIRTIO_ID_CONSOLE;
    case REG_VENDOR_ID:
        return VIRTIO_VENDOR_ZXHV;
    case REG_DEVICE_FEATURES:
        return c->device_features_sel < 2 ? (uint32_t)(DEVICE_FEATURES >> (32 * c->device_features_sel))
                                          : 0;
    case REG_QUEUE_NUM_MAX:
        return vq ? VQ_MAX_SIZE : 0;
    case REG_QUEUE_NUM:
        return vq ? vq->num : 0;
    case REG_QUEUE_READY:
        return vq ? vq->ready : 0;
    case REG_INTERRUPT_STATUS:
        return c->interrupt_status;
    case REG_STATUS:
        return c->status;
    case REG_QUEUE_DESC_LOW:
        return vq ? (uint32_t)vq->desc : 0;
    case REG_QUEUE_DESC_HIGH:
        return vq ? (uint32_t)(vq->desc >> 32) : 0;
    case REG_QUEUE_DRIVER_LOW:
        return vq ? (uint32_t)vq->avail : 0;
    case REG_QUEUE_DRIVER_HIGH:
        return vq ? (uint32_t)(vq->avail >> 32) : 0;
    case REG_QUEUE_DEVICE_LOW:
        return vq ? (uint32_t)vq->used : 0;
    case REG_QUEUE_DEVICE_HIGH:
        return vq ? (uint32_t)(vq->used >> 32) : 0;
    case REG_CONFIG_GENERATION:
        return 0;
    default:
        return 0;
    }
}

uint64_t virtio_con_mmio_read(struct virtio_con* c, uint64_t offset, uint8_t size) {
    if (offset >= CONFIG_OFFSET || size != 4 || (offset & 3))
        return 0;  // zero config space; registers are 32-bit and aligned (§4.2.2.2)
    pthread_mutex_lock(&c->mu);
    uint32_t v = read_reg_locked(c, offset);
    pthread_mutex_unlock(&c->mu);
    return v;
}

// Replaces the low or high half of *field.
static void set_half(uint64_t* field, bool high, uint32_t v) {
    if (high)
        *field = (*field & 0xffffffffull) | ((uint64_t)v << 32);
    else
        *field = (*field & ~0xffffffffull) | v;
}

// FEATURES_OK sticks only if the driver took VERSION_1 and nothing that was not offered.
static void write_status_locked(struct virtio_con* c, uint32_t v) {
    if (v == 0) {
        reset_locked(c);
        return;
    }
    if ((v & STATUS_FEATURES_OK) && !(c->status & STATUS_FEATURES_OK)) {
        bool ok = (c->driver_features & ~DEVICE_FEATURES) == 0 &&
                  (c->driver_features & VIRTIO_F_VERSION_1);
        if (!ok)
            v &= ~STATUS_FEATURES_OK;
    }
    c->status = v & 0xff;
}

static void write_queue_ready_locked(struct virtio_con* c, struct virtqueue* vq, uint32_t v) {
    if (v & 1) {
        if (!vq->ready)
            vq_enable(vq, &c->mem);  // refused layouts read back as not ready
    } else {
        uint16_t num = vq->num;
        vq_reset(vq);
        vq->num = num;
    }
}

static void write_reg_locked(struct virtio_con* c, uint64_t offset, uint32_t v) {
    struct virtqueue* vq = selected(c);
    bool queue_writable = vq && !vq->ready;  // the layout is fixed while the queue runs
    switch (offset) {
    case REG_DEVICE_FEATURES_SEL:
        c->device_features_sel = v;
        break;
    case REG_DRIVER_FEATURES:
        if (c->driver_features_sel < 2 && !(c->status & STATUS_FEATURES_OK))
            set_half(&c->driver_features, c->driver_features_sel == 1, v);
        break;
    case REG_DRIVER_FEATURES_SEL:
        c->driver_features_sel = v;
        break;
    case REG_QUEUE_SEL:
        c->queue_sel = v;
        break;
    case REG_QUEUE_NUM:
        if (queue_writable)
            vq->num = (uint16_t)(v <= VQ_MAX_SIZE ? v : 0);
        break;
    case REG_QUEUE_READY:
        if (vq)
            write_queue_ready_locked(c, vq, v);
        break;
    case REG_QUEUE_NOTIFY:
        notify_locked(c, v);
        break;
    case REG_INTERRUPT_ACK:
        c->interrupt_status &= ~v;
        break;
    case REG_STATUS:
        write_status_locked(c, v);
        break;
    case REG_QUEUE_DESC_LOW:
    case REG_QUEUE_DESC_HIGH:
        if (queue_writable)
            set_half(&vq->desc, offset == REG_QUEUE_DESC_HIGH, v);
        break;
    case REG_QUEUE_DRIVER_LOW:
    case REG_QUEUE_DRIVER_HIGH:
        if (queue_writable)
            set_half(&vq->avail, offset == REG_QUEUE_DRIVER_HIGH, v);
        break;
    case REG_QUEUE_DEVICE_LOW:
    case REG_QUEUE_DEVICE_HIGH:
        if (queue_writable)
            set_half(&vq->used, offset == REG_QUEUE_DEVICE_HIGH, v);
        break;
    default:  // read-only registers and the config space
        break;
    }
}

void virtio_con_mmio_write(struct virtio_con* c, uint64_t offset, uint8_t size, uint64_t value) {
    if (offset >= CONFIG_OFFSET || size != 4 || (offset & 3))
        return;
    pthread_mutex_lock(&c->mu);
    write_reg_locked(c, offset, (uint32_t)value);
    pthread_mutex_unlock(&c->mu);
}
