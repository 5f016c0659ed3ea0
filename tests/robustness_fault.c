// Failure injection (docs/robustness.md): every call that allocates, maps, makes a descriptor or
// calls KVM is run again and again with its Nth such call failing (src/util/fault.h), N = 1, 2,
// ... until the call no longer reaches an Nth one, once with ENOMEM and once with EMFILE. Each
// time the status must be one the call's page documents, a failed call must leave the handle
// count, the library's descriptors and the VMO mappings as they were (no half-built object), and
// LeakSanitizer must find nothing once the scenario's objects are closed.
//
// A plain program (ASan build): `robustness_fault host` runs the calls that need no KVM,
// `robustness_fault kvm` the guest ones (exit status 77 without KVM). It prints one line per
// scenario: injected failures and the statuses they gave.
#define _GNU_SOURCE
#include <errno.h>
#include <sanitizer/lsan_interface.h>
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
#include "util/fault.h"

#define PAGE 4096u


// What a scenario works on: made by setup (not armed), used by act (armed), closed by teardown.
struct ctx {
    zx_handle_t guest, vmar, vmo, port, vcpu, made[2];
    zx_vaddr_t addr;
    uint8_t* host;
};

struct census {
    size_t handles;
    int fds, maps;
};

static struct census census(void) {
    return (struct census){handle_table_count(), fuzz_fd_count(), fuzz_vmo_mapping_count()};
}

static void expect_census(struct census want, const char* scenario, unsigned long nth, int err,
                          const char* when) {
    struct census now = census();
    if (now.handles != want.handles || now.fds != want.fds || now.maps != want.maps) {
        fuzz_fail("%s, call %lu failing with %s, %s: handles %zu -> %zu, descriptors %d -> %d, "
                  "VMO mappings %d -> %d",
                  scenario, nth, strerror(err), when, want.handles, now.handles, want.fds, now.fds,
                  want.maps, now.maps);
    }
}

static zx_handle_t hypervisor;

// Enough handles that the next one makes the table grow (handle.c: it grows before fewer than
// 1024 slots are free, from 2048), so that zx_handle_duplicate reaches its realloc.
static zx_handle_t filler[2048];
static size_t nfiller;

static void close_all(struct ctx* c) {
    zx_handle_t* hs[] = {&c->vcpu, &c->made[0], &c->made[1], &c->port, &c->vmar, &c->guest};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        if (*hs[i] != ZX_HANDLE_INVALID) FUZZ_OK(zx_handle_close(*hs[i]));
        *hs[i] = ZX_HANDLE_INVALID;
    }
    if (c->host != NULL) FUZZ_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)c->host, 16 * PAGE));
    FUZZ_OK(zx_vmar_unmap(zx_vmar_root_self(), 0x1000000, 0x7ffffefff000ull));
    if (c->vmo != ZX_HANDLE_INVALID) FUZZ_OK(zx_handle_close(c->vmo));
    while (nfiller > 0) FUZZ_OK(zx_handle_close(filler[--nfiller]));
    memset(c, 0, sizeof(*c));
}

// ---- Scenarios: setup, then the call under test.

static void setup_none(struct ctx* c) { (void)c; }

static void setup_full_table(struct ctx* c) {
    FUZZ_OK(zx_port_create(0, &c->port));
    while (handle_table_count() < 1025) FUZZ_OK(zx_handle_duplicate(c->port, ZX_RIGHT_SAME_RIGHTS, &filler[nfiller++]));
}
static void setup_port(struct ctx* c) { FUZZ_OK(zx_port_create(0, &c->port)); }
static void setup_vmo(struct ctx* c) { FUZZ_OK(zx_vmo_create(16 * PAGE, 0, &c->vmo)); }
static void setup_mapped(struct ctx* c) {
    setup_vmo(c);
    FUZZ_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, c->vmo, 0,
                   16 * PAGE, &c->addr));
}

