// zxhv bench: an interrupt raised from another thread, until the guest's handler runs. The guest
// (guest_irq) either waits in HLT or spins with interrupts on; its handler counts the interrupt
// and leaves through an OUT to IRQ_DONE_PORT, whose exit the VCPU's thread timestamps. A sample
// is the time from just before the raise to that exit reaching the VMM: the wake-up or kick,
// the injection, the guest's entry into the handler and one IO exit (the same on both sides).
// The raiser sleeps meanwhile (a raiser spinning on a counter would keep the VM's other CPU from
// the VCPU's thread on a machine with few CPUs).
//
// zxhv emulates the x2APIC in user space, so the baseline is a VMM without an in-kernel irqchip
// doing what zxhv must: the VCPU's thread sleeps on a futex after a HLT exit, or is kicked out of
// KVM_RUN with a signal, and injects with KVM_INTERRUPT.
//
// An interrupt not handled within LOST_AFTER_NS is counted as lost (bench_irq_lost) and rescued
// with a kick, so that a VMM bug shows in the report instead of hanging the benchmark.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <zircon/status.h>
#include <zxhv.h>

#include "bench.h"
#include "raw_kvm.h"
#include "zx_guest.h"

#define WARMUP 3
#define SETTLE_NS 1000000  // between interrupts: the guest is back in HLT (or its spin) by then
#define LOST_AFTER_NS 20000000000ull

int bench_irq_lost[2];

enum { VCPU_RUNNING, VCPU_HALTED };
#define PENDING_STOP 0x10000u

// What both sides share: the handled-interrupt handshake between the VCPU's thread and the raiser.
struct irq_common {
    pthread_t thread;
    sem_t ready;
    atomic_uint handled;  // futex: set with |handled_tick| by the VCPU's thread
    uint64_t handled_tick;
};

static void irq_handled(struct irq_common* c) {
    c->handled_tick = ticks();
    atomic_store(&c->handled, 1);
    futex_wake_all(&c->handled);
}

struct raw_irq {
    struct irq_common c;
    struct raw_vm vm;
    struct raw_vcpu vcpu;
    atomic_uint pending;  // 0, vector + 1, or PENDING_STOP; the futex the halted thread sleeps on
    atomic_uint state;
};

// The baseline VCPU's thread: inject what is pending when the guest can take it, sleep after HLT.
static void* raw_irq_vcpu(void* arg) {
    struct raw_irq* x = arg;
    raw_vcpu_create(&x->vm, &x->vcpu, guest_entry(guest_irq));
    raw_kick_prepare(&x->vcpu);
    sem_post(&x->c.ready);
    struct kvm_run* run = x->vcpu.run;
    for (;;) {
        unsigned pending = atomic_load(&x->pending);
        if (pending == PENDING_STOP) break;
        run->request_interrupt_window = 0;
        if (pending != 0) {
            if (run->ready_for_interrupt_injection && run->if_flag) {
                atomic_store(&x->pending, 0);
                struct kvm_interrupt irq = {.irq = pending - 1};
                CHECK_SYS(ioctl(x->vcpu.fd, KVM_INTERRUPT, &irq));
            } else {
                run->request_interrupt_window = 1;
            }
        }
        int exit = raw_run(&x->vcpu);
        if (exit == -EINTR) continue;
        CHECK(exit >= 0, "KVM_RUN: %s", strerror(-exit));
        if (exit == KVM_EXIT_IO) {
            CHECK(run->io.port == IRQ_DONE_PORT, "port %#x", run->io.port);
            irq_handled(&x->c);
        } else if (exit == KVM_EXIT_HLT) {
            atomic_store(&x->state, VCPU_HALTED);
            futex_wait_while(&x->pending, 0);
            atomic_store(&x->state, VCPU_RUNNING);
        } else {
            CHECK(exit == KVM_EXIT_IRQ_WINDOW_OPEN, "exit %d", exit);
        }
    }
    raw_vcpu_destroy(&x->vcpu);
    return NULL;
}

static void raw_irq_raise(struct raw_irq* x, unsigned value) {
    atomic_store(&x->pending, value);
    if (atomic_load(&x->state) == VCPU_HALTED) {
        futex_wake_all(&x->pending);
    } else {
        raw_kick(&x->vcpu);
    }
}

struct zx_irq {
    struct irq_common c;
    struct zx_guest g;
    zx_handle_t vcpu;
    zx_status_t status;
    atomic_bool stopping;  // a kick now ends the thread (before: it rescues a lost interrupt)
};

static void* zx_irq_vcpu(void* arg) {
    struct zx_irq* x = arg;
    CHECK_ZX(zx_vcpu_create(x->g.guest, 0, guest_entry(guest_irq), &x->vcpu));
    sem_post(&x->c.ready);
    for (;;) {
        zx_port_packet_t packet;
        x->status = zx_vcpu_resume(x->vcpu, &packet);  // until the kick at the end
        if (x->status == ZX_ERR_CANCELED && !atomic_load(&x->stopping)) continue;
        if (x->status != ZX_OK) break;
        CHECK(packet.type == ZX_PKT_TYPE_GUEST_IO && packet.guest_io.port == IRQ_DONE_PORT,
              "packet type %u", packet.type);
        irq_handled(&x->c);
    }
    return NULL;
}

