// Concurrency stress under ThreadSanitizer (docs/robustness.md). A plain program, as Criterion
// does not start under TSan; `stress_tsan host` runs what needs no KVM, `stress_tsan kvm` the
// guest part (exit status 77 without KVM). Every status must be one the call's page documents
// (fuzz/fuzz_common.c), every handle is closed at the end, and TSan must report nothing
// (TSAN_OPTIONS=halt_on_error=1 in tests/CMakeLists.txt).
//
// host: many waiters on one port, each packet taken exactly once; the port's last handle closed
//       while threads wait on it; handles duplicated and closed from many threads at once; VMOs
//       read, written and resized at once; host mappings made and unmapped at once.
// kvm:  interrupts from many threads at a running VCPU; the VCPU, guest and port handles closed
//       while the VCPU's thread is in zx_vcpu_resume and a reader in zx_port_wait; traps added
//       and guest memory mapped and unmapped while the VCPU runs.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "fuzz_common.h"
#include "object/handle.h"

#define PAGE 4096u

static int passed;
static void run(const char* name) {
    printf("RUN: %s\n", name);
    fflush(stdout);
}
static void pass(const char* name) {
    printf("PASS: %s\n", name);
    fflush(stdout);
    passed++;
}

static void start(pthread_t* t, void* (*fn)(void*), void* arg) {
    if (pthread_create(t, NULL, fn, arg) != 0) fuzz_fail("pthread_create");
}

// ---- host: port waiters

#define WAITERS 8
#define PACKETS 4000
static zx_handle_t the_port;
static atomic_int taken[PACKETS];
static atomic_int total_taken;

static void* waiter(void* arg) {
    (void)arg;
    for (;;) {
        zx_port_packet_t p;
        zx_status_t st = fuzz_check(CALL_port_wait, zx_port_wait(the_port, zx_deadline_after(ZX_MSEC(300)), &p));
        if (st == ZX_ERR_TIMED_OUT) return NULL;
        FUZZ_OK(st);
        if (p.user.u64[0] == UINT64_MAX) return NULL;  // the end
        if (p.user.u64[0] >= PACKETS || atomic_fetch_add(&taken[p.user.u64[0]], 1) != 0) {
            fuzz_fail("packet %llu taken twice", (unsigned long long)p.user.u64[0]);
        }
        atomic_fetch_add(&total_taken, 1);
    }
}

static void port_waiters(void) {
    FUZZ_OK(zx_port_create(0, &the_port));
    pthread_t t[WAITERS];
    for (int i = 0; i < WAITERS; i++) start(&t[i], waiter, NULL);
    for (uint64_t i = 0; i < PACKETS; i++) {
        zx_port_packet_t p;
        memset(&p, 0, sizeof(p));
        p.user.u64[0] = i;
        zx_status_t st;
        while ((st = fuzz_check(CALL_port_queue, zx_port_queue(the_port, &p))) == ZX_ERR_SHOULD_WAIT) {
            zx_nanosleep(zx_deadline_after(ZX_USEC(100)));
        }
        FUZZ_OK(st);
    }
    for (int i = 0; i < WAITERS; i++) {
        zx_port_packet_t p;
        memset(&p, 0, sizeof(p));
        p.user.u64[0] = UINT64_MAX;
        FUZZ_OK(zx_port_queue(the_port, &p));
    }
    for (int i = 0; i < WAITERS; i++) pthread_join(t[i], NULL);
    if (atomic_load(&total_taken) != PACKETS) fuzz_fail("%d of %d packets taken", total_taken, PACKETS);
    FUZZ_OK(zx_handle_close(the_port));
    pass("port_many_waiters_take_each_packet_once");
}

// The last handle closed while threads wait: they wait until their deadline (port_wait.md).
static void* short_waiter(void* arg) {
    zx_handle_t port = (zx_handle_t)(uintptr_t)arg;
    zx_port_packet_t p;
    zx_status_t st = fuzz_check(CALL_port_wait, zx_port_wait(port, zx_deadline_after(ZX_MSEC(200)), &p));
    if (st != ZX_ERR_TIMED_OUT && st != ZX_ERR_BAD_HANDLE && st != ZX_OK) {
        fuzz_fail("waiter on a closed port: %s", zx_status_get_string(st));
    }
    return NULL;
}

