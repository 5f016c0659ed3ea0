// zxhv bench: BELL delivery, through the exit path and through the ioeventfd fast path.
//
// Throughput: the guest rings DATA_BURST times (8-byte stores to BELL_TRAP_ADDR), timing each
// store with its TSC (guest time per ring: one sample per ring), then leaves through EXIT_PORT;
// a reader thread takes the rings, and the time from the resume until the reader has the last
// ring, per ring, is one more sample per burst (a mean, so it takes in whatever else the machine
// did meanwhile). zxhv delivers a GUEST_BELL packet per ring to a port (ZXHV_BELL_EXACT on the
// fast path); the baseline's exit path is the floor (MMIO exit + KVM_RUN, nothing delivered), its
// fast path a thread reading the ioeventfd's eventfd.
//
// Latency: ping-pong. The guest rings n and spins until the reader acknowledges n in guest
// memory; a sample is the time from one acknowledgement to the next ring reaching the reader (the
// guest noticing, the ring, the delivery). The baseline's exit path hands each ring to the reader
// through an eventfd.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zircon/status.h>
#include <zxhv.h>

#include "bench.h"
#include "raw_kvm.h"
#include "zx_guest.h"

#define BELL_KEY 0xbe11u
#define STOP_KEY 0x5709u

static volatile uint64_t* data_word(uint8_t* ram, uint64_t gpa) {
    return (volatile uint64_t*)(ram + gpa);
}

// The guest's timings of its last burst, one sample per ring.
static void add_guest_times(uint8_t* ram, enum row_id row, enum side side) {
    for (int i = 0; i < cfg.bell_burst; i++) {
        row_add(row, side, (double)*data_word(ram, GUEST_TIMES + 8 * (uint64_t)i));
    }
}

// ---- the reader of the throughput test: counts rings, and says when a target is reached.

struct reader {
    pthread_t thread;
    int efd;           // baseline: the eventfd to read
    zx_handle_t port;  // zxhv: the port to wait on
    atomic_ulong count;
    atomic_ulong target;  // nonzero: post |reached| once count gets there
    uint64_t target_tick;
    sem_t reached;
    atomic_bool stop;
};

static void reader_count(struct reader* r, uint64_t n) {
    uint64_t count = atomic_fetch_add(&r->count, n) + n;
    uint64_t target = atomic_load(&r->target);
    if (target != 0 && count >= target) {
        r->target_tick = ticks();
        atomic_store(&r->target, 0);
        sem_post(&r->reached);
    }
}

static void* read_eventfd(void* arg) {
    struct reader* r = arg;
    while (!atomic_load(&r->stop)) {
        uint64_t n;
        if (read(r->efd, &n, sizeof(n)) != (ssize_t)sizeof(n)) continue;
        if (atomic_load(&r->stop)) break;
        reader_count(r, n);
    }
    return NULL;
}

static void* read_port(void* arg) {
    struct reader* r = arg;
    for (;;) {
        zx_port_packet_t p;
        CHECK_ZX(zx_port_wait(r->port, ZX_TIME_INFINITE, &p));
        if (p.key == STOP_KEY) break;
        CHECK(p.type == ZX_PKT_TYPE_GUEST_BELL && p.key == BELL_KEY, "packet type %u key %lu",
              p.type, (unsigned long)p.key);
        reader_count(r, 1);
    }
    return NULL;
}

static void reader_start(struct reader* r, int efd, zx_handle_t port) {
    memset(r, 0, sizeof(*r));
    r->efd = efd;
    r->port = port;
    sem_init(&r->reached, 0, 0);
    void* (*fn)(void*) = port != ZX_HANDLE_INVALID ? read_port : read_eventfd;
    CHECK(pthread_create(&r->thread, NULL, fn, r) == 0, "pthread_create");
}

static void reader_stop(struct reader* r) {
    atomic_store(&r->stop, true);
    if (r->port != ZX_HANDLE_INVALID) {
        zx_port_packet_t p = {.key = STOP_KEY, .type = ZX_PKT_TYPE_USER};
        CHECK_ZX(zx_port_queue(r->port, &p));
    } else {
        uint64_t one = 1;
        CHECK(write(r->efd, &one, sizeof(one)) == sizeof(one), "write eventfd");
    }
    pthread_join(r->thread, NULL);
    sem_destroy(&r->reached);
}

// Arms the reader for |n| more rings (before they start); reader_wait then returns once it has
// them, with the tick of the last.
static void reader_arm(struct reader* r, uint64_t n) {
    atomic_store(&r->target, atomic_load(&r->count) + n);
}

static uint64_t reader_wait(struct reader* r) {
    while (sem_wait(&r->reached) != 0) {
    }
    return r->target_tick;
}

// ---- throughput