static zx_status_t act_vmo_create(struct ctx* c) { return zx_vmo_create(1 << 20, 0, &c->made[0]); }
static zx_status_t act_vmo_set_size(struct ctx* c) { return zx_vmo_set_size(c->vmo, 64 * PAGE); }
static zx_status_t act_port_create(struct ctx* c) { return zx_port_create(0, &c->made[0]); }
static zx_status_t act_port_queue(struct ctx* c) {
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    return zx_port_queue(c->port, &p);
}
static zx_status_t act_resource_create(struct ctx* c) {
    zx_handle_t root;
    FUZZ_OK(zxhv_root_resource_get(&root));
    c->made[1] = root;
    return zx_resource_create(root, ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x60, 8,
                              "fault", 5, &c->made[0]);
}
static zx_status_t act_handle_duplicate(struct ctx* c) {
    return zx_handle_duplicate(c->port, ZX_RIGHT_SAME_RIGHTS, &c->made[0]);
}
static zx_status_t act_host_map(struct ctx* c) {
    zx_vaddr_t addr;
    return zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, c->vmo, 0,
                       16 * PAGE, &addr);
}
static zx_status_t act_host_unmap_split(struct ctx* c) {
    return zx_vmar_unmap(zx_vmar_root_self(), c->addr + 4 * PAGE, PAGE);
}
static zx_status_t act_host_overwrite(struct ctx* c) {
    zx_vaddr_t addr;
    return zx_vmar_map(zx_vmar_root_self(),
                       ZX_VM_PERM_READ | ZX_VM_SPECIFIC_OVERWRITE,
                       c->addr + 2 * PAGE - 0x1000000, c->vmo, 0, 4 * PAGE, &addr);
}

// Guests: 64 KiB of RAM at 0 with the identity map of tests/kvm_helpers.h and |code| at 0x8000.
static void setup_guest(struct ctx* c) {
    zx_status_t st = zx_guest_create(hypervisor, 0, &c->guest, &c->vmar);
    if (st == ZX_ERR_NOT_SUPPORTED) {
        printf("SKIP: no usable /dev/kvm (zx_guest_create gave ZX_ERR_NOT_SUPPORTED)\n");
        exit(77);
    }
    FUZZ_OK(st);
    setup_vmo(c);
}
static void setup_guest_ram(struct ctx* c) {
    setup_guest(c);
    FUZZ_OK(zx_vmar_map(c->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                   0, c->vmo, 0, 16 * PAGE, &c->addr));
}
static void setup_guest_bell(struct ctx* c) {
    setup_guest_ram(c);
    FUZZ_OK(zx_port_create(0, &c->port));
    FUZZ_OK(zx_guest_set_trap(c->guest, ZX_GUEST_TRAP_BELL, 0x20000, PAGE, c->port, 7));
}
// mov dword [0x20000], 1; out 0x60, al; hlt
static const uint8_t kBellThenOut[] = {0xc7, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00,
                                       0x00, 0x00, 0xe6, 0x60, 0xf4};
static void setup_running_guest(struct ctx* c) {
    setup_guest_bell(c);
    FUZZ_OK(zx_guest_set_trap(c->guest, ZX_GUEST_TRAP_IO, 0x60, 1, ZX_HANDLE_INVALID, 9));
    static uint64_t tables[3][512];
    tables[0][0] = 0x1000 | 3;
    tables[1][0] = 0x2000 | 3;
    for (uint64_t i = 0; i < 512; i++) tables[2][i] = (i << 21) | 0x83;
    FUZZ_OK(zx_vmo_write(c->vmo, tables, 0, sizeof(tables)));
    FUZZ_OK(zx_vmo_write(c->vmo, kBellThenOut, 0x8000, sizeof(kBellThenOut)));
    FUZZ_OK(zx_vcpu_create(c->guest, 0, 0x8000, &c->vcpu));
}