static void port_closed_under_waiters(void) {
    for (int round = 0; round < 20; round++) {
        zx_handle_t port;
        FUZZ_OK(zx_port_create(0, &port));
        pthread_t t[4];
        for (int i = 0; i < 4; i++) start(&t[i], short_waiter, (void*)(uintptr_t)port);
        zx_port_packet_t p;
        memset(&p, 0, sizeof(p));
        FUZZ_OK(zx_port_queue(port, &p));
        FUZZ_OK(zx_handle_close(port));
        for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    }
    pass("port_closed_while_threads_wait");
}

// ---- host: handles, VMOs and mappings from many threads

static zx_handle_t shared_vmo;
static atomic_bool stop;

static void* handle_churn(void* arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        zx_handle_t d;
        zx_status_t st = fuzz_check(CALL_handle_duplicate,
                                    zx_handle_duplicate(shared_vmo, ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_MAP, &d));
        if (st != ZX_OK) continue;
        zx_handle_t r;
        FUZZ_OK(zx_handle_replace(d, ZX_RIGHT_READ, &r));
        fuzz_check(CALL_handle_close, zx_handle_close(d));  // already consumed: BAD_HANDLE
        FUZZ_OK(zx_handle_close(r));
    }
    return NULL;
}

static void* vmo_churn(void* arg) {
    uintptr_t which = (uintptr_t)arg;
    uint8_t buf[3 * PAGE];
    memset(buf, (int)which, sizeof(buf));
    while (!atomic_load(&stop)) {
        switch (which % 3) {
            case 0:
                fuzz_check(CALL_vmo_write, zx_vmo_write(shared_vmo, buf, PAGE, sizeof(buf)));
                break;
            case 1:
                fuzz_check(CALL_vmo_read, zx_vmo_read(shared_vmo, buf, 0, sizeof(buf)));
                break;
            default:
                fuzz_check(CALL_vmo_set_size, zx_vmo_set_size(shared_vmo, (which & 4 ? 2 : 8) * PAGE));
                which ^= 4;
                break;
        }
    }
    return NULL;
}

static void* map_churn(void* arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        zx_vaddr_t addr;
        zx_status_t st = fuzz_check(CALL_vmar_map, zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0,
                                                               shared_vmo, 0, 4 * PAGE, &addr));
        if (st != ZX_OK) continue;
        FUZZ_OK(zx_vmar_unmap(zx_vmar_root_self(), addr + PAGE, PAGE));  // a split
        FUZZ_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 4 * PAGE));
    }
    return NULL;
}

static void objects_from_many_threads(void) {
    FUZZ_OK(zx_vmo_create(8 * PAGE, 0, &shared_vmo));
    size_t before = handle_table_count();  // (the root VMAR handle exists already: main)
    pthread_t t[9];
    for (uintptr_t i = 0; i < 3; i++) start(&t[i], handle_churn, NULL);
    for (uintptr_t i = 0; i < 4; i++) start(&t[3 + i], vmo_churn, (void*)i);
    for (uintptr_t i = 0; i < 2; i++) start(&t[7 + i], map_churn, NULL);
    zx_nanosleep(zx_deadline_after(ZX_MSEC(1500)));
    atomic_store(&stop, true);
    for (int i = 0; i < 9; i++) pthread_join(t[i], NULL);
    atomic_store(&stop, false);
    if (handle_table_count() != before) fuzz_fail("handles leaked: %zu -> %zu", before, handle_table_count());
    FUZZ_OK(zx_handle_close(shared_vmo));
    pass("handles_vmos_and_mappings_from_many_threads");
}

// ---- kvm: a guest that rings a doorbell and leaves through a trapped port, in a loop

