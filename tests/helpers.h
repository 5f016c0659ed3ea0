// zxhv tests: shared helpers. Each one states its result with Criterion assertions, so a test
// reads as a few lines of intent (../shared/STYLE.md, "KVM selftests give tests helpers").
#ifndef ZXHV_TESTS_HELPERS_H_
#define ZXHV_TESTS_HELPERS_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zircon/errors.h>
#include <zircon/process.h>
#include <zircon/rights.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zircon/types.h>
#include <zxhv.h>

// The library's own count of live handles (object/handle.h, "for tests and diagnostics"): the
// only way to see that a failed call left no handle behind for objects that hold no fd.
#include "object/handle.h"

#define PAGE 4096u

// The host root VMAR (spec §1.1 and notes §5.3: [16 MiB, 2^47 - 4 KiB)).
#define ROOT_VMAR_BASE 0x1000000ull
#define ROOT_VMAR_END 0x7ffffffff000ull
#define ROOT_VMAR_SIZE (ROOT_VMAR_END - ROOT_VMAR_BASE)
#define ROOT_VMAR_RIGHTS 0x801fu

// A pointer no caller owns: it lies in the never-mapped first page.
#define BAD_PTR ((void*)8)

// Asserts that |expr| gives status |want|, naming both on failure.
#define ASSERT_STATUS(expr, want)                                                            \
    do {                                                                                     \
        zx_status_t got_ = (expr);                                                           \
        zx_status_t want_ = (want);                                                          \
        cr_assert_eq(got_, want_, "%s\n  got  %s (%d)\n  want %s (%d)", #expr,               \
                     zx_status_get_string(got_), got_, zx_status_get_string(want_), want_); \
    } while (0)

#define ASSERT_OK(expr) ASSERT_STATUS(expr, ZX_OK)

// A new handle to the ROOT resource (rights 0x800b).
static inline zx_handle_t root_resource(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zxhv_root_resource_get(&h));
    return h;
}

static inline zx_handle_t make_vmo_opts(uint64_t size, uint32_t options) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_vmo_create(size, options, &h));
    return h;
}

// A resizable VMO of |size| bytes.
static inline zx_handle_t make_vmo(uint64_t size) { return make_vmo_opts(size, 0); }

static inline zx_handle_t make_port(void) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_port_create(0, &h));
    return h;
}

// A resource of |kind| (HYPERVISOR, ROOT, VMEX: base and size 0) made from the ROOT resource.
static inline zx_handle_t make_resource(uint32_t options, uint64_t base, size_t size) {
    zx_handle_t root = root_resource();
    zx_handle_t h = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_resource_create(root, options, base, size, "test", 4, &h));
    ASSERT_OK(zx_handle_close(root));
    return h;
}

// A duplicate of |h| with exactly |rights|.
static inline zx_handle_t dup_with(zx_handle_t h, zx_rights_t rights) {
    zx_handle_t d = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_handle_duplicate(h, rights, &d));
    return d;
}

static inline zx_info_handle_basic_t handle_basic(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0xa5, sizeof(info));
    ASSERT_OK(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    return info;
}

static inline zx_rights_t handle_rights(zx_handle_t h) { return handle_basic(h).rights; }
static inline zx_koid_t handle_koid(zx_handle_t h) { return handle_basic(h).koid; }

static inline void assert_handle_valid(zx_handle_t h) {
    cr_assert_eq(zx_object_get_info(h, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL), ZX_OK,
                 "handle %#x should be valid", h);
}

// A closed (or never valid) handle value names nothing: every use gives BAD_HANDLE.
static inline void assert_handle_closed(zx_handle_t h) {
    cr_assert_eq(zx_object_get_info(h, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                 ZX_ERR_BAD_HANDLE, "handle %#x should be closed", h);
    zx_info_handle_basic_t info;
    cr_assert_eq(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL),
                 ZX_ERR_BAD_HANDLE, "handle %#x should be closed", h);
}

