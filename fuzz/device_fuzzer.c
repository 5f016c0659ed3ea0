// zxhv device fuzzer (libFuzzer entry point; fuzz/standalone.c drives it without libFuzzer).
//
// Feeds `zxhv run`'s devices (tools/zxhv/) the accesses a hostile guest can make, in-process and
// without KVM, through the same entry points the VMM's exit handlers call: io_bus_in/io_bus_out
// for GUEST_IO packets (UART, exit port, PIT, PIC/CMOS/PCI/i8042, unknown ports),
// virtio_con_mmio_read/write for GUEST_MEM packets in the virtio register page,
// virtio_con_doorbell for GUEST_BELL packets, and term_feed + virtio_con_input for stdin bytes.
// Guest RAM is a real VMO (zx_vmo_create, zx_vmar_map; mapped once) with 2 MiB of inaccessible
// pages on each side, so that a device touching memory just outside RAM faults; its contents,
// descriptor tables and rings are written by the input. Terminal output goes to a sink in memory
// (a hash), never to stdout. Each input initialises the devices afresh and tears them down.
//
// An input is a RAM size then a sequence of operations (see enum op): register reads and writes
// at any offset, size and value; queue set-ups with areas anywhere in or outside RAM; descriptors
// pointing anywhere, looping or chained across the table, indirect; avail rings with bad heads
// and indices; doorbells for any queue; resets in the middle of a transfer; UART strings; exits.
//
// Invariants, after every operation: every read is answered within its size and agrees with the
// documented register (docs/zxhv-run.md); register writes change exactly what the virtio-mmio
// layout says; each notification and each stdin delivery leaves guest RAM, the queue indices,
// the status and the output exactly as a reference model of the documented queue processing does
// (chains end at an index beyond the queue and after as many descriptors as the queue has; bad,
// empty and indirect descriptors are skipped; an avail index more than the queue size ahead stops
// the queue), so nothing outside used rings and device-writable buffers changes; every byte the
// guest sends through the UART or the transmit queue reaches the sink, in order, and nothing
// else does; queue state stays in bounds (size <= 256, a ready queue's areas inside RAM); the exit
// port and reset requests reach their callbacks exactly when written. After every input the
// library's handles and the terminal's pipe, and every 256 inputs the library's descriptors and
// VMO mappings, are back to where they were.
// An input ends early, unchecked from there, before a notification that would send more than
// OUTPUT_LIMIT bytes (aliased descriptors make up to (queue size)^2 x RAM).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#include "dev_exit.h"
#include "dev_io.h"
#include "dev_legacy.h"
#include "dev_pit.h"
#include "dev_term.h"
#include "dev_uart.h"
#include "dev_virtio_con.h"
#include "dev_virtqueue.h"
#include "fuzz_common.h"
#include "object/handle.h"  // handle_table_count
#include "platform.h"

// Guest RAM is 4-64 KiB, so that addresses drawn from the input often land inside, at its edges
// and just outside. The guards are larger than any offset a queue of 256 entries spans.
#define RAM_MAX 0x10000u
#define GUARD (2u << 20)
#define MAX_OPS 512
#define BULK_MAX_ROUNDS 320u
// Descriptors may alias, so one notification can send (queue size)^2 x RAM bytes (4 GiB here):
// bounded, but such inputs would take all the campaign's time. An input whose output would pass
// this ends before the notification that would do it (the model runs first and tells).
#define OUTPUT_LIMIT (256u << 10)

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define STATUS_FEATURES_OK 8u
#define STATUS_DEVICE_NEEDS_RESET 64u

// ---- Input

// struct in and take8..take64: fuzz_common.h.

// ---- The board, built afresh for each input

static struct {
    struct term term;
    struct io_bus bus;
    struct uart uart;
    struct pit pit;
    struct legacy legacy;
    struct exit_dev exit_dev;
    struct virtio_con con;
    zx_handle_t vmo;
    uint8_t* map;  // guard, RAM, guard
    uint64_t map_size;
    uint8_t* ram;
    uint64_t ram_size;
} B;

// What the guest has written to the exit port and asked of the reset lines.
static unsigned exits_seen, resets_seen;
static uint8_t exit_status_seen;

static void on_exit_port(void* ctx, uint8_t status) {
    (void)ctx;
    exits_seen++;
    exit_status_seen = status;
}

static void on_reset(void* ctx) {
    (void)ctx;
    resets_seen++;
}

// Output streams, compared by length and hash: what reached the sink, and what the guest sent.
struct stream {
    uint64_t hash, len;
};
static struct stream sink_seen, sink_expected;
// Set when the model finds that the next device call would pass OUTPUT_LIMIT: the call is not
// made and the input ends unchecked from there.
static bool abandoned;

static void stream_add(struct stream* s, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++)
        s->hash = (s->hash ^ p[i]) * 0x100000001b3ull;
    s->len += n;
}

static void sink(void* ctx, const uint8_t* buf, size_t len) {
    (void)ctx;
    stream_add(&sink_seen, buf, len);
}

// The bytes fed as stdin and not yet taken: what the terminal's queue must hold.
static uint8_t in_q[TERM_IN_SIZE];
static size_t in_head, in_len;

static size_t mirror_take(uint8_t* buf, size_t max) {
    size_t n = 0;
    while (n < max && in_len > 0) {
        buf[n++] = in_q[in_head];
        in_head = (in_head + 1) % TERM_IN_SIZE;
        in_len--;
    }
    return n;
}

// The reference model's copy of guest RAM: every guest write goes to both, every device action
// is applied to it by the model, so after each device call the two must be equal.
static uint8_t model_ram[RAM_MAX];

static bool in_ram(uint64_t gpa, uint64_t len) {
    return gpa <= B.ram_size && len <= B.ram_size - gpa;
}