// start: mov ecx, 3000; loop $; mov dword [0x20000], 1; out 0x60, al; jmp start
static const uint8_t kLoop[] = {0xb9, 0xb8, 0x0b, 0x00, 0x00, 0xe2, 0xfe, 0xc7, 0x04, 0x25,
                                0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe6, 0x60,
                                0xeb, 0xea};

struct guest {
    zx_handle_t guest, vmar, vmo, port, vcpu, vcpu_dup;
    zx_handle_t reader_port;  // the port the reader waits on (set before it starts)
    atomic_int phase;  // 1: VCPU made, 2: its thread has finished
    atomic_int resumes;
    atomic_int last;  // the last resume status
};

static zx_handle_t hypervisor;

static bool make_guest(struct guest* g) {
    memset(g, 0, sizeof(*g));
    zx_status_t st = zx_guest_create(hypervisor, 0, &g->guest, &g->vmar);
    if (st == ZX_ERR_NOT_SUPPORTED) return false;
    FUZZ_OK(st);
    FUZZ_OK(zx_vmo_create(64 * PAGE, 0, &g->vmo));
    static uint64_t tables[3][512];
    tables[0][0] = 0x1000 | 3;
    tables[1][0] = 0x2000 | 3;
    for (uint64_t i = 0; i < 512; i++) tables[2][i] = (i << 21) | 0x83;
    FUZZ_OK(zx_vmo_write(g->vmo, tables, 0, sizeof(tables)));
    FUZZ_OK(zx_vmo_write(g->vmo, kLoop, 0x8000, sizeof(kLoop)));
    zx_vaddr_t addr;
    FUZZ_OK(zx_vmar_map(g->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                   0, g->vmo, 0, 16 * PAGE, &addr));
    FUZZ_OK(zx_port_create(0, &g->port));
    g->reader_port = g->port;
    FUZZ_OK(zx_guest_set_trap(g->guest, ZX_GUEST_TRAP_BELL, 0x20000, PAGE, g->port, 1));
    FUZZ_OK(zx_guest_set_trap(g->guest, ZX_GUEST_TRAP_IO, 0x60, 1, ZX_HANDLE_INVALID, 2));
    return true;
}

// The VCPU's thread: create, then resume until a status ends it (a kick, or its handle closed).
static void* vcpu_thread(void* arg) {
    struct guest* g = arg;
    FUZZ_OK(zx_vcpu_create(g->guest, 0, 0x8000, &g->vcpu));
    FUZZ_OK(zx_handle_duplicate(g->vcpu, ZX_RIGHT_SAME_RIGHTS, &g->vcpu_dup));
    atomic_store(&g->phase, 1);
    for (;;) {
        zx_port_packet_t p;
        zx_status_t st = fuzz_check(CALL_vcpu_resume, zx_vcpu_resume(g->vcpu, &p));
        atomic_fetch_add(&g->resumes, 1);
        g->last = st;
        if (st == ZX_OK && p.type != ZX_PKT_TYPE_GUEST_IO) fuzz_fail("packet type %u", p.type);
        if (st != ZX_OK && st != ZX_ERR_BAD_STATE && st != ZX_ERR_SHOULD_WAIT) break;
    }
    atomic_store(&g->phase, 2);
    return NULL;
}

static void* bell_reader(void* arg) {
    struct guest* g = arg;
    for (;;) {
        zx_port_packet_t p;
        zx_status_t st = fuzz_check(CALL_port_wait, zx_port_wait(g->reader_port, zx_deadline_after(ZX_MSEC(50)), &p));
        if (st == ZX_ERR_BAD_HANDLE) return NULL;  // the handle was closed under us
        if (st == ZX_OK && p.type != ZX_PKT_TYPE_GUEST_BELL) fuzz_fail("port gave type %u", p.type);
        if (atomic_load(&g->phase) == 2) return NULL;
    }
}

static void wait_phase(struct guest* g, int phase) {
    zx_time_t deadline = zx_deadline_after(ZX_SEC(120));
    while (atomic_load(&g->phase) < phase) {
        if (zx_clock_get_monotonic() > deadline) fuzz_fail("the VCPU thread is stuck");
        zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
    }
}