static zx_status_t act_guest_create(struct ctx* c) {
    return zx_guest_create(hypervisor, 0, &c->made[0], &c->made[1]);
}
static zx_status_t act_guest_map(struct ctx* c) {
    return zx_vmar_map(c->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 0, c->vmo, 0,
                       16 * PAGE, &c->addr);
}
static zx_status_t act_guest_unmap_split(struct ctx* c) {
    return zx_vmar_unmap(c->vmar, 4 * PAGE, PAGE);
}
static zx_status_t act_guest_overwrite(struct ctx* c) {
    zx_vaddr_t addr;
    return zx_vmar_map(c->vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC_OVERWRITE, 2 * PAGE, c->vmo, 0,
                       4 * PAGE, &addr);
}
static zx_status_t act_trap_mem_split(struct ctx* c) {
    return zx_guest_set_trap(c->guest, ZX_GUEST_TRAP_MEM, 4 * PAGE, PAGE, ZX_HANDLE_INVALID, 1);
}
static zx_status_t act_trap_io(struct ctx* c) {
    return zx_guest_set_trap(c->guest, ZX_GUEST_TRAP_IO, 0x3f8, 8, ZX_HANDLE_INVALID, 2);
}
static void setup_guest_port(struct ctx* c) {
    setup_guest(c);
    FUZZ_OK(zx_port_create(0, &c->port));
}
static zx_status_t act_trap_bell(struct ctx* c) {
    return zx_guest_set_trap(c->guest, ZX_GUEST_TRAP_BELL, 0x30000, PAGE, c->port, 3);
}
static zx_status_t act_vcpu_create(struct ctx* c) { return zx_vcpu_create(c->guest, 0, 0x8000, &c->vcpu); }
static zx_status_t act_bell_fastpath(struct ctx* c) {
    return zxhv_guest_set_bell_fastpath(c->guest, 0x20000, 4, ZXHV_BELL_EXACT);
}
static zx_status_t act_vcpu_resume(struct ctx* c) {
    zx_port_packet_t p;
    return zx_vcpu_resume(c->vcpu, &p);
}

struct scenario {
    const char* name;
    enum fuzz_call call;
    void (*setup)(struct ctx*);
    zx_status_t (*act)(struct ctx*);
};

static const struct scenario kHost[] = {
    {"zx_vmo_create", CALL_vmo_create, setup_none, act_vmo_create},
    {"zx_vmo_set_size", CALL_vmo_set_size, setup_vmo, act_vmo_set_size},
    {"zx_port_create", CALL_port_create, setup_none, act_port_create},
    {"zx_port_queue", CALL_port_queue, setup_port, act_port_queue},
    {"zx_resource_create (IOPORT range)", CALL_resource_create, setup_none, act_resource_create},
    {"zx_handle_duplicate (the table grows)", CALL_handle_duplicate, setup_full_table,
     act_handle_duplicate},
    {"zx_vmar_map (host)", CALL_vmar_map, setup_vmo, act_host_map},
    {"zx_vmar_map (host, SPECIFIC_OVERWRITE splitting a mapping)", CALL_vmar_map, setup_mapped,
     act_host_overwrite},
    {"zx_vmar_unmap (host, splitting a mapping)", CALL_vmar_unmap, setup_mapped,
     act_host_unmap_split},
};

