// `zxhv run`'s devices (tools/zxhv/) driven directly, as the VMM's exit handlers drive them, with
// hostile guest input: regression tests for what the device fuzzer (fuzz/device_fuzzer.c) checks
// and found. No KVM: guest RAM is a plain buffer, output goes to a sink in memory.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dev_term.h"
#include "dev_virtio_con.h"
#include "dev_virtqueue.h"

#define RAM_SIZE 0x10000u
#define DESC 0x0000u
#define AVAIL 0x1000u
#define USED 0x2000u

#define F_NEXT 1u
#define F_WRITE 2u

struct console {
    uint8_t* ram;
    struct term term;
    struct virtio_con con;
    char out[4096];
    size_t out_len;
};

static void sink(void* ctx, const uint8_t* buf, size_t len) {
    struct console* c = ctx;
    cr_assert_leq(c->out_len + len, sizeof(c->out));
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
}

static void reg_write(struct console* c, uint64_t offset, uint32_t value) {
    virtio_con_mmio_write(&c->con, offset, 4, value);
}

// A driver's set-up of queue |q| with |num| entries: its three areas at DESC, AVAIL and USED plus
// 0x4000 * q; the device is then DRIVER_OK.
static void setup(struct console* c, unsigned q, uint32_t num) {
    reg_write(c, 0x070, 3);       // ACKNOWLEDGE | DRIVER
    reg_write(c, 0x024, 1);       // DriverFeaturesSel
    reg_write(c, 0x020, 1);       // VIRTIO_F_VERSION_1
    reg_write(c, 0x070, 0xb);     // FEATURES_OK
    reg_write(c, 0x030, q);       // QueueSel
    reg_write(c, 0x038, num);     // QueueNum
    reg_write(c, 0x080, DESC + 0x4000 * q);
    reg_write(c, 0x090, AVAIL + 0x4000 * q);
    reg_write(c, 0x0a0, USED + 0x4000 * q);
    reg_write(c, 0x044, 1);       // QueueReady
    cr_assert_eq(virtio_con_mmio_read(&c->con, 0x044, 4), 1, "queue %u not ready", q);
    reg_write(c, 0x070, 0xf);     // DRIVER_OK
}

static struct console* console_new(void) {
    struct console* c = calloc(1, sizeof(*c));
    cr_assert_not_null(c);
    c->ram = calloc(1, RAM_SIZE);
    cr_assert_not_null(c->ram);
    cr_assert_eq(term_init_sink(&c->term, sink, c), 0);
    virtio_con_init(&c->con, (struct guest_mem){.base = c->ram, .size = RAM_SIZE}, &c->term);
    return c;
}

static void console_free(struct console* c) {
    virtio_con_destroy(&c->con);
    term_close(&c->term);
    free(c->ram);
    free(c);
}