// Waits for |n| more resumes, or 30 s with at least one: the stress runs that long. Only a VCPU
// that makes no progress at all in 300 s fails (the nested VM can be very slow under load).
static void wait_resumes(struct guest* g, int n) {
    zx_time_t enough = zx_deadline_after(ZX_SEC(30));
    zx_time_t deadline = zx_deadline_after(ZX_SEC(300));
    int start = atomic_load(&g->resumes);
    while (atomic_load(&g->resumes) < start + n && atomic_load(&g->phase) < 2) {
        zx_time_t now = zx_clock_get_monotonic();
        if (now > enough && atomic_load(&g->resumes) > start) break;
        if (now > deadline) {
            fuzz_fail("the VCPU made no progress in 300 s (last status %s)",
                      zx_status_get_string(atomic_load(&g->last)));
        }
        zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
    }
}

static void close_guest(struct guest* g) {
    zx_handle_t* hs[] = {&g->vcpu, &g->vcpu_dup, &g->port, &g->vmo, &g->vmar, &g->guest};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        if (*hs[i] != ZX_HANDLE_INVALID) fuzz_check(CALL_handle_close, zx_handle_close(*hs[i]));
    }
}

struct interrupter {
    zx_handle_t vcpu;
    unsigned seed;
};

static void* interrupter(void* arg) {
    struct interrupter* it = arg;
    while (!atomic_load(&stop)) {
        it->seed = it->seed * 1103515245u + 12345u;
        fuzz_check(CALL_vcpu_interrupt, zx_vcpu_interrupt(it->vcpu, 32 + (it->seed >> 16) % 224));
    }
    return NULL;
}

static void interrupts_from_many_threads(void) {
    run("interrupts_from_six_threads_at_a_running_vcpu");
    struct guest g;
    if (!make_guest(&g)) return;
    pthread_t vt, rt, it[6];
    start(&vt, vcpu_thread, &g);
    wait_phase(&g, 1);
    start(&rt, bell_reader, &g);
    struct interrupter its[6];
    int n = getenv("ZXHV_STRESS_INTERRUPTERS") ? atoi(getenv("ZXHV_STRESS_INTERRUPTERS")) : 6;
    for (int i = 0; i < n; i++) {
        its[i] = (struct interrupter){g.vcpu_dup, (unsigned)i * 7919u};
        start(&it[i], interrupter, &its[i]);
    }
    wait_resumes(&g, 50);
    atomic_store(&stop, true);
    for (int i = 0; i < n; i++) pthread_join(it[i], NULL);
    atomic_store(&stop, false);
    FUZZ_OK(zx_vcpu_kick(g.vcpu_dup));
    pthread_join(vt, NULL);
    pthread_join(rt, NULL);
    if (g.last != ZX_ERR_CANCELED) fuzz_fail("after the kick resume gave %s", zx_status_get_string(g.last));
    close_guest(&g);
    pass("interrupts_from_six_threads_at_a_running_vcpu");
}

// Closes the VCPU's own handle, the guest's and the port's while the VCPU thread is in resume and
// a reader in port_wait: the resume in flight keeps its objects; the next one finds no handle.
static void close_while_running(void) {
    run("guest_vcpu_and_port_closed_during_resume_and_port_wait");
    for (int round = 0; round < 3; round++) {
        struct guest g;
        if (!make_guest(&g)) return;
        pthread_t vt, rt;
        start(&vt, vcpu_thread, &g);
        wait_phase(&g, 1);
        start(&rt, bell_reader, &g);
        wait_resumes(&g, 5);
        zx_handle_t order[3] = {g.guest, g.port, g.vcpu};
        for (int i = 0; i < 3; i++) {
            FUZZ_OK(zx_handle_close(order[(i + round) % 3]));
            zx_nanosleep(zx_deadline_after(ZX_MSEC(2)));
        }
        g.guest = g.port = ZX_HANDLE_INVALID;
        pthread_join(vt, NULL);  // ends with BAD_HANDLE once g.vcpu is closed
        pthread_join(rt, NULL);
        if (g.last != ZX_ERR_BAD_HANDLE) fuzz_fail("resume after close gave %s", zx_status_get_string(g.last));
        g.vcpu = ZX_HANDLE_INVALID;
        close_guest(&g);
    }
    pass("guest_vcpu_and_port_closed_during_resume_and_port_wait");
}