static const struct scenario kKvm[] = {
    {"zx_guest_create", CALL_guest_create, setup_none, act_guest_create},
    {"zx_vmar_map (guest)", CALL_vmar_map, setup_guest, act_guest_map},
    {"zx_vmar_map (guest, SPECIFIC_OVERWRITE splitting a mapping)", CALL_vmar_map,
     setup_guest_ram, act_guest_overwrite},
    {"zx_vmar_unmap (guest, splitting a mapping)", CALL_vmar_unmap, setup_guest_ram,
     act_guest_unmap_split},
    {"zx_guest_set_trap (MEM, splitting RAM)", CALL_guest_set_trap, setup_guest_ram,
     act_trap_mem_split},
    {"zx_guest_set_trap (IO)", CALL_guest_set_trap, setup_guest, act_trap_io},
    {"zx_guest_set_trap (BELL)", CALL_guest_set_trap, setup_guest_port, act_trap_bell},
    {"zx_vcpu_create", CALL_vcpu_create, setup_guest_ram, act_vcpu_create},
    {"zxhv_guest_set_bell_fastpath", CALL_zxhv_guest_set_bell_fastpath, setup_guest_bell,
     act_bell_fastpath},
    {"zx_vcpu_resume (a doorbell, then an IO packet)", CALL_vcpu_resume, setup_running_guest,
     act_vcpu_resume},
};

static void run(const struct scenario* s) {
    static const int kErrs[] = {ENOMEM, EMFILE};
    unsigned long injected = 0;
    uint64_t statuses[2] = {0, 0};  // bit -status
    for (size_t e = 0; e < 2; e++) {
        for (unsigned long nth = 1;; nth++) {
            struct census start = census();
            struct ctx c;
            memset(&c, 0, sizeof(c));
            s->setup(&c);
            struct census before = census();
            fault_arm(FAULT_ALL, nth, kErrs[e]);
            zx_status_t st = s->act(&c);
            unsigned long seen = fault_disarm();
            fuzz_check(s->call, st);
            if (seen >= nth) {
                injected++;
                statuses[(-st) / 64] |= 1ull << ((-st) % 64);
            }
            if (st != ZX_OK && s->act != act_resource_create &&
                s->act != act_host_unmap_split && s->act != act_guest_unmap_split &&
                s->act != act_host_overwrite && s->act != act_guest_overwrite &&
                s->act != act_trap_mem_split && s->act != act_vcpu_resume) {
                // Nothing the call would have made is left (the unmap/overwrite/split calls
                // change existing mappings by design, and are checked after teardown).
                expect_census(before, s->name, nth, kErrs[e], "right after the failed call");
            }
            if (s->act == act_resource_create) {
                if (st != ZX_OK) {
                    struct census b = before;
                    b.handles++;  // the root resource handle the act made for itself
                    expect_census(b, s->name, nth, kErrs[e], "right after the failed call");
                }
            }
            close_all(&c);
            expect_census(start, s->name, nth, kErrs[e], "after closing everything");
            if (seen < nth) break;
        }
    }
    __lsan_do_recoverable_leak_check();
    printf("| %s | %lu |", s->name, injected);
    for (int i = 0; i < 128; i++) {
        if ((statuses[i / 64] >> (i % 64)) & 1) printf(" `%s`", zx_status_get_string(-i));
    }
    printf(" |\n");
    fflush(stdout);
}

int main(int argc, char** argv) {
    bool kvm = argc > 1 && strcmp(argv[1], "kvm") == 0;
    // What the library makes once per process is made now, before any failure is injected.
    zx_handle_t root;
    FUZZ_OK(zxhv_root_resource_get(&root));
    FUZZ_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "fault", 5, &hypervisor));
    FUZZ_OK(zx_handle_close(root));
    (void)zx_vmar_root_self();
    if (kvm) {
        struct ctx c;
        memset(&c, 0, sizeof(c));
        setup_running_guest(&c);  // opens /dev/kvm, sets up the kick signal; skips without KVM
        close_all(&c);
    }
    const struct scenario* list = kvm ? kKvm : kHost;
    size_t n = kvm ? sizeof(kKvm) / sizeof(kKvm[0]) : sizeof(kHost) / sizeof(kHost[0]);
    printf("| call | failures injected | statuses seen |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++) run(&list[i]);
    FUZZ_OK(zx_handle_close(hypervisor));
    printf("fault injection (%s): %zu scenarios passed\n", kvm ? "kvm" : "host", n);
    return 0;
}
