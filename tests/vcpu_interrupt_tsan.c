// ThreadSanitizer stress of zx_vcpu_interrupt and zx_vcpu_kick: interrupts from another thread to
// a halted and to a running VCPU, each handled exactly once, then a kick ends the resume. A plain
// program, since Criterion does not start under TSan; it ends with a "N passed, N failed, N
// skipped" line and exits non-zero on failure (tests/CMakeLists.txt skips on exit status 77).
#include <stdio.h>
#include <stdlib.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            exit(1);                                                      \
        }                                                                 \
    } while (0)
#define CHECK_OK(expr)                                                                          \
    do {                                                                                        \
        zx_status_t s_ = (expr);                                                                \
        CHECK(s_ == ZX_OK, "%s gave %s", #expr, zx_status_get_string(s_));                      \
    } while (0)

static void guest_or_skip(zx_handle_t* guest, zx_handle_t* vmar) {
    zx_handle_t root, hv;
    CHECK_OK(zxhv_root_resource_get(&root));
    CHECK_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "tsan", 4, &hv));
    zx_status_t status = zx_guest_create(hv, 0, guest, vmar);
    if (status == ZX_ERR_NOT_SUPPORTED) {
        printf("SKIP: no usable /dev/kvm (zx_guest_create gave ZX_ERR_NOT_SUPPORTED)\n");
        printf("tsan: 0 passed, 0 failed, 2 skipped\n");
        exit(77);
    }
    CHECK_OK(status);
    zx_handle_close(hv);
    zx_handle_close(root);
}
#define GUEST_OR_SKIP(guest, vmar) guest_or_skip(guest, vmar)
#include "interrupt_guest.h"

static void run(uint64_t mode, const char* name) {
    struct counting_guest g;
    memset(&g, 0, sizeof(g));
    g.mode = mode;
    build_guest(&g);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, vcpu_thread, &g) == 0, "pthread_create");
    while (atomic_load(&g.phase) == 0) sched_yield();
    CHECK_OK(g.resume_status);
    unsigned count = interrupt_count();
    CHECK(raise_and_count(&g, count) == count, "lost interrupts");
    CHECK_OK(zx_vcpu_kick(g.vcpu));
    CHECK(pthread_join(thread, NULL) == 0, "join");
    CHECK(g.resume_status == ZX_ERR_CANCELED, "resume gave %s", zx_status_get_string(g.resume_status));
    CHECK_OK(zx_handle_close(g.vcpu));
    CHECK_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)g.host, GUEST_RAM));
    CHECK_OK(zx_handle_close(g.vmo));
    CHECK_OK(zx_handle_close(g.vmar));
    CHECK_OK(zx_handle_close(g.guest));
    printf("PASS: %s (%u interrupts)\n", name, count);
}

int main(void) {
    run(0, "every_interrupt_reaches_a_halted_vcpu");
    run(1, "every_interrupt_reaches_a_running_vcpu");
    printf("tsan: 2 passed, 0 failed, 0 skipped\n");
    return 0;
}