// A guest store: clipped to RAM (the guest cannot write outside it either).
static void guest_write(uint64_t gpa, const void* data, uint64_t len) {
    if (gpa >= B.ram_size)
        return;
    if (len > B.ram_size - gpa)
        len = B.ram_size - gpa;
    memcpy(B.ram + gpa, data, len);
    memcpy(model_ram + gpa, data, len);
}

static uint16_t guest_read16(uint64_t gpa) {
    uint16_t v = 0;
    if (in_ram(gpa, 2))
        memcpy(&v, B.ram + gpa, 2);
    return v;
}

// ---- Reference model of the documented queue processing (docs/zxhv-run.md, "Checks")

struct mq {
    uint16_t num;
    bool ready, broken;
    uint64_t desc, avail, used;
    uint16_t last_avail, used_idx;
};

struct mbuf {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

static struct mq mq_of(const struct virtqueue* vq) {
    return (struct mq){.num = vq->num, .ready = vq->ready, .broken = vq->broken, .desc = vq->desc,
                       .avail = vq->avail, .used = vq->used, .last_avail = vq->last_avail,
                       .used_idx = vq->used_idx};
}

static void mq_expect(const struct mq* m, const struct virtqueue* vq, const char* what) {
    if (m->num != vq->num || m->ready != vq->ready || m->broken != vq->broken ||
        m->desc != vq->desc || m->avail != vq->avail || m->used != vq->used ||
        m->last_avail != vq->last_avail || m->used_idx != vq->used_idx)
        fuzz_fail("%s: queue state num %u ready %d broken %d desc 0x%llx avail 0x%llx used 0x%llx "
                  "last_avail %u used_idx %u, expected num %u ready %d broken %d desc 0x%llx "
                  "avail 0x%llx used 0x%llx last_avail %u used_idx %u",
                  what, vq->num, vq->ready, vq->broken, (unsigned long long)vq->desc,
                  (unsigned long long)vq->avail, (unsigned long long)vq->used, vq->last_avail,
                  vq->used_idx, m->num, m->ready, m->broken, (unsigned long long)m->desc,
                  (unsigned long long)m->avail, (unsigned long long)m->used, m->last_avail,
                  m->used_idx);
}

// Whether a layout may become ready: size a power of two up to 256, areas aligned, inside RAM.
static bool layout_valid(uint16_t num, uint64_t desc, uint64_t avail, uint64_t used) {
    return num != 0 && num <= VQ_MAX_SIZE && (num & (num - 1)) == 0 && desc % 16 == 0 &&
           avail % 2 == 0 && used % 4 == 0 && in_ram(desc, 16u * num) &&
           in_ram(avail, 6u + 2u * num) && in_ram(used, 6u + 8u * num);
}

// The next available chain: 1 (with its buffers), 0 (none), -1 (queue not usable).
static int model_pop(struct mq* q, uint16_t* head, struct mbuf* bufs, unsigned* count) {
    if (!q->ready || q->broken)
        return -1;
    for (;;) {
        uint16_t idx;
        memcpy(&idx, model_ram + q->avail + 2, 2);
        uint16_t pending = (uint16_t)(idx - q->last_avail);
        if (pending == 0)
            return 0;
        if (pending > q->num) {
            q->broken = true;
            return -1;
        }
        uint16_t h;
        memcpy(&h, model_ram + q->avail + 4 + 2u * (q->last_avail % q->num), 2);
        q->last_avail++;
        if (h >= q->num)
            continue;
        unsigned n = 0;
        uint16_t i = h;
        for (unsigned steps = 0; steps < q->num; steps++) {
            const uint8_t* d = model_ram + q->desc + 16u * i;
            uint64_t addr;
            uint32_t len;
            uint16_t flags, next;
            memcpy(&addr, d, 8);
            memcpy(&len, d + 8, 4);
            memcpy(&flags, d + 12, 2);
            memcpy(&next, d + 14, 2);
            if (in_ram(addr, len) && len > 0 && !(flags & VIRTQ_DESC_F_INDIRECT))
                bufs[n++] = (struct mbuf){addr, len, (flags & VIRTQ_DESC_F_WRITE) != 0};
            if (!(flags & VIRTQ_DESC_F_NEXT) || next >= q->num)
                break;
            i = next;
        }
        *head = h;
        *count = n;
        return 1;
    }
}

static void model_push(struct mq* q, uint16_t head, uint32_t len) {
    uint32_t elem[2] = {head, len};
    memcpy(model_ram + q->used + 4 + 8u * (q->used_idx % q->num), elem, 8);
    q->used_idx++;
    memcpy(model_ram + q->used + 2, &q->used_idx, 2);
}

// The device-side registers the model and the write checks follow.
struct regs {
    uint32_t status, dfsel, drfsel, qsel, intr;
    uint64_t features;
    struct mq q[VIRTIO_CON_QUEUES];
};

static struct regs regs_of(const struct virtio_con* c) {
    struct regs r = {.status = c->status, .dfsel = c->device_features_sel,
                     .drfsel = c->driver_features_sel, .qsel = c->queue_sel,
                     .intr = c->interrupt_status, .features = c->driver_features};
    for (unsigned q = 0; q < VIRTIO_CON_QUEUES; q++)
        r.q[q] = mq_of(&c->vq[q]);
    return r;
}

static void regs_expect(const struct regs* e, const char* what) {
    const struct virtio_con* c = &B.con;
    if (e->status != c->status || e->dfsel != c->device_features_sel ||
        e->drfsel != c->driver_features_sel || e->qsel != c->queue_sel ||
        e->intr != c->interrupt_status || e->features != c->driver_features)
        fuzz_fail("%s: registers status 0x%x dfsel %u drfsel %u qsel %u intr 0x%x features "
                  "0x%llx, expected 0x%x %u %u %u 0x%x 0x%llx",
                  what, c->status, c->device_features_sel, c->driver_features_sel, c->queue_sel,
                  c->interrupt_status, (unsigned long long)c->driver_features, e->status,
                  e->dfsel, e->drfsel, e->qsel, e->intr, (unsigned long long)e->features);
    for (unsigned q = 0; q < VIRTIO_CON_QUEUES; q++)
        mq_expect(&e->q[q], &c->vq[q], what);
}

// Transmit: every device-readable byte of every available chain goes out, each chain is
// returned with length 0.
static void model_tx(struct regs* e) {
    struct mq* q = &e->q[1];
    struct mbuf bufs[VQ_MAX_SIZE];
    uint16_t head;
    unsigned n;
    bool used = false;
    while (model_pop(q, &head, bufs, &n) == 1) {
        for (unsigned i = 0; i < n; i++) {
            if (bufs[i].writable)
                continue;
            if (sink_expected.len + bufs[i].len > OUTPUT_LIMIT) {
                abandoned = true;
                return;
            }
            stream_add(&sink_expected, model_ram + bufs[i].gpa, bufs[i].len);
        }
        model_push(q, head, 0);
        used = true;
    }
    if (q->broken)
        e->status |= STATUS_DEVICE_NEEDS_RESET;
    if (used)
        e->intr |= 1;
}

// Receive: queued input fills the writable buffers of available chains in order; a chain with
// no usable writable buffer goes back empty (it must not block the queue).
static void model_rx(struct regs* e) {
    struct mq* q = &e->q[0];
    struct mbuf bufs[VQ_MAX_SIZE];
    uint16_t head;
    unsigned n;
    bool used = false;
    while (q->ready && in_len > 0 && model_pop(q, &head, bufs, &n) == 1) {
        uint32_t written = 0;
        bool room = false;
        for (unsigned i = 0; i < n; i++) {
            if (!bufs[i].writable)
                continue;
            room = true;
            size_t got = mirror_take(model_ram + bufs[i].gpa, bufs[i].len);
            written += (uint32_t)got;
            if (got < bufs[i].len)
                break;
        }
        if (written == 0 && room) {  // cannot happen in-process: only another console races
            q->last_avail--;
            break;
        }
        model_push(q, head, written);
        used = true;
    }
    if (q->broken)
        e->status |= STATUS_DEVICE_NEEDS_RESET;
    if (used)
        e->intr |= 1;
}

static void expect_ram(const char* what) {
    if (memcmp(B.ram, model_ram, B.ram_size) != 0) {
        size_t i = 0;
        while (B.ram[i] == model_ram[i])
            i++;
        fuzz_fail("%s: guest RAM differs from the model at 0x%zx (0x%02x, expected 0x%02x)", what,
                  i, B.ram[i], model_ram[i]);
    }
}

// Runs a notification of |queue| through the model; the caller then makes the device's call.
static void model_notify(struct regs* e, uint64_t queue) {
    if (queue == 1)
        model_tx(e);
    else if (queue == 0)
        model_rx(e);
}

// ---- Checks shared by every operation

// The terminal's input queue holds exactly the bytes fed and not yet taken, in order.
static void check_input(const char* what) {
    const struct term* t = &B.term;
    if (t->in_len != in_len)
        fuzz_fail("%s: the terminal holds %zu input bytes, %zu expected", what, t->in_len, in_len);
    for (size_t i = 0; i < in_len; i++)
        if (t->in[(t->in_head + i) % TERM_IN_SIZE] != in_q[(in_head + i) % TERM_IN_SIZE])
            fuzz_fail("%s: input byte %zu differs", what, i);
}

static void check_state(const char* what) {
    const struct virtio_con* c = &B.con;
    for (unsigned q = 0; q < VIRTIO_CON_QUEUES; q++) {
        const struct virtqueue* vq = &c->vq[q];
        if (vq->num > VQ_MAX_SIZE)
            fuzz_fail("%s: queue %u size %u", what, q, vq->num);
        if (vq->ready && !layout_valid(vq->num, vq->desc, vq->avail, vq->used))
            fuzz_fail("%s: queue %u ready with an invalid layout", what, q);
        if (!vq->ready && (vq->broken || vq->last_avail || vq->used_idx))
            fuzz_fail("%s: queue %u not ready but has progress", what, q);
    }
    if (c->status > 0xff || (c->interrupt_status & ~1u))
        fuzz_fail("%s: status 0x%x, interrupt status 0x%x", what, c->status, c->interrupt_status);
    const struct uart* u = &B.uart;
    if (u->ier > 0x0f || u->mcr > 0x1f || (u->fcr & ~0xc9u))
        fuzz_fail("%s: UART ier 0x%x mcr 0x%x fcr 0x%x", what, u->ier, u->mcr, u->fcr);
    for (unsigned i = 0; i < 3; i++) {
        const struct pit_channel* ch = &B.pit.ch[i];
        if (ch->mode > 5 || ch->access < 1 || ch->access > 3 || ch->reload < 1 ||
            ch->reload > 0x10000u)
            fuzz_fail("%s: PIT channel %u mode %u access %u reload %u", what, i, ch->mode,
                      ch->access, ch->reload);
    }
    if (B.pit.port61 > 0x0f || B.legacy.cmos_index > 0x7f)
        fuzz_fail("%s: port 0x61 0x%x, CMOS index 0x%x", what, B.pit.port61,
                  B.legacy.cmos_index);
    const struct term* t = &B.term;
    if (t->in_len > TERM_IN_SIZE || t->in_head >= TERM_IN_SIZE || t->out_len >= TERM_OUT_SIZE)
        fuzz_fail("%s: terminal in %zu at %zu, out %zu", what, t->in_len, t->in_head, t->out_len);
    if (t->in_len != in_len)
        fuzz_fail("%s: the terminal holds %zu input bytes, %zu expected", what, t->in_len, in_len);
    if (sink_seen.len + t->out_len != sink_expected.len)
        fuzz_fail("%s: %llu bytes output (%zu pending), %llu sent by the guest", what,
                  (unsigned long long)sink_seen.len, t->out_len,
                  (unsigned long long)sink_expected.len);
}

// ---- virtio registers

static const uint16_t kRegs[] = {
    0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
    0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0fc, 0x100,
    0x108, 0xffc,
};
#define NREGS (sizeof(kRegs) / sizeof(kRegs[0]))

static uint64_t pick_offset(struct in* r) {
    uint8_t sel = take8(r);
    switch (sel % 10) {
    case 7:
        return kRegs[take8(r) % NREGS] + (sel >> 4);  // misaligned, or the next register
    case 8:
        return take16(r);
    case 9:
        return take64(r);
    default:
        return kRegs[take8(r) % NREGS];
    }
}

static uint8_t pick_mmio_size(struct in* r) {
    static const uint8_t kSizes[] = {4, 4, 4, 4, 4, 4, 1, 2, 8, 0, 3, 16};
    return kSizes[take8(r) % sizeof(kSizes)];
}

static uint64_t pick_value(struct in* r) {
    static const uint64_t kValues[] = {0, 1, 2, 3, 4, 0x0f, 0x80, 0xff, 0x100, 0x101, 255, 256, 257,
                                       0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull};
    uint8_t sel = take8(r);
    switch (sel % 4) {
    case 0:
        return take8(r);
    case 1:
        return kValues[take8(r) % (sizeof(kValues) / sizeof(kValues[0]))];
    case 2:
        return take32(r);
    default:
        return take64(r);
    }
}

// A guest physical address: inside RAM, at or past its end, wrapping, or anything; with the top
// bit of the selector, aligned to |align|.
static uint64_t pick_gpa(struct in* r, uint64_t align) {
    uint8_t sel = take8(r);
    uint64_t v;
    switch (sel % 8) {
    case 0:
    case 1:
    case 2:
        v = take16(r) % B.ram_size;
        break;
    case 3:
        v = B.ram_size - 1 - take8(r);
        break;
    case 4:
        v = B.ram_size + take8(r);
        break;
    case 5:
        v = UINT64_MAX - take8(r);
        break;
    case 6:
        v = take64(r);
        break;
    default:
        v = ((uint64_t)take8(r) << 8) % B.ram_size;
        break;
    }
    if (sel & 0x80)
        v &= ~(align - 1);
    return v;
}

static uint32_t pick_len(struct in* r) {
    uint8_t sel = take8(r);
    switch (sel % 4) {
    case 0:
        return sel >> 2;
    case 1:
        return take16(r);
    case 2:
        return 0xffffffffu - take8(r);
    default:
        return take32(r);
    }
}

// The value a register read must give, from the device's state (docs/zxhv-run.md, virtio 1.1
// §4.2.2): 0 outside 32-bit aligned accesses and in the (empty) configuration space.
static uint64_t expected_read(const struct regs* s, uint64_t off, uint8_t size) {
    if (off >= 0x100 || size != 4 || (off & 3))
        return 0;
    const struct mq* q = s->qsel < VIRTIO_CON_QUEUES ? &s->q[s->qsel] : NULL;
    switch (off) {
    case 0x000:
        return 0x74726976u;
    case 0x004:
        return 2;
    case 0x008:
        return 3;
    case 0x00c:
        return 0x7668787au;
    case 0x010:
        return s->dfsel == 1 ? 1 : 0;  // VIRTIO_F_VERSION_1 is bit 32
    case 0x034:
        return q ? VQ_MAX_SIZE : 0;
    case 0x038:
        return q ? q->num : 0;
    case 0x044:
        return q ? q->ready : 0;
    case 0x060:
        return s->intr;
    case 0x070:
        return s->status;
    case 0x080:
    case 0x084:
        return q ? (uint32_t)(q->desc >> (off == 0x084 ? 32 : 0)) : 0;
    case 0x090:
    case 0x094:
        return q ? (uint32_t)(q->avail >> (off == 0x094 ? 32 : 0)) : 0;
    case 0x0a0:
    case 0x0a4:
        return q ? (uint32_t)(q->used >> (off == 0x0a4 ? 32 : 0)) : 0;
    default:
        return 0;
    }
}

static void mmio_read(uint64_t off, uint8_t size) {
    struct regs s = regs_of(&B.con);
    uint64_t v = virtio_con_mmio_read(&B.con, off, size);
    uint64_t want = expected_read(&s, off, size);
    if (v != want)
        fuzz_fail("virtio read at 0x%llx size %u gave 0x%llx, expected 0x%llx",
                  (unsigned long long)off, size, (unsigned long long)v,
                  (unsigned long long)want);
    regs_expect(&s, "virtio read");  // reads change nothing
}

static void set_half(uint64_t* field, bool high, uint32_t v) {
    *field = high ? (*field & 0xffffffffull) | (uint64_t)v << 32 : (*field & ~0xffffffffull) | v;
}

// The register write's effect on |e|, as the virtio-mmio layout and docs/zxhv-run.md say.
static void model_write(struct regs* e, uint64_t off, uint32_t v) {
    struct mq* q = e->qsel < VIRTIO_CON_QUEUES ? &e->q[e->qsel] : NULL;
    bool layout_writable = q && !q->ready;
    switch (off) {
    case 0x014:
        e->dfsel = v;
        break;
    case 0x020:
        if (e->drfsel < 2 && !(e->status & STATUS_FEATURES_OK))
            set_half(&e->features, e->drfsel == 1, v);
        break;
    case 0x024:
        e->drfsel = v;
        break;
    case 0x030:
        e->qsel = v;
        break;
    case 0x038:
        if (layout_writable)
            q->num = (uint16_t)(v <= VQ_MAX_SIZE ? v : 0);
        break;
    case 0x044:
        if (!q)
            break;
        if (!(v & 1)) {
            *q = (struct mq){.num = q->num};
        } else if (!q->ready && layout_valid(q->num, q->desc, q->avail, q->used)) {
            q->ready = true;
            q->broken = false;
            q->last_avail = q->used_idx = 0;
        }
        break;
    case 0x050:
        model_notify(e, v);
        break;
    case 0x064:
        e->intr &= ~v;
        break;
    case 0x070:
        if (v == 0) {
            *e = (struct regs){0};
            for (unsigned i = 0; i < VIRTIO_CON_QUEUES; i++)
                e->q[i] = (struct mq){0};
            break;
        }
        if ((v & STATUS_FEATURES_OK) && !(e->status & STATUS_FEATURES_OK) &&
            (e->features != (1ull << 32)))
            v &= ~STATUS_FEATURES_OK;  // only VIRTIO_F_VERSION_1 is offered, and it is required
        e->status = v & 0xff;
        break;
    case 0x080:
    case 0x084:
        if (layout_writable)
            set_half(&q->desc, off == 0x084, v);
        break;
    case 0x090:
    case 0x094:
        if (layout_writable)
            set_half(&q->avail, off == 0x094, v);
        break;
    case 0x0a0:
    case 0x0a4:
        if (layout_writable)
            set_half(&q->used, off == 0x0a4, v);
        break;
    default:  // read-only registers, the configuration space, nothing
        break;
    }
}

static void mmio_write(uint64_t off, uint8_t size, uint64_t value) {
    struct regs e = regs_of(&B.con);
    if (off < 0x100 && size == 4 && !(off & 3))
        model_write(&e, off, (uint32_t)value);
    if (abandoned)
        return;
    virtio_con_mmio_write(&B.con, off, size, value);
    regs_expect(&e, "virtio write");
    if (off == 0x050)  // only a notification may touch RAM (the end of the input checks it all)
        expect_ram("virtio write");
}

static void doorbell(uint64_t offset) {
    struct regs e = regs_of(&B.con);
    if (offset < PLAT_VIRTIO_CON_BELL_SIZE && offset % 4 == 0)
        model_notify(&e, offset / 4);
    if (abandoned)
        return;
    virtio_con_doorbell(&B.con, offset);
    regs_expect(&e, "doorbell");
    expect_ram("doorbell");
}

// Stdin bytes arrive: queued (as far as the queue has room) and offered to the receive queue.
static void input(const uint8_t* bytes, size_t n) {
    size_t room = TERM_IN_SIZE - in_len, take = n < room ? n : room;
    for (size_t i = 0; i < take; i++)
        in_q[(in_head + in_len++) % TERM_IN_SIZE] = bytes[i];
    size_t queued = term_feed(&B.term, bytes, n);
    if (queued != take)
        fuzz_fail("term_feed queued %zu of %zu bytes with room for %zu", queued, n, room);
    struct regs e = regs_of(&B.con);
    model_rx(&e);
    virtio_con_input(&B.con);
    regs_expect(&e, "input");
    expect_ram("input");
    check_input("input");
}

// ---- IO ports

static const uint16_t kPorts[] = {
    0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0xf4, 0x20, 0x21, 0xa0, 0xa1, 0x40,
    0x41, 0x42, 0x43, 0x61, 0x60, 0x64, 0x70, 0x71, 0x80, 0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc,
    0xcff, 0x3f7, 0x400, 0xf3, 0xf5, 0x2f8, 0xfffe, 0xffff, 0x0,
};
#define NPORTS (sizeof(kPorts) / sizeof(kPorts[0]))

static uint16_t pick_port(struct in* r) {
    uint8_t sel = take8(r);
    return sel < 224 ? kPorts[sel % NPORTS] : take16(r);
}

static uint8_t pick_io_size(struct in* r) {
    static const uint8_t kSizes[] = {1, 1, 2, 4};
    return kSizes[take8(r) % 4];
}

static bool bcd_ok(uint8_t v) { return (v & 0x0f) <= 9 && (v >> 4) <= 9; }

static void io_in(uint16_t port, uint8_t size) {
    uint32_t mask = io_size_mask(size);
    const struct uart pre = B.uart;
    uint32_t pci = B.legacy.pci_address;
    uint8_t cmos_index = B.legacy.cmos_index;
    const char* owner = io_bus_owner(&B.bus, port);
    uint32_t unknown = atomic_load(&B.bus.unknown[port].reads);
    uint8_t front = in_len ? in_q[in_head] : 0;
    uint32_t v = io_bus_in(&B.bus, port, size);
    if (v & ~mask)
        fuzz_fail("in port 0x%x size %u gave 0x%x", port, size, v);
    if (!owner && atomic_load(&B.bus.unknown[port].reads) != unknown + 1)
        fuzz_fail("in from unknown port 0x%x not counted", port);
    long want = -1;  // the value the docs fix, if they do
    if (port >= PLAT_UART_PORT && port < PLAT_UART_PORT + 8) {
        bool dlab = pre.lcr & 0x80, loop = pre.mcr & 0x10;
        switch (port - PLAT_UART_PORT) {
        case 0:
            if (dlab) {
                want = pre.dll;
            } else if (loop) {
                want = pre.loop_byte;
            } else {
                want = front;
                uint8_t b;
                mirror_take(&b, 1);
            }
            break;
        case 1:
            want = dlab ? pre.dlm : pre.ier;
            break;
        case 3:
            want = pre.lcr;
            break;
        case 4:
            want = pre.mcr;
            break;
        case 5:
            want = 0x60 | ((loop ? pre.loop_ready : in_len > 0) ? 1 : 0);
            break;
        case 7:
            want = pre.scr;
            break;
        default:
            if (v > 0xff)
                fuzz_fail("UART port 0x%x gave 0x%x", port, v);
            break;
        }
    } else if (port == PLAT_EXIT_PORT || !owner || port == 0x20 || port == 0x21 ||
               port == 0xa0 || port == 0xa1 || port == 0x80 || (port >= 0xcfc && port <= 0xcff)) {
        want = mask;  // absent: all ones
    } else if (port == 0x60 || port == 0x64) {
        want = 0;
    } else if (port == 0x70) {
        want = cmos_index;
    } else if (port == 0x71) {
        bool clock = cmos_index <= 0x09 || cmos_index == 0x32;
        if (clock && (v > 0xff || !bcd_ok((uint8_t)v)))
            fuzz_fail("CMOS clock register 0x%x reads 0x%x: not BCD", cmos_index, v);
        if (!clock && cmos_index > 0x0d)
            want = B.legacy.cmos[cmos_index];
    } else if (port >= 0xcf8 && port <= 0xcfb) {
        want = (port == 0xcf9 && size == 1) ? 0 : (pci >> (8 * (port - 0xcf8))) & mask;
    } else if ((port >= 0x40 && port <= 0x43) || port == 0x61) {
        if (v > 0xff)
            fuzz_fail("PIT port 0x%x gave 0x%x", port, v);
    }
    if (want >= 0 && v != (uint32_t)want)
        fuzz_fail("in port 0x%x size %u gave 0x%x, expected 0x%lx", port, size, v, want);
}

static void io_out(uint16_t port, uint8_t size, uint32_t value) {
    uint32_t v = value & io_size_mask(size);
    const struct uart pre = B.uart;
    const char* owner = io_bus_owner(&B.bus, port);
    uint32_t unknown = atomic_load(&B.bus.unknown[port].writes);
    unsigned exits = exits_seen, resets = resets_seen;
    uint32_t pci = B.legacy.pci_address;
    if (port == PLAT_UART_PORT && !(pre.lcr & 0x80) && !(pre.mcr & 0x10)) {
        uint8_t b = (uint8_t)v;
        stream_add(&sink_expected, &b, 1);
    }
    io_bus_out(&B.bus, port, size, value);
    if (!owner && atomic_load(&B.bus.unknown[port].writes) != unknown + 1)
        fuzz_fail("out to unknown port 0x%x not counted", port);
    bool exit = port == PLAT_EXIT_PORT;
    if (exits_seen != exits + exit || (exit && exit_status_seen != (uint8_t)v))
        fuzz_fail("out port 0x%x value 0x%x: %u exits (status %u)", port, v, exits_seen - exits,
                  exit_status_seen);
    bool reset = (port == 0x64 && (v & 0xff) == 0xfe) || (port == 0xcf9 && size == 1 && (v & 4));
    if (resets_seen != resets + reset)
        fuzz_fail("out port 0x%x size %u value 0x%x: %u reset requests", port, size, v,
                  resets_seen - resets);
    if (port >= 0xcf8 && port <= 0xcfb && !(port == 0xcf9 && size == 1)) {
        unsigned shift = 8 * (port - 0xcf8u);
        uint64_t mask = (uint64_t)io_size_mask(size) << shift;
        uint32_t want = (uint32_t)((pci & ~mask) | (((uint64_t)v << shift) & mask));
        if (B.legacy.pci_address != want)
            fuzz_fail("PCI address 0x%x after out 0x%x size %u to 0x%x, expected 0x%x",
                      B.legacy.pci_address, v, size, port, want);
    }
}

// ---- Driver-side helpers

// Puts |head| in queue q's avail ring at the guest's own avail index, and publishes it.
static void avail_push(unsigned q, uint16_t head) {
    const struct virtqueue* vq = &B.con.vq[q];
    uint16_t num = vq->num ? vq->num : VQ_MAX_SIZE;
    uint16_t idx = guest_read16(vq->avail + 2);
    guest_write(vq->avail + 4 + 2u * (idx % num), &head, 2);
    idx++;
    guest_write(vq->avail + 2, &idx, 2);
}

static void write_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                       uint16_t next) {
    uint8_t d[16];
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    guest_write(B.con.vq[q].desc + 16u * i, d, 16);
}

