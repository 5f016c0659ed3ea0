// zxhv run: the minimal 8254 PIT and port 0x61 (dev_pit.h).
#include "dev_pit.h"

#include <zircon/syscalls.h>

#define PIT_HZ 1193182u
#define PORT_CH0 0x40u
#define PORT_CONTROL 0x43u
#define PORT_61 0x61u
#define GATE2 0x01u

// Whole PIT clock ticks since |c| started counting at |now|.
static uint64_t elapsed_ticks(const struct pit_channel* c, int64_t now) {
    if (c->start_ns < 0 || now <= c->start_ns)
        return 0;
    return (uint64_t)((unsigned __int128)(uint64_t)(now - c->start_ns) * PIT_HZ / 1000000000u);
}

static bool counting(const struct pit* p, unsigned idx) {
    return p->ch[idx].start_ns >= 0 && (idx != 2 || (p->port61 & GATE2));
}

// The counter as a read would see it now.
static uint16_t current_count(const struct pit* p, unsigned idx, int64_t now) {
    const struct pit_channel* c = &p->ch[idx];
    if (!counting(p, idx))
        return (uint16_t)c->reload;
    uint64_t t = elapsed_ticks(c, now);
    if (c->mode == 2 || c->mode == 3)
        return (uint16_t)(c->reload - t % c->reload);
    return (uint16_t)(c->reload - t);  // one-shot modes: keeps counting down past 0, wrapping
}

// The channel's OUT pin: mode 0 and 1 go high at the terminal count; mode 3 is a square wave;
// the rest are high but for a moment.
static bool output(const struct pit* p, unsigned idx, int64_t now) {
    const struct pit_channel* c = &p->ch[idx];
    if (!counting(p, idx))
        return c->mode != 0;
    uint64_t t = elapsed_ticks(c, now);
    switch (c->mode) {
    case 0:
    case 1:
        return t >= c->reload;
    case 3:
        return t % c->reload < (c->reload + 1) / 2;
    default:
        return true;
    }
}

static void latch(struct pit* p, unsigned idx, int64_t now) {
    struct pit_channel* c = &p->ch[idx];
    if (!c->latched) {
        c->latch = current_count(p, idx, now);
        c->latched = true;
    }
}

static void write_control(struct pit* p, uint8_t v, int64_t now) {
    unsigned idx = v >> 6;
    if (idx == 3) {  // read-back: bit 5 clear latches the counts of the channels in bits 1-3
        for (unsigned i = 0; i < 3; i++)
            if (!(v & 0x20) && (v & (2u << i)))
                latch(p, i, now);
        return;
    }
    struct pit_channel* c = &p->ch[idx];
    unsigned access = (v >> 4) & 3;
    if (access == 0) {
        latch(p, idx, now);
        return;
    }
    unsigned mode = (v >> 1) & 7;
    c->mode = (uint8_t)(mode > 5 ? mode - 4 : mode);
    c->access = (uint8_t)access;
    c->start_ns = -1;
    c->write_high = c->read_high = c->latched = false;
}

static void write_count(struct pit_channel* c, uint8_t v, int64_t now) {
    uint32_t value;
    if (c->access == 1) {
        value = v;
    } else if (c->access == 2) {
        value = (uint32_t)v << 8;
    } else if (!c->write_high) {
        c->write_low = v;
        c->write_high = true;
        c->start_ns = -1;  // counting waits for the high byte
        return;
    } else {
        value = c->write_low | ((uint32_t)v << 8);
        c->write_high = false;
    }
    c->reload = value ? value : 0x10000u;
    c->start_ns = now;
}

static uint8_t read_count(struct pit* p, unsigned idx, int64_t now) {
    struct pit_channel* c = &p->ch[idx];
    uint16_t value = c->latched ? c->latch : current_count(p, idx, now);
    uint8_t b;
    bool done = true;
    if (c->access == 2) {
        b = (uint8_t)(value >> 8);
    } else if (c->access == 3 && !c->read_high) {
        b = (uint8_t)value;
        c->read_high = true;
        done = false;
    } else {
        b = c->access == 3 ? (uint8_t)(value >> 8) : (uint8_t)value;
        c->read_high = false;
    }
    if (done)
        c->latched = false;
    return b;
}

static uint32_t pit_in(void* ctx, uint16_t port, uint8_t size) {
    (void)size;
    struct pit* p = ctx;
    int64_t now = zx_clock_get_monotonic();
    uint8_t v = 0xff;
    pthread_mutex_lock(&p->mu);
    if (port == PORT_61) {
        v = (uint8_t)((p->port61 & 0x0f) | (p->refresh ? 0x10 : 0) | (output(p, 2, now) ? 0x20 : 0));
        p->refresh = !p->refresh;
    } else if (port < PORT_CONTROL) {
        v = read_count(p, port - PORT_CH0, now);
    }
    pthread_mutex_unlock(&p->mu);
    return v;
}

static void pit_out(void* ctx, uint16_t port, uint8_t size, uint32_t value) {
    (void)size;
    struct pit* p = ctx;
    int64_t now = zx_clock_get_monotonic();
    uint8_t v = (uint8_t)value;
    pthread_mutex_lock(&p->mu);
    if (port == PORT_61) {
        if ((v & GATE2) && !(p->port61 & GATE2) && p->ch[2].start_ns >= 0)
            p->ch[2].start_ns = now;  // a rising gate restarts channel 2 from its count
        p->port61 = v & 0x0f;
    } else if (port == PORT_CONTROL) {
        write_control(p, v, now);
    } else {
        write_count(&p->ch[port - PORT_CH0], v, now);
    }
    pthread_mutex_unlock(&p->mu);
}

int pit_attach(struct pit* p, struct io_bus* bus) {
    *p = (struct pit){0};
    pthread_mutex_init(&p->mu, NULL);
    for (unsigned i = 0; i < 3; i++)
        p->ch[i] = (struct pit_channel){.mode = 3, .access = 3, .reload = 0x10000u, .start_ns = -1};
    struct io_device pit = {
        .name = "pit", .base = PORT_CH0, .count = 4, .ctx = p, .in = pit_in, .out = pit_out};
    struct io_device port61 = {
        .name = "port61", .base = PORT_61, .count = 1, .ctx = p, .in = pit_in, .out = pit_out};
    return io_bus_add(bus, &pit) == 0 && io_bus_add(bus, &port61) == 0 ? 0 : -1;
}

void pit_destroy(struct pit* p) { pthread_mutex_destroy(&p->mu); }