static void raw_throughput(void) {
    struct raw_vm vm;
    struct raw_vcpu vcpu;
    raw_vm_create(&vm);
    *data_word(vm.mem, DATA_BURST) = (uint64_t)cfg.bell_burst;
    raw_vcpu_create(&vm, &vcpu, guest_entry(guest_bell_burst));
    // Exit path: every ring is an MMIO exit, and KVM_RUN again.
    for (int b = 0; b <= cfg.bell_bursts; b++) {  // burst 0 warms up
        uint64_t t0 = ticks();
        int rings = 0;
        while (raw_run_expect_any(&vcpu) == KVM_EXIT_MMIO) rings++;
        uint64_t t1 = ticks();
        CHECK(rings == cfg.bell_burst, "%d rings, want %d", rings, cfg.bell_burst);
        if (b == 0) continue;
        row_add(ROW_BELL_EXIT_TPUT, SIDE_BASE, (double)(t1 - t0) / rings);
        add_guest_times(vm.mem, ROW_BELL_EXIT_GUEST, SIDE_BASE);
    }
    // Fast path: KVM counts the rings in an eventfd, a thread reads it.
    int efd = raw_ioeventfd(&vm, BELL_TRAP_ADDR, 8);
    struct reader r;
    reader_start(&r, efd, ZX_HANDLE_INVALID);
    for (int b = 0; b <= cfg.bell_bursts; b++) {
        reader_arm(&r, (uint64_t)cfg.bell_burst);
        uint64_t t0 = ticks();
        int exit = raw_run_expect_any(&vcpu);
        CHECK(exit == KVM_EXIT_IO, "exit %d", exit);
        uint64_t t1 = reader_wait(&r);
        if (b == 0) continue;
        row_add(ROW_BELL_FAST_TPUT, SIDE_BASE, (double)(t1 - t0) / cfg.bell_burst);
        add_guest_times(vm.mem, ROW_BELL_FAST_GUEST, SIDE_BASE);
    }
    reader_stop(&r);
    close(efd);
    raw_vcpu_destroy(&vcpu);
    raw_vm_destroy(&vm);
}

static void zx_throughput(void) {
    struct zx_guest g;
    zx_guest_make(&g, true);
    *data_word(g.host, DATA_BURST) = (uint64_t)cfg.bell_burst;
    zx_handle_t port, vcpu;
    CHECK_ZX(zx_port_create(0, &port));
    CHECK_ZX(
        zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_BELL, BELL_TRAP_ADDR, 0x1000, port, BELL_KEY));
    CHECK_ZX(zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_IO, EXIT_PORT, 1, ZX_HANDLE_INVALID, 0));
    CHECK_ZX(zx_vcpu_create(g.guest, 0, guest_entry(guest_bell_burst), &vcpu));
    struct reader r;
    reader_start(&r, -1, port);
    for (int fast = 0; fast <= 1; fast++) {
        if (fast) {
            CHECK_ZX(zxhv_guest_set_bell_fastpath(g.guest, BELL_TRAP_ADDR, 8, ZXHV_BELL_EXACT));
        }
        for (int b = 0; b <= cfg.bell_bursts; b++) {
            reader_arm(&r, (uint64_t)cfg.bell_burst);
            uint64_t t0 = ticks();
            zx_resume_expect(vcpu, ZX_PKT_TYPE_GUEST_IO, EXIT_PORT);
            uint64_t t1 = reader_wait(&r);
            if (b == 0) continue;
            row_add(fast ? ROW_BELL_FAST_TPUT : ROW_BELL_EXIT_TPUT, SIDE_ZXHV,
                    (double)(t1 - t0) / cfg.bell_burst);
            add_guest_times(g.host, fast ? ROW_BELL_FAST_GUEST : ROW_BELL_EXIT_GUEST, SIDE_ZXHV);
        }
    }
    reader_stop(&r);
    CHECK_ZX(zx_handle_close(vcpu));
    CHECK_ZX(zx_handle_close(port));
    zx_guest_unmake(&g);
}

void bench_bell_throughput(enum side side) {
    if (side == SIDE_BASE) {
        raw_throughput();
    } else {
        zx_throughput();
    }
}

// ---- latency: the VCPU runs on a thread of its own, phase by phase; the main thread reads.

struct pinger {
    pthread_t thread;
    sem_t go, done;
    atomic_bool quit;
    // baseline
    struct raw_vm* vm;
    int notify;  // the exit path's eventfd to the reader
    // zxhv
    zx_handle_t guest;
};

// The baseline's VCPU: each phase runs until EXIT_PORT, handing every MMIO ring to the reader.
static void* raw_pinger(void* arg) {
    struct pinger* p = arg;
    struct raw_vcpu vcpu;
    raw_vcpu_create(p->vm, &vcpu, guest_entry(guest_bell_pingpong));
    for (;;) {
        while (sem_wait(&p->go) != 0) {
        }
        if (atomic_load(&p->quit)) break;
        while (raw_run_expect_any(&vcpu) == KVM_EXIT_MMIO) {
            uint64_t one = 1;
            CHECK(write(p->notify, &one, sizeof(one)) == sizeof(one), "write eventfd");
        }
        sem_post(&p->done);
    }
    raw_vcpu_destroy(&vcpu);
    return NULL;
}