static void setup_queue(unsigned sel, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used,
                        bool ready) {
    mmio_write(0x030, 4, sel);
    mmio_write(0x038, 4, num);
    mmio_write(0x080, 4, (uint32_t)desc);
    mmio_write(0x084, 4, (uint32_t)(desc >> 32));
    mmio_write(0x090, 4, (uint32_t)avail);
    mmio_write(0x094, 4, (uint32_t)(avail >> 32));
    mmio_write(0x0a0, 4, (uint32_t)used);
    mmio_write(0x0a4, 4, (uint32_t)(used >> 32));
    if (ready)
        mmio_write(0x044, 4, 1);
}

// A well-behaved driver's start: reset, ACKNOWLEDGE|DRIVER, VERSION_1, FEATURES_OK, both queues
// in a valid layout of |num| entries from the start of RAM, DRIVER_OK.
static void driver_init(unsigned num) {
    mmio_write(0x070, 4, 0);
    mmio_write(0x070, 4, 3);
    mmio_write(0x024, 4, 1);
    mmio_write(0x020, 4, 1);
    mmio_write(0x070, 4, 0xb);
    uint64_t per_queue = B.ram_size / 4;  // RAM >= 4 KiB: room for 16 entries per queue
    while (num > 1 && 16u * num + 6 + 2 * num + 6 + 8 * num + 16 > per_queue)
        num /= 2;
    for (unsigned q = 0; q < 2; q++) {
        uint64_t base = q * per_queue;
        uint64_t avail = base + 16u * num;
        uint64_t used = (avail + 6 + 2u * num + 3) & ~3ull;
        setup_queue(q, num, base, avail, used, true);
    }
    mmio_write(0x070, 4, 0xf);
}

