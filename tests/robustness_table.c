// The table of docs/robustness.md: every call against each bad input (invalid, never-issued,
// closed and stale handles; a handle of the wrong type; a handle without each right the call
// needs; NULL, unmapped and read-only pointers; out-of-range values), with the status zxhv
// returns. The rows are made by running the calls, so the page stays true:
//   robustness_table host|kvm              prints the rows (Markdown)
//   robustness_table host|kvm --check FILE fails unless FILE holds exactly these rows between
//                                          its "<!-- robustness-table:host -->" (or :kvm) markers
// `kvm` exits with status 77 without KVM. fuzz/update-robustness-table.sh rewrites the page.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zircon/process.h>
#include <zircon/rights.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#define PAGE 4096u

static char* out;  // the rows made so far
static size_t out_len, out_cap;

static void row(const char* call, const char* input, zx_status_t status) {
    char line[512];
    int n = snprintf(line, sizeof(line), "| `%s` | %s | `%s` |\n", call, input,
                     zx_status_get_string(status));
    if (out_len + (size_t)n + 1 > out_cap) {
        out_cap = (out_cap + (size_t)n + 1) * 2;
        out = realloc(out, out_cap);
    }
    memcpy(out + out_len, line, (size_t)n + 1);
    out_len += (size_t)n;
}

#define ROW(call, input, expr) row(call, input, (expr))
#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        zx_status_t s_ = (expr);                                                         \
        if (s_ != ZX_OK) {                                                               \
            fprintf(stderr, "%s: %s\n", #expr, zx_status_get_string(s_));                \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static void* unmapped;  // a PROT_NONE page
static void* readonly;  // a PROT_READ page

static zx_handle_t dup_without(zx_handle_t h, zx_rights_t right) {
    zx_info_handle_basic_t info;
    CHECK_OK(zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    zx_handle_t d;
    CHECK_OK(zx_handle_duplicate(h, info.rights & ~right, &d));
    return d;
}

// Handle values that name nothing: never issued, closed, and stale (the slot reused since).
static zx_handle_t never_issued = 0x7ffffff3u;
static zx_handle_t closed_value, stale_value;

static void make_dead_handles(void) {
    zx_handle_t port;
    CHECK_OK(zx_port_create(0, &port));
    CHECK_OK(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &closed_value));
    CHECK_OK(zx_handle_close(closed_value));
    zx_handle_t victim;
    CHECK_OK(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &victim));
    CHECK_OK(zx_handle_close(victim));
    stale_value = victim;
    // Freed slots are reused in FIFO order: churn until the victim's slot holds a new handle.
    static zx_handle_t keep;
    for (int i = 0; i < 100000; i++) {
        zx_handle_t d;
        CHECK_OK(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &d));
        if (((d >> 2) & 0x1ffffu) == ((victim >> 2) & 0x1ffffu)) {
            keep = d;  // stays open: the stale value's slot is live with another generation
            break;
        }
        CHECK_OK(zx_handle_close(d));
    }
    if (keep == ZX_HANDLE_INVALID) {
        fprintf(stderr, "the stale handle's slot was never reused\n");
        exit(1);
    }
}

// The handle columns every call that takes a handle gets: four dead values and the wrong type.
static void dead_handles(const char* call, zx_status_t (*fn)(zx_handle_t, void*), void* ctx,
                         zx_handle_t wrong, const char* wrong_name) {
    ROW(call, "handle `ZX_HANDLE_INVALID`", fn(ZX_HANDLE_INVALID, ctx));
    ROW(call, "handle never issued", fn(never_issued, ctx));
    ROW(call, "handle closed", fn(closed_value, ctx));
    ROW(call, "handle stale (its slot reused)", fn(stale_value, ctx));
    if (wrong != ZX_HANDLE_INVALID) {
        char input[128];
        snprintf(input, sizeof(input), "handle of the wrong type (%s)", wrong_name);
        ROW(call, input, fn(wrong, ctx));
    }
}

static void missing_right(const char* call, zx_status_t (*fn)(zx_handle_t, void*), void* ctx,
                          zx_handle_t good, zx_rights_t right, const char* right_name) {
    zx_handle_t d = dup_without(good, right);
    char input[128];
    snprintf(input, sizeof(input), "handle without `%s`", right_name);
    ROW(call, input, fn(d, ctx));
    CHECK_OK(zx_handle_close(d));
}

// ---- Host objects

static zx_handle_t vmo, port, root_rsrc, root_vmar;

