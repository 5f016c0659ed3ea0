// zxhv run: a doorbell page served by a port thread (dev_bell.h).
#include "dev_bell.h"

#include <stdio.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>

// A user packet with this key ends the thread (the trap's packets carry the trap's key).
#define KEY_STOP 0x73746f70u

static void* bell_main(void* arg) {
    struct bell* b = arg;
    for (;;) {
        zx_port_packet_t pkt;
        zx_status_t st = zx_port_wait(b->port, ZX_TIME_INFINITE, &pkt);
        if (st != ZX_OK) {
            fprintf(stderr, "zxhv: doorbell port: wait: %s\n", zx_status_get_string(st));
            return NULL;
        }
        if (pkt.type == ZX_PKT_TYPE_USER && pkt.key == KEY_STOP)
            return NULL;
        if (pkt.type != ZX_PKT_TYPE_GUEST_BELL)
            continue;
        zx_time_t start = zx_clock_get_monotonic();
        if (b->trace)
            fprintf(stderr, "zxhv: trace: bell addr 0x%llx\n",
                    (unsigned long long)pkt.guest_bell.addr);
        b->ring(b->ctx, pkt.guest_bell.addr - b->base);
        latency_add(&b->stats, (uint64_t)(zx_clock_get_monotonic() - start));
    }
}

zx_status_t bell_start(struct bell* b, zx_handle_t guest, uint64_t base, uint64_t size,
                       uint64_t key, void (*ring)(void* ctx, uint64_t offset), void* ctx,
                       bool trace) {
    *b = (struct bell){.base = base, .ring = ring, .ctx = ctx, .trace = trace};
    zx_status_t st = zx_port_create(0, &b->port);
    if (st != ZX_OK)
        return st;
    st = zx_guest_set_trap(guest, ZX_GUEST_TRAP_BELL, base, size, b->port, key);
    if (st != ZX_OK)
        return st;
    if (pthread_create(&b->thread, NULL, bell_main, b) != 0)
        return ZX_ERR_NO_RESOURCES;
    b->running = true;
    return ZX_OK;
}

void bell_stop(struct bell* b) {
    if (b->running) {
        zx_port_packet_t stop = {.key = KEY_STOP, .type = ZX_PKT_TYPE_USER};
        zx_status_t st;
        while ((st = zx_port_queue(b->port, &stop)) == ZX_ERR_SHOULD_WAIT)
            zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));  // the port is full: let the thread drain
        if (st == ZX_OK)
            pthread_join(b->thread, NULL);
        else
            pthread_detach(b->thread);  // cannot happen with a live port; never wait forever
        b->running = false;
    }
    zx_handle_close(b->port);
    b->port = ZX_HANDLE_INVALID;
}
