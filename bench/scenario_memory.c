// zxhv bench: what an idle guest costs the process. 100 guests, each with 2 MiB of RAM and one
// VCPU whose thread waits in the guest's HLT, are made; the census before and after gives the
// resident memory and the descriptors per guest. Guest RAM the guest or the loader touched is
// not counted: the VMOs' mappings (memfd "zxhv-vmo") on the zxhv side, the anonymous guest
// memory on the baseline's.
//
// Each measurement runs in a fresh process (this program again, with --memory-child), after one
// guest made and removed there (what a process pays once: /dev/kvm, signal handlers): memory an
// earlier scenario freed, and glibc kept for reuse, would otherwise hide what the guests take.
// The VCPUs' threads get fresh 256 KiB stacks: a default 8 MiB stack may be backed by a 2 MiB
// transparent huge page (THP "always"), which would count 2 MiB for a few KiB touched.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zircon/status.h>
#include <zxhv.h>

#include "bench.h"
#include "raw_kvm.h"
#include "zx_guest.h"

#define VCPU_STACK_SIZE (256 * 1024)

struct idle_guest {
    pthread_t thread;
    void* stack;
    // baseline
    struct raw_vm vm;
    struct raw_vcpu vcpu;
    atomic_uint stop;  // the futex the halted thread sleeps on
    // zxhv
    struct zx_guest g;
    zx_handle_t vcpu_handle;
    zx_status_t status;
};

static void* raw_idle(void* arg) {
    struct idle_guest* x = arg;
    raw_vcpu_create(&x->vm, &x->vcpu, guest_entry(guest_idle));
    raw_kick_prepare(&x->vcpu);
    while (!atomic_load(&x->stop)) {
        int exit = raw_run(&x->vcpu);
        if (exit == -EINTR) continue;
        CHECK(exit == KVM_EXIT_HLT, "exit %d", exit);
        futex_wait_while(&x->stop, 0);
    }
    raw_vcpu_destroy(&x->vcpu);
    return NULL;
}

static void* zx_idle(void* arg) {
    struct idle_guest* x = arg;
    CHECK_ZX(zx_vcpu_create(x->g.guest, 0, guest_entry(guest_idle), &x->vcpu_handle));
    zx_port_packet_t packet;
    x->status = zx_vcpu_resume(x->vcpu_handle, &packet);  // until the kick
    CHECK_ZX(zx_handle_close(x->vcpu_handle));
    return NULL;
}

static bool guest_marked(enum side side, struct idle_guest* x) {
    uint64_t mark = 0;
    if (side == SIDE_BASE) {
        mark = *(volatile uint64_t*)(x->vm.mem + DATA_MARK);
    } else {
        CHECK_ZX(zx_vmo_read(x->g.vmo, &mark, DATA_MARK, sizeof(mark)));
    }
    return mark != 0;
}

static void start_guests(enum side side, struct idle_guest* guests, int n) {
    for (int i = 0; i < n; i++) {
        struct idle_guest* x = &guests[i];
        // A stack of its own, fresh (glibc would reuse the cached stacks of exited threads).
        x->stack = mmap(NULL, VCPU_STACK_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        CHECK(x->stack != MAP_FAILED, "mmap: %s", strerror(errno));
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstack(&attr, x->stack, VCPU_STACK_SIZE);
        if (side == SIDE_BASE) {
            raw_vm_create(&x->vm);
        } else {
            zx_guest_make(&x->g, false);
        }
        CHECK(pthread_create(&x->thread, &attr, side == SIDE_BASE ? raw_idle : zx_idle, x) == 0,
              "pthread_create");
        pthread_attr_destroy(&attr);
    }
    uint64_t deadline = monotonic_ns() + 120ull * 1000000000ull;
    for (int i = 0; i < n; i++) {
        while (!guest_marked(side, &guests[i])) {
            CHECK(monotonic_ns() < deadline, "guest %d never ran", i);
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    // The guests have run their one instruction; give their threads time to go to sleep.
    struct timespec settle = {0, 200000000};
    nanosleep(&settle, NULL);
}

static void stop_guests(enum side side, struct idle_guest* guests, int n) {
    for (int i = 0; i < n; i++) {
        struct idle_guest* x = &guests[i];
        if (side == SIDE_BASE) {
            atomic_store(&x->stop, 1);
            futex_wake_all(&x->stop);
            raw_kick(&x->vcpu);
        } else {
            CHECK_ZX(zx_vcpu_kick(x->vcpu_handle));
        }
    }
    for (int i = 0; i < n; i++) {
        struct idle_guest* x = &guests[i];
        pthread_join(x->thread, NULL);
        munmap(x->stack, VCPU_STACK_SIZE);
        if (side == SIDE_BASE) {
            raw_vm_destroy(&x->vm);
        } else {
            CHECK(x->status == ZX_ERR_CANCELED, "resume: %s", zx_status_get_string(x->status));
            zx_guest_unmake(&x->g);
        }
    }
}

static struct census census_of(struct idle_guest* guests, int n) {
    const uint8_t** ram = calloc((size_t)n, sizeof(*ram));
    CHECK(ram != NULL, "calloc");
    for (int i = 0; i < n; i++) ram[i] = guests[i].vm.mem;  // NULL on the zxhv side
    struct census c = census_take(ram, n, GUEST_RAM_SIZE);
    free(ram);
    return c;
}

int bench_memory_child(enum side side, int n) {
    struct idle_guest* guests = calloc((size_t)n, sizeof(*guests));
    CHECK(guests != NULL, "calloc");
    start_guests(side, guests, 1);
    stop_guests(side, guests, 1);
    memset(guests, 0, sizeof(*guests));
    struct census before = census_of(guests, 0);
    start_guests(side, guests, n);
    struct census after = census_of(guests, n);
    stop_guests(side, guests, n);
    free(guests);
    long rss = (after.rss_kib - after.guest_ram_kib) - (before.rss_kib - before.guest_ram_kib);
    if (getenv("ZXHV_BENCH_DEBUG") != NULL) {
        fprintf(stderr,
                "\nmemory %s: rss %+ld KiB of which guest RAM %+ld KiB, fds %+d, threads %+d\n",
                side == SIDE_BASE ? "base" : "zxhv", after.rss_kib - before.rss_kib,
                after.guest_ram_kib - before.guest_ram_kib, after.fds - before.fds,
                after.threads - before.threads);
    }
    printf("%ld %d\n", rss, after.fds - before.fds);
    return 0;
}

void bench_idle_memory(enum side side) {
    char exe[4096], cmd[4200];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    CHECK(len > 0, "readlink /proc/self/exe: %s", strerror(errno));
    exe[len] = '\0';
    snprintf(cmd, sizeof(cmd), "'%s' --memory-child %s %d", exe,
             side == SIDE_BASE ? "base" : "zxhv", cfg.idle_guests);
    fflush(NULL);
    FILE* child = popen(cmd, "r");
    CHECK(child != NULL, "popen: %s", strerror(errno));
    long rss = 0;
    int fds = 0;
    int got = fscanf(child, "%ld %d", &rss, &fds);
    int status = pclose(child);
    CHECK(got == 2 && status == 0, "%s: status %#x", cmd, status);
    row_add(ROW_RSS, side, (double)rss / cfg.idle_guests);
    row_add(ROW_FDS, side, (double)fds / cfg.idle_guests);
}