// ---- The operations

enum op {
    OP_MEM_WRITE,
    OP_DESC,
    OP_AVAIL_PUSH,
    OP_AVAIL_IDX,
    OP_MMIO_WRITE,
    OP_MMIO_READ,
    OP_NOTIFY,
    OP_DOORBELL,
    OP_IO_OUT,
    OP_IO_IN,
    OP_UART_STRING,
    OP_INPUT,
    OP_SETUP_QUEUE,
    OP_DRIVER_INIT,
    OP_TX_BULK,
    OP_RESET,
    OP_CHAIN,
    OP_PRINT_UNKNOWN,
    OP_COUNT
};

static FILE* devnull;

static void run_op(struct in* r) {
    uint8_t op = take8(r) % OP_COUNT;
    switch (op) {
    case OP_MEM_WRITE: {
        uint64_t gpa = take16(r) % B.ram_size;
        uint8_t buf[32];
        size_t n = take8(r) % 33;
        for (size_t i = 0; i < n; i++)
            buf[i] = take8(r);
        guest_write(gpa, buf, n);
        break;
    }
    case OP_DESC: {
        unsigned q = take8(r) & 1, i = take8(r);
        uint64_t addr = pick_gpa(r, 1);
        uint32_t len = pick_len(r);
        uint8_t sel = take8(r);
        uint16_t flags = (sel & 0x40) ? take16(r) : sel & 7;  // NEXT, WRITE, INDIRECT; or anything
        uint16_t next = (sel & 0x80) ? take16(r) : take8(r);
        write_desc(q, i, addr, len, flags, next);
        break;
    }
    case OP_AVAIL_PUSH: {
        uint8_t sel = take8(r);
        avail_push(sel & 1, (sel & 2) ? take16(r) : take8(r));
        break;
    }
    case OP_AVAIL_IDX: {
        unsigned q = take8(r) & 1;
        uint16_t idx = take16(r);
        guest_write(B.con.vq[q].avail + 2, &idx, 2);
        break;
    }
    case OP_MMIO_WRITE: {
        uint64_t off = pick_offset(r);
        uint8_t size = pick_mmio_size(r);
        mmio_write(off, size, pick_value(r));
        break;
    }
    case OP_MMIO_READ: {
        uint64_t off = pick_offset(r);
        mmio_read(off, pick_mmio_size(r));
        break;
    }
    case OP_NOTIFY: {
        uint8_t sel = take8(r);
        mmio_write(0x050, 4, sel < 192 ? sel % 3 : pick_value(r));
        break;
    }
    case OP_DOORBELL: {
        uint8_t sel = take8(r);
        doorbell(sel < 160 ? 4u * (sel % 3) : sel < 224 ? take16(r) : take64(r));
        break;
    }
    case OP_IO_OUT: {
        uint16_t port = pick_port(r);
        uint8_t size = pick_io_size(r);
        io_out(port, size, (uint32_t)pick_value(r));
        break;
    }
    case OP_IO_IN: {
        uint16_t port = pick_port(r);
        io_in(port, pick_io_size(r));
        break;
    }
    case OP_UART_STRING: {
        size_t n = take8(r) % 64;
        for (size_t i = 0; i < n && r->n > 0; i++)
            io_out(PLAT_UART_PORT, 1, take8(r));
        break;
    }
    case OP_INPUT: {
        uint8_t sel = take8(r);
        static uint8_t buf[TERM_IN_SIZE + 256];
        size_t n;
        if (sel >= 240) {  // more than the terminal's queue holds
            n = sizeof(buf);
            memset(buf, sel, n);
        } else {
            n = sel % 64;
            for (size_t i = 0; i < n; i++)
                buf[i] = take8(r);
        }
        input(buf, n);
        break;
    }
    case OP_SETUP_QUEUE: {
        uint8_t sel = take8(r);
        static const uint32_t kNums[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 0, 3, 257, 0x10000};
        uint32_t num = kNums[take8(r) % (sizeof(kNums) / sizeof(kNums[0]))];
        uint64_t desc = pick_gpa(r, 16), avail = pick_gpa(r, 2), used = pick_gpa(r, 4);
        setup_queue(sel % 4 < 2 ? sel % 2 : pick_value(r), num, desc, avail, used, sel & 0x10);
        break;
    }
    case OP_DRIVER_INIT:
        driver_init(1u << (take8(r) % 9));
        break;
    case OP_TX_BULK: {
        // Many rounds of chains published and notified: drives the indices round their wrap.
        // Mostly a few rounds: a full wrap (65,536 chains) costs as much as a thousand inputs.
        const struct virtqueue* vq = &B.con.vq[1];
        unsigned n = 1 + take8(r), sel = take8(r);
        unsigned rounds = sel < 240 ? 1 + sel % 8 : 1 + take16(r) % BULK_MAX_ROUNDS;
        uint16_t head = take8(r);
        if (!vq->ready)
            break;
        n = 1 + (n - 1) % vq->num;
        for (unsigned k = 0; k < rounds && !abandoned; k++) {
            for (unsigned j = 0; j < n; j++)
                avail_push(1, (uint16_t)((head + j) % vq->num));
            doorbell(4);
        }
        break;
    }
    case OP_RESET:
        mmio_write(0x070, 4, 0);
        break;
    case OP_CHAIN: {
        // A chain of n descriptors from |first|, each to the next (the last back to |loop_to|
        // if asked), over one buffer each.
        unsigned q = take8(r) & 1, first = take8(r), n = 1 + take8(r);
        uint8_t flags = take8(r);
        uint64_t addr = pick_gpa(r, 1);
        uint32_t len = pick_len(r);
        for (unsigned j = 0; j < n; j++) {
            bool last = j + 1 == n;
            uint16_t next = (uint16_t)((first + j + 1) % 256);
            if (last && (flags & 0x40))
                next = first;  // a loop
            write_desc(q, (first + j) % 256, addr + (uint64_t)j * len, len,
                       (uint16_t)((flags & VIRTQ_DESC_F_WRITE) | (flags & 0x20 ? 4 : 0) |
                                  (!last || (flags & 0x40) ? VIRTQ_DESC_F_NEXT : 0)),
                       next);
        }
        avail_push(q, (uint16_t)first);
        break;
    }
    case OP_PRINT_UNKNOWN:
        if (take8(r) == 0xff)  // rarely: it walks all 65,536 ports
            io_bus_print_unknown(&B.bus, devnull);
        break;
    }
}