// Adds traps and maps and unmaps guest memory (splitting and merging the RAM's memslot) while
// the VCPU runs code in that RAM.
static void traps_while_running(void) {
    run("traps_and_guest_mappings_changed_while_the_vcpu_runs");
    struct guest g;
    if (!make_guest(&g)) return;
    pthread_t vt, rt;
    start(&vt, vcpu_thread, &g);
    wait_phase(&g, 1);
    start(&rt, bell_reader, &g);
    zx_handle_t port2;
    FUZZ_OK(zx_port_create(0, &port2));
    for (uint32_t i = 0; i < 40; i++) {
        fuzz_check(CALL_guest_set_trap, zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_IO, 0x100 + i * 4, 4,
                                                          ZX_HANDLE_INVALID, i));
        fuzz_check(CALL_guest_set_trap, zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_MEM,
                                                          0x100000 + i * PAGE, PAGE, ZX_HANDLE_INVALID, i));
        fuzz_check(CALL_guest_set_trap, zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_BELL,
                                                          0x200000 + i * PAGE, PAGE, port2, i));
        // RAM pages the loop does not use: unmap one (a split), then map it back (a merge).
        uint64_t page = (12 + i % 4) * PAGE;
        fuzz_check(CALL_vmar_unmap, zx_vmar_unmap(g.vmar, page, PAGE));
        zx_vaddr_t addr;
        fuzz_check(CALL_vmar_map, zx_vmar_map(g.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE |
                                                          ZX_VM_SPECIFIC, page, g.vmo, page, PAGE, &addr));
        // And a trap set over RAM the loop does not use (again: ZX_ERR_ALREADY_EXISTS).
        fuzz_check(CALL_guest_set_trap, zx_guest_set_trap(g.guest, ZX_GUEST_TRAP_MEM,
                                                          (9 + i % 3) * PAGE, PAGE, ZX_HANDLE_INVALID, i));
    }
    wait_resumes(&g, 5);
    FUZZ_OK(zx_vcpu_kick(g.vcpu_dup));
    pthread_join(vt, NULL);
    pthread_join(rt, NULL);
    FUZZ_OK(zx_handle_close(port2));
    close_guest(&g);
    pass("traps_and_guest_mappings_changed_while_the_vcpu_runs");
}

int main(int argc, char** argv) {
    bool kvm = argc > 1 && strcmp(argv[1], "kvm") == 0;
    (void)zx_vmar_root_self();  // made on first use: count it in the baseline
    size_t baseline = handle_table_count();
    if (!kvm) {
        port_waiters();
        port_closed_under_waiters();
        objects_from_many_threads();
    } else {
        zx_handle_t root;
        FUZZ_OK(zxhv_root_resource_get(&root));
        FUZZ_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "stress", 6, &hypervisor));
        FUZZ_OK(zx_handle_close(root));
        struct guest probe;
        if (!make_guest(&probe)) {
            printf("SKIP: no usable /dev/kvm (zx_guest_create gave ZX_ERR_NOT_SUPPORTED)\n");
            printf("tsan: 0 passed, 0 failed, 3 skipped\n");
            return 77;
        }
        close_guest(&probe);
        interrupts_from_many_threads();
        close_while_running();
        traps_while_running();
        FUZZ_OK(zx_handle_close(hypervisor));
    }
    if (handle_table_count() != baseline) {
        fuzz_fail("%zu handles live at the end, %zu at the start", handle_table_count(), baseline);
    }
    printf("tsan: %d passed, 0 failed, 0 skipped\n", passed);
    return 0;
}