// Every handle value has bits 0 and 1 set and bit 31 clear (ZX_HANDLE_FIXED_BITS_MASK; notes §0.2).
static inline void assert_handle_value_shape(zx_handle_t h) {
    cr_assert_eq(h & ZX_HANDLE_FIXED_BITS_MASK, ZX_HANDLE_FIXED_BITS_MASK,
                 "handle %#x lacks the fixed bits", h);
    cr_assert_eq(h & 0x80000000u, 0u, "handle %#x has bit 31 set", h);
}

static inline size_t live_handles(void) { return handle_table_count(); }

// The number of open file descriptors of this process. A VMO holds one (its memfd) for as long
// as any handle or mapping refers to it, so this shows whether a VMO was leaked or destroyed.
static inline int open_fd_count(void) {
    DIR* d = opendir("/proc/self/fd");
    cr_assert_not_null(d, "opendir(/proc/self/fd): %s", strerror(errno));
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n - 1;  // the directory's own fd
}

// |pages| pages of fresh anonymous memory with |prot|; never freed (the test process ends).
static inline void* test_pages(size_t pages, int prot) {
    void* p = mmap(NULL, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
    return p;
}

// A page that can be read (all zero) but not written.
static inline void* readonly_page(void) { return test_pages(1, PROT_READ); }

// A page that can be neither read nor written.
static inline void* noaccess_page(void) { return test_pages(1, PROT_NONE); }

// A buffer whose first |readable| bytes can be read and written and whose next byte cannot be
// touched at all (it starts an inaccessible page).
static inline char* guarded_buffer(size_t readable) {
    size_t pages = (readable + PAGE - 1) / PAGE + 1;
    char* p = test_pages(pages, PROT_READ | PROT_WRITE);
    char* guard = p + (pages - 1) * PAGE;
    cr_assert_eq(mprotect(guard, PAGE, PROT_NONE), 0, "mprotect: %s", strerror(errno));
    return guard - readable;
}

// An address range of |len| bytes that nothing is mapped at right now (found by mapping and
// unmapping it), returned as an offset into the root VMAR.
static inline uint64_t free_vmar_offset(size_t len) {
    void* p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
    cr_assert_eq(munmap(p, len), 0);
    uint64_t addr = (uint64_t)(uintptr_t)p;
    cr_assert(addr >= ROOT_VMAR_BASE && addr + len <= ROOT_VMAR_END,
              "mmap gave %#lx, outside the root VMAR", (unsigned long)addr);
    return addr - ROOT_VMAR_BASE;
}

// Whether any page of [addr, addr + len) is mapped (mincore fails with ENOMEM on unmapped pages).
static inline bool page_is_mapped(uintptr_t addr) {
    unsigned char vec;
    return mincore((void*)addr, PAGE, &vec) == 0;
}

// Whether the byte at |addr| can be read / written, asked of the kernel (a pipe copy reports
// EFAULT instead of faulting), so a test survives a wrong answer.
static inline bool can_read(const void* addr) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    bool ok = write(fds[1], addr, 1) == 1;
    close(fds[0]);
    close(fds[1]);
    return ok;
}

static inline bool can_write(void* addr) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    // Copy the byte there into the pipe and back onto itself, so the content is unchanged.
    bool ok = false;
    if (write(fds[1], addr, 1) == 1) ok = read(fds[0], addr, 1) == 1;
    close(fds[0]);
    close(fds[1]);
    return ok;
}

static inline void ignore_signal(int sig) { (void)sig; }

// A thread that interrupts |target| with SIGUSR1 (whose handler does nothing) |count| times,
// 5 ms apart: a blocking call that is not cut short by signals must outlast it.
struct pester {
    pthread_t target;
    int count;
    pthread_t thread;
};

static inline void* pester_main(void* arg) {
    struct pester* p = arg;
    for (int i = 0; i < p->count; i++) {
        zx_nanosleep(zx_deadline_after(ZX_MSEC(5)));
        pthread_kill(p->target, SIGUSR1);
    }
    return NULL;
}

static inline void pester_start(struct pester* p, pthread_t target, int count) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = ignore_signal;
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    p->target = target;
    p->count = count;
    cr_assert_eq(pthread_create(&p->thread, NULL, pester_main, p), 0);
}

static inline void pester_join(struct pester* p) { cr_assert_eq(pthread_join(p->thread, NULL), 0); }

#endif  // ZXHV_TESTS_HELPERS_H_