static void wait_for_mark(volatile uint64_t* mark) {
    uint64_t deadline = monotonic_ns() + 60ull * 1000000000ull;
    while (*mark == 0) {
        CHECK(monotonic_ns() < deadline, "the guest never got ready");
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

// Raises interrupts one at a time, each once the guest has settled, timing each to its handler.
static void measure(enum row_id row, enum side side, struct irq_common* c, uint8_t* ram,
                    void (*raise)(void* ctx), void (*rescue)(void* ctx), void* ctx) {
    volatile uint64_t* counter = (volatile uint64_t*)(ram + DATA_COUNTER);
    wait_for_mark((volatile uint64_t*)(ram + DATA_MARK));
    for (int i = 0; i < WARMUP + cfg.irq_samples; i++) {
        struct timespec settle = {0, SETTLE_NS};
        nanosleep(&settle, NULL);
        uint64_t before = *counter;
        atomic_store(&c->handled, 0);
        uint64_t t0 = ticks();
        raise(ctx);
        bool lost = !futex_wait_while_for(&c->handled, 0, LOST_AFTER_NS);
        if (lost) {
            fprintf(stderr,
                    "\nbench: %s: interrupt %d not handled after %llu s; kicking the VCPU\n",
                    side == SIDE_BASE ? "baseline" : "zxhv", i, LOST_AFTER_NS / 1000000000ull);
            bench_irq_lost[side]++;
            rescue(ctx);
            futex_wait_while(&c->handled, 0);
        }
        CHECK(*counter == before + 1, "interrupt counted %lu times",
              (unsigned long)(*counter - before));
        if (i >= WARMUP && !lost) row_add(row, side, (double)(c->handled_tick - t0));
    }
}

static void raw_raise(void* ctx) {
    raw_irq_raise(ctx, IRQ_VECTOR + 1);
}

static void raw_rescue(void* ctx) {
    struct raw_irq* x = ctx;
    futex_wake_all(&x->pending);
    raw_kick(&x->vcpu);
}

static void zx_raise(void* ctx) {
    struct zx_irq* x = ctx;
    CHECK_ZX(zx_vcpu_interrupt(x->vcpu, IRQ_VECTOR));
}

static void zx_rescue(void* ctx) {
    struct zx_irq* x = ctx;
    CHECK_ZX(zx_vcpu_kick(x->vcpu));
}

static void start_vcpu(struct irq_common* c, void* (*fn)(void*), void* arg) {
    sem_init(&c->ready, 0, 0);
    CHECK(pthread_create(&c->thread, NULL, fn, arg) == 0, "pthread_create");
    while (sem_wait(&c->ready) != 0) {
    }
}

static void run_irq(enum side side, enum row_id row, uint64_t mode) {
    if (side == SIDE_BASE) {
        struct raw_irq x;
        memset(&x, 0, sizeof(x));
        raw_vm_create(&x.vm);
        *(volatile uint64_t*)(x.vm.mem + DATA_MODE) = mode;
        start_vcpu(&x.c, raw_irq_vcpu, &x);
        measure(row, side, &x.c, x.vm.mem, raw_raise, raw_rescue, &x);
        raw_irq_raise(&x, PENDING_STOP);
        pthread_join(x.c.thread, NULL);
        sem_destroy(&x.c.ready);
        raw_vm_destroy(&x.vm);
    } else {
        struct zx_irq x;
        memset(&x, 0, sizeof(x));
        zx_guest_make(&x.g, true);
        *(volatile uint64_t*)(x.g.host + DATA_MODE) = mode;
        CHECK_ZX(
            zx_guest_set_trap(x.g.guest, ZX_GUEST_TRAP_IO, IRQ_DONE_PORT, 1, ZX_HANDLE_INVALID, 0));
        start_vcpu(&x.c, zx_irq_vcpu, &x);
        measure(row, side, &x.c, x.g.host, zx_raise, zx_rescue, &x);
        atomic_store(&x.stopping, true);
        CHECK_ZX(zx_vcpu_kick(x.vcpu));
        pthread_join(x.c.thread, NULL);
        CHECK(x.status == ZX_ERR_CANCELED, "resume: %s", zx_status_get_string(x.status));
        CHECK_ZX(zx_handle_close(x.vcpu));
        sem_destroy(&x.c.ready);
        zx_guest_unmake(&x.g);
    }
}

void bench_irq_halted(enum side side) {
    run_irq(side, ROW_IRQ_HALTED, 0);
}
void bench_irq_running(enum side side) {
    run_irq(side, ROW_IRQ_RUNNING, 1);
}