static void* zx_pinger(void* arg) {
    struct pinger* p = arg;
    zx_handle_t vcpu;
    CHECK_ZX(zx_vcpu_create(p->guest, 0, guest_entry(guest_bell_pingpong), &vcpu));
    for (;;) {
        while (sem_wait(&p->go) != 0) {
        }
        if (atomic_load(&p->quit)) break;
        zx_resume_expect(vcpu, ZX_PKT_TYPE_GUEST_IO, EXIT_PORT);
        sem_post(&p->done);
    }
    CHECK_ZX(zx_handle_close(vcpu));
    return NULL;
}

static void pinger_start(struct pinger* p, void* (*fn)(void*)) {
    sem_init(&p->go, 0, 0);
    sem_init(&p->done, 0, 0);
    atomic_init(&p->quit, false);
    CHECK(pthread_create(&p->thread, NULL, fn, p) == 0, "pthread_create");
}

static void pinger_stop(struct pinger* p) {
    atomic_store(&p->quit, true);
    sem_post(&p->go);
    pthread_join(p->thread, NULL);
    sem_destroy(&p->go);
    sem_destroy(&p->done);
}

// One phase of ping-pong; |take| blocks until the next ring reaches the reader.
static void ping_pong(struct pinger* p, uint8_t* ram, enum row_id row, enum side side,
                      void (*take)(void* ctx), void* ctx) {
    *data_word(ram, DATA_ACK) = 0;
    *data_word(ram, DATA_STOP) = 0;
    sem_post(&p->go);
    uint64_t acked = 0;
    for (int i = 1; i <= cfg.bell_pings; i++) {
        take(ctx);
        uint64_t now = ticks();
        if (i > 1) row_add(row, side, (double)(now - acked));
        if (i == cfg.bell_pings) {
            *data_word(ram, DATA_STOP) = 1;  // before an acknowledgement: no ring is left over
        } else {
            acked = ticks();
            __atomic_store_n(data_word(ram, DATA_ACK), (uint64_t)i, __ATOMIC_RELEASE);
        }
    }
    while (sem_wait(&p->done) != 0) {
    }
}

static void take_eventfd(void* ctx) {
    uint64_t n;
    CHECK(read(*(int*)ctx, &n, sizeof(n)) == sizeof(n), "read eventfd");
    CHECK(n == 1, "%lu rings at once", (unsigned long)n);
}

static void take_packet(void* ctx) {
    zx_port_packet_t p;
    CHECK_ZX(zx_port_wait(*(zx_handle_t*)ctx, ZX_TIME_INFINITE, &p));
    CHECK(p.type == ZX_PKT_TYPE_GUEST_BELL, "packet type %u", p.type);
}

static void raw_latency(void) {
    struct raw_vm vm;
    raw_vm_create(&vm);
    struct pinger p = {.vm = &vm, .notify = eventfd(0, EFD_CLOEXEC)};
    CHECK_SYS(p.notify);
    pinger_start(&p, raw_pinger);
    ping_pong(&p, vm.mem, ROW_BELL_EXIT_LAT, SIDE_BASE, take_eventfd, &p.notify);
    int efd = raw_ioeventfd(&vm, BELL_TRAP_ADDR, 8);
    ping_pong(&p, vm.mem, ROW_BELL_FAST_LAT, SIDE_BASE, take_eventfd, &efd);
    pinger_stop(&p);
    close(efd);
    close(p.notify);
    raw_vm_destroy(&vm);
}

static void zx_latency(void) {
    struct zx_guest g;
    zx_guest_make(&g, true);
    zx_handle_t port;
    CHECK_ZX(zx_port_create(0, &port));
    CHECK_ZX(
        zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_BELL, BELL_TRAP_ADDR, 0x1000, port, BELL_KEY));
    CHECK_ZX(zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_IO, EXIT_PORT, 1, ZX_HANDLE_INVALID, 0));
    struct pinger p = {.guest = g.guest};
    pinger_start(&p, zx_pinger);
    ping_pong(&p, g.host, ROW_BELL_EXIT_LAT, SIDE_ZXHV, take_packet, &port);
    CHECK_ZX(zxhv_guest_set_bell_fastpath(g.guest, BELL_TRAP_ADDR, 8, ZXHV_BELL_EXACT));
    ping_pong(&p, g.host, ROW_BELL_FAST_LAT, SIDE_ZXHV, take_packet, &port);
    pinger_stop(&p);
    CHECK_ZX(zx_handle_close(port));
    zx_guest_unmake(&g);
}

void bench_bell_latency(enum side side) {
    if (side == SIDE_BASE) {
        raw_latency();
    } else {
        zx_latency();
    }
}