// ---- Set-up and tear-down

// Guest RAM: one VMO for the process, mapped once (per input, mapping 4 MiB and tearing it down
// cost more than the devices' work). RAM is the last |ram_size| bytes before the trailing guard;
// the rest of the RAM_MAX window is made inaccessible too, so RAM has a guard on each side.
static void ram_up(uint64_t ram_size) {
    if (B.map == NULL) {
        B.map_size = GUARD + RAM_MAX + GUARD;
        zx_status_t st = zx_vmo_create(B.map_size, 0, &B.vmo);
        if (st != ZX_OK)
            fuzz_fail("zx_vmo_create: %d", st);
        zx_vaddr_t addr;
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, B.vmo, 0,
                         B.map_size, &addr);
        if (st != ZX_OK)
            fuzz_fail("zx_vmar_map: %d", st);
        B.map = (uint8_t*)addr;
        if (mprotect(B.map, GUARD, PROT_NONE) != 0 ||
            mprotect(B.map + GUARD + RAM_MAX, GUARD, PROT_NONE) != 0)
            fuzz_fail("mprotect: %s", strerror(errno));
    }
    B.ram_size = ram_size;
    B.ram = B.map + GUARD + RAM_MAX - ram_size;
    if (ram_size < RAM_MAX && mprotect(B.map + GUARD, RAM_MAX - ram_size, PROT_NONE) != 0)
        fuzz_fail("mprotect: %s", strerror(errno));
    memset(B.ram, 0, ram_size);
    memset(model_ram, 0, ram_size);
}

