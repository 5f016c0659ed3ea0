// zxhv tests: helpers for the tests that need KVM (guest_create, guest_vmar, guest_leak). Each
// states its result with Criterion assertions, so a test reads as a few lines of intent
// (../shared/STYLE.md, "KVM selftests give tests helpers"). Self-contained: it does not need
// tests/helpers.h, and its names do not clash with that file's.
//
// Without a usable KVM every test that needs one skips, and says why: guest_or_skip() and
// skip_without_kvm() call zx_guest_create with a HYPERVISOR resource and turn
// ZX_ERR_NOT_SUPPORTED into cr_skip_test("no usable /dev/kvm: ...").
#ifndef ZXHV_TESTS_KVM_HELPERS_H_
#define ZXHV_TESTS_KVM_HELPERS_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zircon/errors.h>
#include <zircon/process.h>
#include <zircon/rights.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/resource.h>
#include <zircon/types.h>
#include <zxhv.h>

// The library's count of live handles (object/handle.h: "for tests and diagnostics").
#include "object/handle.h"

#define KVM_PAGE 4096ull

// The guest physical address space of x86-64 (spec §1.1: base 0, size 1 << 48).
#define GUEST_ASPACE_SIZE (1ull << 48)

// Rights of the two handles zx_guest_create returns (spec §1.1).
#define GUEST_RIGHTS 0x2000bu  // TRANSFER | DUPLICATE | WRITE | MANAGE_PROCESS
#define GUEST_VMAR_RIGHTS 0x801fu  // TRANSFER | DUPLICATE | INSPECT | READ | WRITE | EXECUTE

// The Zircon fixture's guest mapping flags (spec §4.2 step 5): PERM_READ | PERM_WRITE |
// PERM_EXECUTE | SPECIFIC = 0x17.
#define GUEST_MAP_FLAGS (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC)

// Asserts that |expr| gives status |want|, naming both on failure.
#ifndef ASSERT_STATUS
#define ASSERT_STATUS(expr, want)                                                            \
    do {                                                                                     \
        zx_status_t got_ = (expr);                                                           \
        zx_status_t want_ = (want);                                                          \
        cr_assert_eq(got_, want_, "%s\n  got  %s (%d)\n  want %s (%d)", #expr,               \
                     zx_status_get_string(got_), got_, zx_status_get_string(want_), want_); \
    } while (0)
#endif
#ifndef ASSERT_OK
#define ASSERT_OK(expr) ASSERT_STATUS(expr, ZX_OK)
#endif

// --- resources ------------------------------------------------------------------------------

// A resource of |kind| made from the ROOT resource (base and size 0 for HYPERVISOR, ROOT and
// VMEX; a range for MMIO, IRQ and IOPORT).
static inline zx_handle_t resource_of_kind(uint32_t kind, uint64_t base, size_t size) {
    zx_handle_t root = ZX_HANDLE_INVALID;
    ASSERT_OK(zxhv_root_resource_get(&root));
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_resource_create(root, kind, base, size, "kvm-test", 8, &h));
    ASSERT_OK(zx_handle_close(root));
    return h;
}

static inline zx_handle_t hypervisor_resource(void) {
    return resource_of_kind(ZX_RSRC_KIND_HYPERVISOR, 0, 0);
}

// --- KVM or skip ----------------------------------------------------------------------------

// The device the library opens (src/arch/x86/kvm.c: ZXHV_KVM_DEVICE, else /dev/kvm).
static inline const char* kvm_device_path(void) {
    const char* path = getenv("ZXHV_KVM_DEVICE");
    return (path == NULL || path[0] == '\0') ? "/dev/kvm" : path;
}

// zx_guest_create(|resource|) into *guest and *vmar; skips the test when there is no usable KVM,
// with the reason open() gives. A ROOT or HYPERVISOR resource gives ZX_ERR_ACCESS_DENIED only if
// the device may not be opened (arch/x86/kvm.h); that skips too, but only when open() agrees.
static inline void guest_or_skip_with(zx_handle_t resource, zx_handle_t* guest, zx_handle_t* vmar) {
    *guest = ZX_HANDLE_INVALID;
    *vmar = ZX_HANDLE_INVALID;
    zx_status_t status = zx_guest_create(resource, 0, guest, vmar);
    if (status == ZX_ERR_NOT_SUPPORTED || status == ZX_ERR_ACCESS_DENIED) {
        const char* path = kvm_device_path();
        int fd = open(path, O_RDWR | O_CLOEXEC);
        int err = errno;
        if (fd >= 0) close(fd);
        bool denied = fd < 0 && (err == EACCES || err == EPERM);
        if (status == ZX_ERR_NOT_SUPPORTED || denied) {
            cr_skip_test("no usable /dev/kvm: zx_guest_create gave %s (%s: %s)",
                         zx_status_get_string(status), path,
                         fd < 0 ? strerror(err) : "opens, but is no KVM the library can drive");
        }
    }
    cr_assert_eq(status, ZX_OK, "zx_guest_create: %s (%d)", zx_status_get_string(status), status);
}