static zx_status_t vmo_read_h(zx_handle_t h, void* c) {
    char buf[16];
    (void)c;
    return zx_vmo_read(h, buf, 0, sizeof(buf));
}
static zx_status_t vmo_write_h(zx_handle_t h, void* c) {
    char buf[16] = {0};
    (void)c;
    return zx_vmo_write(h, buf, 0, sizeof(buf));
}
static zx_status_t vmo_get_size_h(zx_handle_t h, void* c) {
    uint64_t size;
    (void)c;
    return zx_vmo_get_size(h, &size);
}
static zx_status_t vmo_set_size_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_vmo_set_size(h, 2 * PAGE);
}
static zx_status_t vmar_map_h(zx_handle_t h, void* c) {
    zx_vaddr_t addr;
    zx_status_t st = zx_vmar_map(h, ZX_VM_PERM_READ, 0, *(zx_handle_t*)c, 0, PAGE, &addr);
    if (st == ZX_OK) zx_vmar_unmap(h, addr, PAGE);
    return st;
}
static zx_status_t vmar_map_vmo_h(zx_handle_t h, void* c) {
    zx_vaddr_t addr;
    zx_handle_t vmar = *(zx_handle_t*)c;
    zx_status_t st = zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, h, 0, PAGE, &addr);
    if (st == ZX_OK) zx_vmar_unmap(vmar, addr, PAGE);
    return st;
}
static zx_status_t vmar_unmap_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_vmar_unmap(h, 0x1000000, PAGE);
}
static zx_status_t port_queue_h(zx_handle_t h, void* c) {
    zx_port_packet_t p;
    (void)c;
    memset(&p, 0, sizeof(p));
    zx_status_t st = zx_port_queue(h, &p);
    if (st == ZX_OK) zx_port_wait(h, 0, &p);
    return st;
}
static zx_status_t port_wait_h(zx_handle_t h, void* c) {
    zx_port_packet_t p;
    (void)c;
    return zx_port_wait(h, 0, &p);
}
static zx_status_t resource_create_h(zx_handle_t h, void* c) {
    zx_handle_t r;
    (void)c;
    zx_status_t st = zx_resource_create(h, ZX_RSRC_KIND_VMEX, 0, 0, "t", 1, &r);
    if (st == ZX_OK) zx_handle_close(r);
    return st;
}
static zx_status_t dup_h(zx_handle_t h, void* c) {
    zx_handle_t d;
    (void)c;
    zx_status_t st = zx_handle_duplicate(h, ZX_RIGHT_SAME_RIGHTS, &d);
    if (st == ZX_OK) zx_handle_close(d);
    return st;
}
static zx_status_t close_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_handle_close(h);
}
static zx_status_t info_h(zx_handle_t h, void* c) {
    zx_info_handle_basic_t info;
    (void)c;
    return zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
}
static zx_status_t guest_create_h(zx_handle_t h, void* c) {
    zx_handle_t g, v;
    (void)c;
    zx_status_t st = zx_guest_create(h, 0, &g, &v);
    if (st == ZX_OK) zx_handle_close(g), zx_handle_close(v);
    return st;
}