static void desc(struct console* c, unsigned q, unsigned i, uint64_t addr, uint32_t len,
                 uint16_t flags, uint16_t next) {
    uint8_t* d = c->ram + DESC + 0x4000 * q + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

// Makes |heads| available on queue q.
static void publish(struct console* c, unsigned q, const uint16_t* heads, unsigned n) {
    uint8_t* avail = c->ram + AVAIL + 0x4000 * q;
    uint16_t idx;
    memcpy(&idx, avail + 2, 2);
    for (unsigned i = 0; i < n; i++, idx++)
        memcpy(avail + 4 + 2 * (idx % c->con.vq[q].num), &heads[i], 2);
    memcpy(avail + 2, &idx, 2);
}

static uint16_t used_idx(struct console* c, unsigned q) {
    uint16_t idx;
    memcpy(&idx, c->ram + USED + 0x4000 * q + 2, 2);
    return idx;
}

static void used_elem(struct console* c, unsigned q, unsigned slot, uint32_t* id, uint32_t* len) {
    const uint8_t* e = c->ram + USED + 0x4000 * q + 4 + 8 * slot;
    memcpy(id, e, 4);
    memcpy(len, e + 4, 4);
}

// Found by the device fuzzer's reference model: a receive chain with no device-writable buffer
// (all read-only, or every writable one outside RAM) was put back as if another console had taken
// the input, so it stayed at the head of the queue for good and no later chain ever got a byte.
// Such a chain must go back used and empty, and the input into the next chain.
Test(devices, rx_chain_without_room_is_returned_empty) {
    struct console* c = console_new();
    setup(c, 0, 4);
    desc(c, 0, 0, 0x8000, 16, 0, 0);                   // read-only
    desc(c, 0, 1, RAM_SIZE - 8, 16, F_WRITE, 0);       // writable, but past the end of RAM
    desc(c, 0, 2, 0x9000, 16, F_WRITE, 0);             // good
    publish(c, 0, (const uint16_t[]){0, 1, 2}, 3);
    cr_assert_eq(term_feed(&c->term, (const uint8_t*)"hi", 2), 2);
    virtio_con_input(&c->con);

    cr_assert_eq(used_idx(c, 0), 3, "the receive queue is stuck at used index %u", used_idx(c, 0));
    uint32_t id, len;
    used_elem(c, 0, 0, &id, &len);
    cr_assert(id == 0 && len == 0, "first used entry: id %u len %u", id, len);
    used_elem(c, 0, 1, &id, &len);
    cr_assert(id == 1 && len == 0, "second used entry: id %u len %u", id, len);
    used_elem(c, 0, 2, &id, &len);
    cr_assert(id == 2 && len == 2, "third used entry: id %u len %u", id, len);
    cr_assert_eq(memcmp(c->ram + 0x9000, "hi", 2), 0);
    cr_assert_not(term_input_ready(&c->term));
    cr_assert_eq(virtio_con_mmio_read(&c->con, 0x060, 4), 1);  // InterruptStatus: used buffers
    console_free(c);
}

// A chain that the UART emptied the input under (the chain has room) stays available.
Test(devices, rx_chain_with_room_waits_for_input) {
    struct console* c = console_new();
    setup(c, 0, 4);
    desc(c, 0, 0, 0x9000, 16, F_WRITE, 0);
    publish(c, 0, (const uint16_t[]){0}, 1);
    virtio_con_input(&c->con);  // nothing queued
    virtio_con_notify(&c->con, 0);
    cr_assert_eq(used_idx(c, 0), 0);
    cr_assert_eq(term_feed(&c->term, (const uint8_t*)"x", 1), 1);
    virtio_con_input(&c->con);
    cr_assert_eq(used_idx(c, 0), 1);
    cr_assert_eq(c->ram[0x9000], 'x');
    console_free(c);
}

// A looping transmit chain visits each descriptor once per queue size, and its bytes go to the
// terminal's sink (never stdout); an indirect descriptor and one past RAM are skipped.
Test(devices, tx_loop_stops_after_queue_size_descriptors) {
    struct console* c = console_new();
    setup(c, 1, 4);
    memcpy(c->ram + 0x8000, "ab", 2);
    desc(c, 1, 0, 0x8000, 1, F_NEXT, 1);
    desc(c, 1, 1, 0x8001, 1, F_NEXT, 2);
    desc(c, 1, 2, 0x8000, 1, F_NEXT | 4, 3);            // indirect: skipped
    desc(c, 1, 3, RAM_SIZE, 1, F_NEXT, 0);              // outside RAM: skipped; loops to 0
    publish(c, 1, (const uint16_t[]){0}, 1);
    virtio_con_doorbell(&c->con, 4);
    term_flush(&c->term);
    cr_assert_eq(c->out_len, 2);
    cr_assert_eq(memcmp(c->out, "ab", 2), 0);
    cr_assert_eq(used_idx(c, 1), 1);
    console_free(c);
}

// An avail index more than the queue size ahead stops the queue (DEVICE_NEEDS_RESET) until a
// reset; doorbells for queues that do not exist, and at unaligned offsets, do nothing.
Test(devices, impossible_avail_index_stops_the_queue) {
    struct console* c = console_new();
    setup(c, 1, 4);
    desc(c, 1, 0, 0x8000, 1, 0, 0);
    uint16_t idx = 5;
    memcpy(c->ram + AVAIL + 0x4000 + 2, &idx, 2);
    virtio_con_doorbell(&c->con, 8);
    virtio_con_doorbell(&c->con, 5);
    virtio_con_doorbell(&c->con, ~0ull);
    reg_write(c, 0x050, 0xffffffffu);
    cr_assert_eq(virtio_con_mmio_read(&c->con, 0x070, 4), 0xf);
    virtio_con_doorbell(&c->con, 4);
    cr_assert_eq(virtio_con_mmio_read(&c->con, 0x070, 4) & 64, 64);
    cr_assert_eq(used_idx(c, 1), 0);
    term_flush(&c->term);
    cr_assert_eq(c->out_len, 0);
    reg_write(c, 0x070, 0);  // reset
    cr_assert_eq(virtio_con_mmio_read(&c->con, 0x070, 4), 0);
    cr_assert_eq(virtio_con_mmio_read(&c->con, 0x044, 4), 0);
    console_free(c);
}