// A new guest from a fresh HYPERVISOR resource (closed again); skips without KVM.
static inline void guest_or_skip(zx_handle_t* guest, zx_handle_t* vmar) {
    zx_handle_t rsrc = hypervisor_resource();
    guest_or_skip_with(rsrc, guest, vmar);
    ASSERT_OK(zx_handle_close(rsrc));
}

// Skips the test unless a guest can be made (the probe guest is closed again; the library keeps
// the /dev/kvm descriptor open for the rest of the process).
static inline void skip_without_kvm(void) {
    zx_handle_t guest, vmar;
    guest_or_skip(&guest, &vmar);
    ASSERT_OK(zx_handle_close(vmar));
    ASSERT_OK(zx_handle_close(guest));
}

// Whether this process has the KVM device open already (it is opened once per process, so a
// test of ZXHV_KVM_DEVICE must run before anything opens it).
static inline bool kvm_device_open_in_process(void) {
    DIR* d = opendir("/proc/self/fd");
    cr_assert_not_null(d, "opendir(/proc/self/fd): %s", strerror(errno));
    bool found = false;
    struct dirent* e;
    while (!found && (e = readdir(d)) != NULL) {
        char link[300], target[256];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        found = strcmp(target, "/dev/kvm") == 0;
    }
    closedir(d);
    return found;
}

// --- handles and process resources ----------------------------------------------------------

static inline zx_info_handle_basic_t basic_info(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0xa5, sizeof(info));
    ASSERT_OK(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    return info;
}

static inline bool handle_valid(zx_handle_t h) {
    return zx_object_get_info(h, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL) == ZX_OK;
}

static inline zx_handle_t dup_rights(zx_handle_t h, zx_rights_t rights) {
    zx_handle_t d = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_handle_duplicate(h, rights, &d));
    return d;
}

static inline zx_handle_t new_vmo(uint64_t size) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_vmo_create(size, 0, &h));
    return h;
}

// The number of open file descriptors of this process.
static inline int fd_count(void) {
    DIR* d = opendir("/proc/self/fd");
    cr_assert_not_null(d, "opendir(/proc/self/fd): %s", strerror(errno));
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n - 1;  // the directory's own descriptor
}

// What a failed call must leave unchanged: descriptors (a VM or a VMO holds one) and handles.
struct process_census {
    int fds;
    size_t handles;
};

static inline struct process_census census(void) {
    return (struct process_census){.fds = fd_count(), .handles = handle_table_count()};
}

static inline void assert_census_unchanged(struct process_census before, const char* what) {
    struct process_census now = census();
    cr_assert_eq(now.fds, before.fds, "%s: open descriptors went from %d to %d", what,
                 before.fds, now.fds);
    cr_assert_eq(now.handles, before.handles, "%s: live handles went from %zu to %zu", what,
                 before.handles, now.handles);
}

// --- caller memory --------------------------------------------------------------------------

// |pages| pages of fresh anonymous memory with |prot|; never freed (the test process ends).
static inline void* pages_with(size_t pages, int prot) {
    void* p = mmap(NULL, pages * KVM_PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
    return p;
}

// Writes page tables that identity-map guest physical [0, 1 GiB) with 2 MiB pages, rooted at GPA 0
// (the CR3 a first VCPU starts with, spec §3.4): PML4 at 0, PDPT at 0x1000, PD at 0x2000.
static inline void write_identity_map(zx_handle_t vmo) {
    static uint64_t tables[3][512];
    memset(tables, 0, sizeof(tables));
    tables[0][0] = 0x1000 | 3;
    tables[1][0] = 0x2000 | 3;
    for (uint64_t i = 0; i < 512; i++) tables[2][i] = (i << 21) | 0x83;
    ASSERT_OK(zx_vmo_write(vmo, tables, 0, sizeof(tables)));
}

#endif  // ZXHV_TESTS_KVM_HELPERS_H_