static void host_rows(void) {
    CHECK_OK(zx_vmo_create(PAGE, 0, &vmo));
    CHECK_OK(zx_port_create(0, &port));
    CHECK_OK(zxhv_root_resource_get(&root_rsrc));
    root_vmar = zx_vmar_root_self();
    zx_handle_t fixed_vmo;
    CHECK_OK(zx_vmo_create(PAGE, ZX_VMO_NON_RESIZABLE, &fixed_vmo));
    zx_handle_t h;

    // Handles.
    ROW("zx_handle_close", "handle `ZX_HANDLE_INVALID`", zx_handle_close(ZX_HANDLE_INVALID));
    ROW("zx_handle_close", "handle never issued", close_h(never_issued, NULL));
    ROW("zx_handle_close", "handle closed", close_h(closed_value, NULL));
    ROW("zx_handle_close", "handle stale (its slot reused)", close_h(stale_value, NULL));
    dead_handles("zx_handle_duplicate", dup_h, NULL, ZX_HANDLE_INVALID, "");
    missing_right("zx_handle_duplicate", dup_h, NULL, port, ZX_RIGHT_DUPLICATE, "ZX_RIGHT_DUPLICATE");
    ROW("zx_handle_duplicate", "rights not a subset", zx_handle_duplicate(port, ZX_RIGHT_EXECUTE, &h));
    ROW("zx_handle_duplicate", "`out` NULL", zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, NULL));
    ROW("zx_handle_duplicate", "`out` unmapped", zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, unmapped));
    ROW("zx_handle_duplicate", "`out` read-only", zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, readonly));
    ROW("zx_handle_replace", "handle `ZX_HANDLE_INVALID`", zx_handle_replace(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, &h));
    ROW("zx_handle_replace", "handle closed", zx_handle_replace(closed_value, ZX_RIGHT_SAME_RIGHTS, &h));
    zx_handle_t d;
    CHECK_OK(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &d));
    ROW("zx_handle_replace", "rights not a subset (the handle is consumed)", zx_handle_replace(d, ZX_RIGHT_EXECUTE, &h));
    CHECK_OK(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &d));
    ROW("zx_handle_replace", "`out` NULL (the handle is consumed)", zx_handle_replace(d, ZX_RIGHT_SAME_RIGHTS, NULL));

    // Objects.
    dead_handles("zx_object_get_info", info_h, NULL, ZX_HANDLE_INVALID, "");
    ROW("zx_object_get_info", "topic 0 (`ZX_INFO_NONE`)", zx_object_get_info(port, 0, NULL, 0, NULL, NULL));
    ROW("zx_object_get_info", "topic 3 (not implemented)", zx_object_get_info(port, 3, NULL, 0, NULL, NULL));
    zx_info_handle_basic_t info;
    ROW("zx_object_get_info", "BASIC, `buffer` NULL", zx_object_get_info(port, 2, NULL, sizeof(info), NULL, NULL));
    ROW("zx_object_get_info", "BASIC, `buffer` unmapped", zx_object_get_info(port, 2, unmapped, sizeof(info), NULL, NULL));
    ROW("zx_object_get_info", "BASIC, `buffer` read-only", zx_object_get_info(port, 2, readonly, sizeof(info), NULL, NULL));
    ROW("zx_object_get_info", "BASIC, `buffer_size` 31", zx_object_get_info(port, 2, &info, 31, NULL, NULL));
    ROW("zx_object_get_info", "BASIC, `actual` unmapped", zx_object_get_info(port, 2, &info, sizeof(info), unmapped, NULL));
    ROW("zx_object_get_info", "BASIC, `avail` read-only", zx_object_get_info(port, 2, &info, sizeof(info), NULL, readonly));

    // Resources.
    dead_handles("zx_resource_create", resource_create_h, NULL, port, "a port");
    missing_right("zx_resource_create", resource_create_h, NULL, root_rsrc, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    zx_handle_t hv;
    CHECK_OK(zx_resource_create(root_rsrc, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "t", 1, &hv));
    ROW("zx_resource_create", "parent a HYPERVISOR resource", resource_create_h(hv, NULL));
    ROW("zx_resource_create", "kind 6 (`ZX_RSRC_KIND_COUNT`)", zx_resource_create(root_rsrc, 6, 0, 0, "t", 1, &h));
    ROW("zx_resource_create", "an unknown flag", zx_resource_create(root_rsrc, ZX_RSRC_KIND_VMEX | 0x20000, 0, 0, "t", 1, &h));
    ROW("zx_resource_create", "`name` NULL, `name_size` 4", zx_resource_create(root_rsrc, ZX_RSRC_KIND_VMEX, 0, 0, NULL, 4, &h));
    ROW("zx_resource_create", "`name` unmapped", zx_resource_create(root_rsrc, ZX_RSRC_KIND_VMEX, 0, 0, unmapped, 4, &h));
    ROW("zx_resource_create", "HYPERVISOR with `size` 1", zx_resource_create(root_rsrc, ZX_RSRC_KIND_HYPERVISOR, 0, 1, "t", 1, &h));
    ROW("zx_resource_create", "IOPORT with `size` 0", zx_resource_create(root_rsrc, ZX_RSRC_KIND_IOPORT, 0x60, 0, "t", 1, &h));
    ROW("zx_resource_create", "IOPORT `base + size` overflows", zx_resource_create(root_rsrc, ZX_RSRC_KIND_IOPORT, UINT64_MAX, 2, "t", 1, &h));
    ROW("zx_resource_create", "IOPORT beyond 0xFFFF", zx_resource_create(root_rsrc, ZX_RSRC_KIND_IOPORT, 0xffff, 2, "t", 1, &h));
    ROW("zx_resource_create", "IRQ below 32", zx_resource_create(root_rsrc, ZX_RSRC_KIND_IRQ, 0, 1, "t", 1, &h));
    ROW("zx_resource_create", "`resource_out` NULL", zx_resource_create(root_rsrc, ZX_RSRC_KIND_VMEX, 0, 0, "t", 1, NULL));
    ROW("zx_resource_create", "`resource_out` read-only", zx_resource_create(root_rsrc, ZX_RSRC_KIND_VMEX, 0, 0, "t", 1, readonly));
    ROW("zxhv_root_resource_get", "`out` NULL", zxhv_root_resource_get(NULL));
    ROW("zxhv_root_resource_get", "`out` unmapped", zxhv_root_resource_get(unmapped));
    ROW("zxhv_root_resource_get", "`out` read-only", zxhv_root_resource_get(readonly));

    // VMOs.
    ROW("zx_vmo_create", "`options` 2", zx_vmo_create(PAGE, 2, &h));
    ROW("zx_vmo_create", "`size` 2^63", zx_vmo_create(1ull << 63, 0, &h));
    ROW("zx_vmo_create", "`size` UINT64_MAX", zx_vmo_create(UINT64_MAX, 0, &h));
    ROW("zx_vmo_create", "`out` NULL", zx_vmo_create(PAGE, 0, NULL));
    ROW("zx_vmo_create", "`out` unmapped", zx_vmo_create(PAGE, 0, unmapped));
    ROW("zx_vmo_create", "`out` read-only", zx_vmo_create(PAGE, 0, readonly));
    dead_handles("zx_vmo_read", vmo_read_h, NULL, port, "a port");
    missing_right("zx_vmo_read", vmo_read_h, NULL, vmo, ZX_RIGHT_READ, "ZX_RIGHT_READ");
    char buf[16];
    ROW("zx_vmo_read", "`buffer` NULL", zx_vmo_read(vmo, NULL, 0, 16));
    ROW("zx_vmo_read", "`buffer` unmapped", zx_vmo_read(vmo, unmapped, 0, 16));
    ROW("zx_vmo_read", "`buffer` read-only", zx_vmo_read(vmo, readonly, 0, 16));
    ROW("zx_vmo_read", "`offset` past the end", zx_vmo_read(vmo, buf, PAGE, 16));
    ROW("zx_vmo_read", "`offset + buffer_size` overflows", zx_vmo_read(vmo, buf, UINT64_MAX - 4, 16));
    ROW("zx_vmo_read", "`offset` past the end, `buffer` unmapped", zx_vmo_read(vmo, unmapped, PAGE, 16));
    dead_handles("zx_vmo_write", vmo_write_h, NULL, port, "a port");
    missing_right("zx_vmo_write", vmo_write_h, NULL, vmo, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    ROW("zx_vmo_write", "`buffer` NULL", zx_vmo_write(vmo, NULL, 0, 16));
    ROW("zx_vmo_write", "`buffer` unmapped", zx_vmo_write(vmo, unmapped, 0, 16));
    ROW("zx_vmo_write", "`offset` past the end", zx_vmo_write(vmo, buf, PAGE, 16));
    dead_handles("zx_vmo_get_size", vmo_get_size_h, NULL, port, "a port");
    ROW("zx_vmo_get_size", "`size` NULL", zx_vmo_get_size(vmo, NULL));
    ROW("zx_vmo_get_size", "`size` unmapped", zx_vmo_get_size(vmo, unmapped));
    ROW("zx_vmo_get_size", "`size` read-only", zx_vmo_get_size(vmo, readonly));
    dead_handles("zx_vmo_set_size", vmo_set_size_h, NULL, port, "a port");
    missing_right("zx_vmo_set_size", vmo_set_size_h, NULL, vmo, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    ROW("zx_vmo_set_size", "a non-resizable VMO", zx_vmo_set_size(fixed_vmo, 2 * PAGE));
    ROW("zx_vmo_set_size", "`size` UINT64_MAX", zx_vmo_set_size(vmo, UINT64_MAX));

    // VMARs (the host root VMAR).
    dead_handles("zx_vmar_map", vmar_map_h, &vmo, port, "a port");
    dead_handles("zx_vmar_map (the `vmo` handle)", vmar_map_vmo_h, &root_vmar, port, "a port");
    missing_right("zx_vmar_map (the `vmo` handle)", vmar_map_vmo_h, &root_vmar, vmo, ZX_RIGHT_MAP, "ZX_RIGHT_MAP");
    missing_right("zx_vmar_map (the `vmo` handle)", vmar_map_vmo_h, &root_vmar, vmo, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    missing_right("zx_vmar_map", vmar_map_h, &vmo, root_vmar, ZX_RIGHT_READ, "ZX_RIGHT_READ");
    zx_vaddr_t addr;
    ROW("zx_vmar_map", "PERM_WRITE without PERM_READ", zx_vmar_map(root_vmar, ZX_VM_PERM_WRITE, 0, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_map", "an unknown option bit", zx_vmar_map(root_vmar, ZX_VM_PERM_READ | (1u << 12), 0, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_map", "REQUIRE_NON_RESIZABLE, resizable VMO", zx_vmar_map(root_vmar, ZX_VM_PERM_READ | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_map", "`vmo_offset` unaligned", zx_vmar_map(root_vmar, ZX_VM_PERM_READ, 0, vmo, 1, PAGE, &addr));
    ROW("zx_vmar_map", "`len` 0", zx_vmar_map(root_vmar, ZX_VM_PERM_READ, 0, vmo, 0, 0, &addr));
    ROW("zx_vmar_map", "`vmar_offset` without SPECIFIC", zx_vmar_map(root_vmar, ZX_VM_PERM_READ, PAGE, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_map", "SPECIFIC beyond the VMAR", zx_vmar_map(root_vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0x7ffffefff000ull, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_map", "`mapped_addr` NULL", zx_vmar_map(root_vmar, ZX_VM_PERM_READ, 0, vmo, 0, PAGE, NULL));
    ROW("zx_vmar_map", "`mapped_addr` read-only", zx_vmar_map(root_vmar, ZX_VM_PERM_READ, 0, vmo, 0, PAGE, readonly));
    dead_handles("zx_vmar_unmap", vmar_unmap_h, NULL, vmo, "a VMO");
    ROW("zx_vmar_unmap", "`addr` unaligned", zx_vmar_unmap(root_vmar, 0x1000001, PAGE));
    ROW("zx_vmar_unmap", "`len` 0", zx_vmar_unmap(root_vmar, 0x1000000, 0));
    ROW("zx_vmar_unmap", "below the VMAR", zx_vmar_unmap(root_vmar, 0x0, PAGE));
    ROW("zx_vmar_unmap", "`addr + len` past the VMAR", zx_vmar_unmap(root_vmar, 0x7ffffffff000ull, 2 * PAGE));

    // Ports.
    ROW("zx_port_create", "`options` 2", zx_port_create(2, &h));
    ROW("zx_port_create", "`out` NULL", zx_port_create(0, NULL));
    ROW("zx_port_create", "`out` read-only", zx_port_create(0, readonly));
    dead_handles("zx_port_queue", port_queue_h, NULL, vmo, "a VMO");
    missing_right("zx_port_queue", port_queue_h, NULL, port, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    ROW("zx_port_queue", "`packet` NULL", zx_port_queue(port, NULL));
    ROW("zx_port_queue", "`packet` unmapped", zx_port_queue(port, unmapped));
    dead_handles("zx_port_wait", port_wait_h, NULL, vmo, "a VMO");
    missing_right("zx_port_wait", port_wait_h, NULL, port, ZX_RIGHT_READ, "ZX_RIGHT_READ");
    zx_port_packet_t pkt;
    ROW("zx_port_wait", "`packet` NULL", zx_port_wait(port, 0, NULL));
    ROW("zx_port_wait", "nothing queued, deadline 0", zx_port_wait(port, 0, &pkt));
    memset(&pkt, 0, sizeof(pkt));
    CHECK_OK(zx_port_queue(port, &pkt));
    ROW("zx_port_wait", "`packet` unmapped (the packet stays queued)", zx_port_wait(port, 0, unmapped));
    ROW("zx_port_wait", "`packet` read-only (the packet stays queued)", zx_port_wait(port, 0, readonly));
    CHECK_OK(zx_port_wait(port, 0, &pkt));

    // Time.
    ROW("zx_nanosleep", "deadline `ZX_TIME_INFINITE_PAST`", zx_nanosleep(ZX_TIME_INFINITE_PAST));

    // Guests, without reaching KVM.
    ROW("zx_guest_create", "`options` 1", zx_guest_create(hv, 1, &h, &h));
    dead_handles("zx_guest_create", guest_create_h, NULL, port, "a port");
    zx_handle_t vmex;
    CHECK_OK(zx_resource_create(root_rsrc, ZX_RSRC_KIND_VMEX, 0, 0, "t", 1, &vmex));
    ROW("zx_guest_create", "a VMEX resource", guest_create_h(vmex, NULL));
    ROW("zx_guest_create", "`guest_handle` NULL", zx_guest_create(hv, 0, NULL, &h));
    ROW("zx_guest_create", "`vmar_handle` read-only", zx_guest_create(hv, 0, &h, readonly));
    CHECK_OK(zx_handle_close(vmex));
    CHECK_OK(zx_handle_close(hv));
    CHECK_OK(zx_handle_close(fixed_vmo));
}

// ---- Guest objects (need KVM)

static zx_handle_t guest, gvmar, vcpu, gport;

static zx_status_t set_trap_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_guest_set_trap(h, ZX_GUEST_TRAP_IO, 0x80, 1, ZX_HANDLE_INVALID, 0);
}
static zx_status_t set_trap_port_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_guest_set_trap(guest, ZX_GUEST_TRAP_BELL, 0x40000, PAGE, h, 0);
}
static zx_status_t vcpu_create_h(zx_handle_t h, void* c) {
    zx_handle_t v;
    (void)c;
    zx_status_t st = zx_vcpu_create(h, 0, 0, &v);
    if (st == ZX_OK) zx_handle_close(v);
    return st;
}
static zx_status_t resume_h(zx_handle_t h, void* c) {
    zx_port_packet_t p;
    (void)c;
    return zx_vcpu_resume(h, &p);
}
static zx_status_t interrupt_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_vcpu_interrupt(h, 40);
}
static zx_status_t kick_h(zx_handle_t h, void* c) {
    (void)c;
    return zx_vcpu_kick(h);
}
static zx_status_t read_state_h(zx_handle_t h, void* c) {
    zx_vcpu_state_t s;
    (void)c;
    return zx_vcpu_read_state(h, ZX_VCPU_STATE, &s, sizeof(s));
}
static zx_status_t write_state_h(zx_handle_t h, void* c) {
    zx_vcpu_state_t s;
    (void)c;
    memset(&s, 0, sizeof(s));
    return zx_vcpu_write_state(h, ZX_VCPU_STATE, &s, sizeof(s));
}
static zx_status_t mem_access_h(zx_handle_t h, void* c) {
    zxhv_mem_access_t a;
    (void)c;
    return zxhv_vcpu_mem_access(h, &a);
}
static zx_status_t complete_read_h(zx_handle_t h, void* c) {
    (void)c;
    return zxhv_vcpu_mem_complete_read(h, 0);
}
static zx_status_t fastpath_h(zx_handle_t h, void* c) {
    (void)c;
    return zxhv_guest_set_bell_fastpath(h, 0x40000, 4, ZXHV_BELL_EXACT);
}

struct other_thread {
    zx_status_t (*fn)(zx_handle_t, void*);
    zx_status_t status;
};
static void* other_thread_main(void* arg) {
    struct other_thread* o = arg;
    o->status = o->fn(vcpu, NULL);
    return NULL;
}
static zx_status_t on_other_thread(zx_status_t (*fn)(zx_handle_t, void*)) {
    struct other_thread o = {fn, ZX_ERR_INTERNAL};
    pthread_t t;
    pthread_create(&t, NULL, other_thread_main, &o);
    pthread_join(t, NULL);
    return o.status;
}

static bool kvm_rows(void) {
    zx_handle_t root, hv;
    CHECK_OK(zxhv_root_resource_get(&root));
    CHECK_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "t", 1, &hv));
    zx_status_t st = zx_guest_create(hv, 0, &guest, &gvmar);
    if (st == ZX_ERR_NOT_SUPPORTED) return false;
    CHECK_OK(st);
    CHECK_OK(zx_port_create(0, &gport));
    CHECK_OK(zx_vmo_create(16 * PAGE, 0, &vmo));
    zx_vaddr_t addr;
    CHECK_OK(zx_vmar_map(gvmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 0, vmo, 0, 16 * PAGE, &addr));
    CHECK_OK(zx_guest_set_trap(guest, ZX_GUEST_TRAP_BELL, 0x40000, PAGE, gport, 0));
    CHECK_OK(zx_vcpu_create(guest, 0, 0, &vcpu));
    zx_handle_t h;

    // Guest VMARs.
    ROW("zx_vmar_map (guest)", "PERM_READ over existing RAM", zx_vmar_map(gvmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_map (guest)", "SPECIFIC at 2^48", zx_vmar_map(gvmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 1ull << 48, vmo, 0, PAGE, &addr));
    ROW("zx_vmar_unmap (guest)", "`addr + len` past 2^48", zx_vmar_unmap(gvmar, (1ull << 48) - PAGE, 2 * PAGE));

    // zx_guest_set_trap.
    dead_handles("zx_guest_set_trap", set_trap_h, NULL, gport, "a port");
    missing_right("zx_guest_set_trap", set_trap_h, NULL, guest, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    dead_handles("zx_guest_set_trap (the `port` handle)", set_trap_port_h, NULL, vmo, "a VMO");
    missing_right("zx_guest_set_trap (the `port` handle)", set_trap_port_h, NULL, gport, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    ROW("zx_guest_set_trap", "`len` 0", zx_guest_set_trap(guest, ZX_GUEST_TRAP_MEM, 0x50000, 0, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "`addr + len` overflows", zx_guest_set_trap(guest, ZX_GUEST_TRAP_MEM, UINT64_MAX - PAGE + 1, 2 * PAGE, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "kind 3", zx_guest_set_trap(guest, 3, 0x50000, PAGE, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "MEM with a port", zx_guest_set_trap(guest, ZX_GUEST_TRAP_MEM, 0x50000, PAGE, gport, 0));
    ROW("zx_guest_set_trap", "BELL without a port", zx_guest_set_trap(guest, ZX_GUEST_TRAP_BELL, 0x50000, PAGE, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "MEM unaligned", zx_guest_set_trap(guest, ZX_GUEST_TRAP_MEM, 0x50001, PAGE, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "MEM at 2^48", zx_guest_set_trap(guest, ZX_GUEST_TRAP_MEM, 1ull << 48, PAGE, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "IO past port 0xFFFF", zx_guest_set_trap(guest, ZX_GUEST_TRAP_IO, 0xffff, 1, ZX_HANDLE_INVALID, 0));
    ROW("zx_guest_set_trap", "BELL at the same address again", zx_guest_set_trap(guest, ZX_GUEST_TRAP_BELL, 0x40000, PAGE, gport, 0));

    // zxhv_guest_set_bell_fastpath.
    dead_handles("zxhv_guest_set_bell_fastpath", fastpath_h, NULL, gport, "a port");
    missing_right("zxhv_guest_set_bell_fastpath", fastpath_h, NULL, guest, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE");
    ROW("zxhv_guest_set_bell_fastpath", "`options` 2", zxhv_guest_set_bell_fastpath(guest, 0x40000, 4, 2));
    ROW("zxhv_guest_set_bell_fastpath", "`size` 3", zxhv_guest_set_bell_fastpath(guest, 0x40000, 3, 0));
    ROW("zxhv_guest_set_bell_fastpath", "`addr + size` overflows", zxhv_guest_set_bell_fastpath(guest, UINT64_MAX - 1, 4, 0));
    ROW("zxhv_guest_set_bell_fastpath", "no BELL trap there", zxhv_guest_set_bell_fastpath(guest, 0x60000, 4, 0));

    // zx_vcpu_create.
    ROW("zx_vcpu_create", "`options` 1", zx_vcpu_create(guest, 1, 0, &h));
    dead_handles("zx_vcpu_create", vcpu_create_h, NULL, gport, "a port");
    missing_right("zx_vcpu_create", vcpu_create_h, NULL, guest, ZX_RIGHT_MANAGE_PROCESS, "ZX_RIGHT_MANAGE_PROCESS");
    ROW("zx_vcpu_create", "`entry` 2^48", zx_vcpu_create(guest, 0, 1ull << 48, &h));
    ROW("zx_vcpu_create", "`out` NULL", zx_vcpu_create(guest, 0, 0, NULL));
    ROW("zx_vcpu_create", "`out` read-only", zx_vcpu_create(guest, 0, 0, readonly));

    // The VCPU calls.
    struct {
        const char* name;
        zx_status_t (*fn)(zx_handle_t, void*);
        zx_rights_t right;
        const char* right_name;
        bool thread_bound;
    } vcalls[] = {
        {"zx_vcpu_resume", resume_h, ZX_RIGHT_EXECUTE, "ZX_RIGHT_EXECUTE", true},
        {"zx_vcpu_interrupt", interrupt_h, ZX_RIGHT_SIGNAL, "ZX_RIGHT_SIGNAL", false},
        {"zx_vcpu_kick", kick_h, ZX_RIGHT_EXECUTE, "ZX_RIGHT_EXECUTE", false},
        {"zx_vcpu_read_state", read_state_h, ZX_RIGHT_READ, "ZX_RIGHT_READ", true},
        {"zx_vcpu_write_state", write_state_h, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE", true},
        {"zxhv_vcpu_mem_access", mem_access_h, ZX_RIGHT_READ, "ZX_RIGHT_READ", true},
        {"zxhv_vcpu_mem_complete_read", complete_read_h, ZX_RIGHT_WRITE, "ZX_RIGHT_WRITE", true},
    };
    for (size_t i = 0; i < sizeof(vcalls) / sizeof(vcalls[0]); i++) {
        dead_handles(vcalls[i].name, vcalls[i].fn, NULL, gport, "a port");
        missing_right(vcalls[i].name, vcalls[i].fn, NULL, vcpu, vcalls[i].right, vcalls[i].right_name);
        if (vcalls[i].thread_bound) ROW(vcalls[i].name, "from another thread", on_other_thread(vcalls[i].fn));
    }
    ROW("zx_vcpu_resume", "`packet` NULL", zx_vcpu_resume(vcpu, NULL));
    ROW("zx_vcpu_interrupt", "vector 256", zx_vcpu_interrupt(vcpu, 256));
    zx_vcpu_state_t s;
    memset(&s, 0, sizeof(s));
    ROW("zx_vcpu_read_state", "`kind` `ZX_VCPU_IO`", zx_vcpu_read_state(vcpu, ZX_VCPU_IO, &s, sizeof(s)));
    ROW("zx_vcpu_read_state", "`buffer_size` 137", zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, &s, 137));
    ROW("zx_vcpu_read_state", "`buffer_size` 8", zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, &s, 8));
    ROW("zx_vcpu_read_state", "`buffer` NULL", zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, NULL, sizeof(s)));
    ROW("zx_vcpu_read_state", "`buffer` read-only", zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, readonly, sizeof(s)));
    ROW("zx_vcpu_write_state", "`kind` 2", zx_vcpu_write_state(vcpu, 2, &s, sizeof(s)));
    ROW("zx_vcpu_write_state", "`buffer` NULL", zx_vcpu_write_state(vcpu, ZX_VCPU_STATE, NULL, sizeof(s)));
    ROW("zx_vcpu_write_state", "`buffer` unmapped", zx_vcpu_write_state(vcpu, ZX_VCPU_STATE, unmapped, sizeof(s)));
    zx_vcpu_io_t io;
    memset(&io, 0, sizeof(io));
    io.access_size = 3;
    ROW("zx_vcpu_write_state", "`ZX_VCPU_IO`, `access_size` 3", zx_vcpu_write_state(vcpu, ZX_VCPU_IO, &io, sizeof(io)));
    ROW("zx_vcpu_write_state", "`ZX_VCPU_IO`, `buffer_size` 4", zx_vcpu_write_state(vcpu, ZX_VCPU_IO, &io, 4));
    ROW("zxhv_vcpu_mem_access", "no MEM packet", zxhv_vcpu_mem_access(vcpu, (zxhv_mem_access_t*)readonly));
    ROW("zxhv_vcpu_mem_complete_read", "no MEM packet", zxhv_vcpu_mem_complete_read(vcpu, 0));

    CHECK_OK(zx_handle_close(vcpu));
    CHECK_OK(zx_handle_close(gport));
    CHECK_OK(zx_handle_close(vmo));
    CHECK_OK(zx_handle_close(gvmar));
    CHECK_OK(zx_handle_close(guest));
    CHECK_OK(zx_handle_close(hv));
    CHECK_OK(zx_handle_close(root));
    return true;
}

// The text between "<!-- robustness-table:NAME -->" and the next "<!-- /robustness-table -->"
// in |path|, with the table's two header lines dropped.
static char* section(const char* path, const char* name) {
    FILE* f = fopen(path, "r");
    if (f == NULL) return NULL;
    char begin[64];
    snprintf(begin, sizeof(begin), "<!-- robustness-table:%s -->", name);
    static char text[1 << 20];
    size_t n = 0;
    bool inside = false;
    int header = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, begin, strlen(begin)) == 0) {
            inside = true;
            continue;
        }
        if (inside && strncmp(line, "<!-- /robustness-table -->", 26) == 0) break;
        if (!inside || line[0] != '|') continue;
        if (header++ < 2) continue;
        size_t len = strlen(line);
        if (n + len + 1 > sizeof(text)) break;
        memcpy(text + n, line, len + 1);
        n += len;
    }
    fclose(f);
    return inside ? text : NULL;
}

int main(int argc, char** argv) {
    bool kvm = argc > 1 && strcmp(argv[1], "kvm") == 0;
    const char* check = argc > 3 && strcmp(argv[2], "--check") == 0 ? argv[3] : NULL;
    long page = PAGE;
    uint8_t* m = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unmapped = m;
    readonly = m + page;
    mprotect(unmapped, (size_t)page, PROT_NONE);
    mprotect(readonly, (size_t)page, PROT_READ);
    make_dead_handles();
    if (kvm) {
        if (!kvm_rows()) {
            printf("SKIP: no usable /dev/kvm (zx_guest_create gave ZX_ERR_NOT_SUPPORTED)\n");
            return 77;
        }
    } else {
        host_rows();
    }
    if (check == NULL) {
        fputs(out, stdout);
        return 0;
    }
    char* want = section(check, kvm ? "kvm" : "host");
    if (want == NULL) {
        fprintf(stderr, "%s has no robustness-table:%s section\n", check, kvm ? "kvm" : "host");
        return 1;
    }
    if (strcmp(want, out) != 0) {
        fprintf(stderr, "%s is out of date (fuzz/update-robustness-table.sh rewrites it).\n"
                        "The calls give now:\n%s", check, out);
        return 1;
    }
    printf("%s: the %s table holds (%zu bytes)\n", check, kvm ? "kvm" : "host", out_len);
    return 0;
}