static void ram_down(void) {
    if (B.ram_size < RAM_MAX &&
        mprotect(B.map + GUARD, RAM_MAX - B.ram_size, PROT_READ | PROT_WRITE) != 0)
        fuzz_fail("mprotect: %s", strerror(errno));
}

static size_t handles_before;
static int fds_before = -1, maps_before;
static uint64_t inputs;

static void board_up(uint64_t ram_size) {
    ram_up(ram_size);
    handles_before = handle_table_count();
    sink_seen = sink_expected = (struct stream){0};
    in_head = in_len = 0;
    exits_seen = resets_seen = 0;
    if (term_init_sink(&B.term, sink, NULL) != 0)
        fuzz_fail("term_init_sink: %s", strerror(errno));
    // The bus's unknown-port counts are 512 KiB: allocated once (page faults on a fresh
    // allocation every input cost more than everything else), emptied in between.
    if (B.bus.unknown == NULL && io_bus_init(&B.bus) != 0)
        fuzz_fail("io_bus_init");
    B.bus.count = 0;
    memset(B.bus.unknown, 0, IO_PORT_COUNT * sizeof(*B.bus.unknown));
    if (uart_attach(&B.uart, &B.term, &B.bus) != 0 ||
        pit_attach(&B.pit, &B.bus) != 0 || legacy_attach(&B.legacy, on_reset, NULL, &B.bus) != 0 ||
        exit_dev_attach(&B.exit_dev, on_exit_port, NULL, &B.bus) != 0)
        fuzz_fail("cannot attach the IO devices");
    virtio_con_init(&B.con, (struct guest_mem){.base = B.ram, .size = ram_size}, &B.term);
}

static void board_down(void) {
    if (!abandoned) {
        check_input("end");
        expect_ram("end");
    }
    int wake[2] = {B.term.wake[0], B.term.wake[1]};
    term_close(&B.term);
    for (int i = 0; i < 2; i++)
        if (fcntl(wake[i], F_GETFD) != -1 || errno != EBADF)
            fuzz_fail("the terminal's pipe (fd %d) is still open", wake[i]);
    if (!abandoned && (sink_seen.len != sink_expected.len || sink_seen.hash != sink_expected.hash))
        fuzz_fail("the sink got %llu bytes (hash %016llx); the guest sent %llu (hash %016llx)",
                  (unsigned long long)sink_seen.len, (unsigned long long)sink_seen.hash,
                  (unsigned long long)sink_expected.len, (unsigned long long)sink_expected.hash);
    virtio_con_destroy(&B.con);
    legacy_destroy(&B.legacy);
    pit_destroy(&B.pit);
    uart_destroy(&B.uart);
    ram_down();
    if (handle_table_count() != handles_before)
        fuzz_fail("left behind: %zu handles (%zu before)", handle_table_count(), handles_before);
    // The library's descriptors and mappings (from /proc: costly), every 256 inputs.
    if (inputs++ % 256 == 0) {
        int fds = fuzz_fd_count(), maps = fuzz_vmo_mapping_count();
        if (fds_before < 0) {
            fds_before = fds;
            maps_before = maps;
        } else if (fds != fds_before || maps != maps_before) {
            fuzz_print_fds();
            fuzz_fail("left behind: fds %d (%d at first), VMO mappings %d (%d)", fds, fds_before,
                      maps, maps_before);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        fuzz_fail("cannot open /dev/null");
    struct in r = {data, size};
    board_up(4096u * (1 + take8(&r) % (RAM_MAX / 4096)));
    check_state("set-up");
    abandoned = false;
    for (int i = 0; i < MAX_OPS && r.n > 0 && !abandoned; i++) {
        run_op(&r);
        if (!abandoned)
            check_state("operation");
    }
    if (getenv("ZXHV_DEVFUZZ_SUMMARY") != NULL)  // what an input did, for writing seeds
        fprintf(stderr, "devfuzz: ram %llu KiB, output %llu bytes, input left %zu, exits %u, "
                        "resets %u, status 0x%x, queues used %u/%u last_avail %u/%u "
                        "broken %d/%d%s\n",
                (unsigned long long)B.ram_size / 1024, (unsigned long long)sink_expected.len,
                in_len, exits_seen, resets_seen, B.con.status, B.con.vq[0].used_idx,
                B.con.vq[1].used_idx, B.con.vq[0].last_avail, B.con.vq[1].last_avail,
                B.con.vq[0].broken, B.con.vq[1].broken, abandoned ? ", ended early" : "");
    board_down();
    return 0;
}
