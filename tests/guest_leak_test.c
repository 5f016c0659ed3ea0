// zxhv tests: a guest leaves nothing behind. Many cycles of zx_guest_create, zx_vmo_create,
// zx_vmar_map into the guest and closing every handle must end with the process as it was:
// the same descriptors, the same mappings (count and size), the same live handles.
//
// The library keeps /dev/kvm open for the rest of the process once it has opened it, and the
// first cycle also grows tables that are kept (the handle table, allocator pools), so the
// baseline is taken after one warm-up cycle.
//
// ZXHV_LEAK_CYCLES overrides the number of cycles (default 1000), to shorten a run by hand.
#include "kvm_helpers.h"  // first: it defines _GNU_SOURCE

#include <inttypes.h>

#define DEFAULT_CYCLES 1000ul
#define GUEST_RAM (2ull << 20)  // 2 MiB

static unsigned long cycle_count(void) {
    const char* s = getenv("ZXHV_LEAK_CYCLES");
    if (s == NULL || s[0] == '\0') return DEFAULT_CYCLES;
    char* end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    cr_assert(errno == 0 && *end == '\0' && n > 0, "ZXHV_LEAK_CYCLES=%s is not a count", s);
    return n;
}

// What a leak would change.
struct footprint {
    int fds;
    size_t handles;
    size_t mappings;        // lines of /proc/self/maps
    uint64_t mapped_bytes;  // their total size
    uint64_t vm_size_kb;    // VmSize of /proc/self/status
};

static struct footprint footprint(void) {
    struct footprint f = {.fds = fd_count(), .handles = handle_table_count()};
    FILE* maps = fopen("/proc/self/maps", "re");
    cr_assert_not_null(maps, "fopen(/proc/self/maps): %s", strerror(errno));
    char line[512];
    while (fgets(line, sizeof(line), maps) != NULL) {
        uint64_t start, end;
        // Only whole lines count (a path longer than the buffer continues on the next read).
        bool whole = strchr(line, '\n') != NULL;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2) {
            f.mappings++;
            f.mapped_bytes += end - start;
        }
        while (!whole && fgets(line, sizeof(line), maps) != NULL) {
            whole = strchr(line, '\n') != NULL;
        }
    }
    fclose(maps);
    FILE* status = fopen("/proc/self/status", "re");
    cr_assert_not_null(status, "fopen(/proc/self/status): %s", strerror(errno));
    bool found = false;
    while (!found && fgets(line, sizeof(line), status) != NULL) {
        found = sscanf(line, "VmSize: %" SCNu64 " kB", &f.vm_size_kb) == 1;
    }
    fclose(status);
    cr_assert(found, "no VmSize in /proc/self/status");
    return f;
}

static void assert_same_footprint(struct footprint before, struct footprint after,
                                  unsigned long cycles) {
    cr_assert_eq(after.fds, before.fds, "after %lu cycles: open descriptors %d -> %d", cycles,
                 before.fds, after.fds);
    cr_assert_eq(after.handles, before.handles, "after %lu cycles: live handles %zu -> %zu",
                 cycles, before.handles, after.handles);
    cr_assert_eq(after.mappings, before.mappings, "after %lu cycles: mappings %zu -> %zu", cycles,
                 before.mappings, after.mappings);
    cr_assert_eq(after.mapped_bytes, before.mapped_bytes,
                 "after %lu cycles: mapped bytes %" PRIu64 " -> %" PRIu64, cycles,
                 before.mapped_bytes, after.mapped_bytes);
    cr_assert_eq(after.vm_size_kb, before.vm_size_kb,
                 "after %lu cycles: VmSize %" PRIu64 " kB -> %" PRIu64 " kB", cycles,
                 before.vm_size_kb, after.vm_size_kb);
}

// One guest with 2 MiB of RAM at GPA 0, one byte of it written, then every handle closed. The
// order of the closes changes with |i|: the guest first or its VMAR first, and the VMO before or
// after them (a mapping keeps its VMO alive meanwhile).
static void guest_cycle(zx_handle_t rsrc, unsigned long i) {
    zx_handle_t guest = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID, vmo = ZX_HANDLE_INVALID;
    zx_status_t status = zx_guest_create(rsrc, 0, &guest, &vmar);
    cr_assert_eq(status, ZX_OK, "cycle %lu: zx_guest_create: %s", i, zx_status_get_string(status));
    status = zx_vmo_create(GUEST_RAM, 0, &vmo);
    cr_assert_eq(status, ZX_OK, "cycle %lu: zx_vmo_create: %s", i, zx_status_get_string(status));
    zx_vaddr_t addr = 1;
    status = zx_vmar_map(vmar, GUEST_MAP_FLAGS, 0, vmo, 0, GUEST_RAM, &addr);
    cr_assert_eq(status, ZX_OK, "cycle %lu: zx_vmar_map: %s", i, zx_status_get_string(status));
    cr_assert_eq(addr, 0u, "cycle %lu: mapped at %#lx", i, (unsigned long)addr);
    uint8_t byte = (uint8_t)i;
    ASSERT_OK(zx_vmo_write(vmo, &byte, (i * KVM_PAGE) % GUEST_RAM, 1));

    zx_handle_t order[3];
    bool guest_first = i % 2 == 0, vmo_first = i % 4 < 2;
    order[vmo_first ? 0 : 2] = vmo;
    order[vmo_first ? 1 : 0] = guest_first ? guest : vmar;
    order[vmo_first ? 2 : 1] = guest_first ? vmar : guest;
    for (int k = 0; k < 3; k++) {
        status = zx_handle_close(order[k]);
        cr_assert_eq(status, ZX_OK, "cycle %lu: zx_handle_close: %s", i,
                     zx_status_get_string(status));
    }
}

Test(guest_leak, guest_cycles_leave_nothing_behind) {
    skip_without_kvm();
    unsigned long cycles = cycle_count();
    zx_handle_t rsrc = hypervisor_resource();
    guest_cycle(rsrc, 0);  // warm-up
    struct footprint before = footprint();
    for (unsigned long i = 1; i <= cycles; i++) guest_cycle(rsrc, i);
    struct footprint after = footprint();
    ASSERT_OK(zx_handle_close(rsrc));
    assert_same_footprint(before, after, cycles);
}

// Failed creates leave nothing either (no KVM needed: these fail before KVM is opened).
Test(guest_leak, failed_guest_creates_leave_nothing_behind) {
    unsigned long cycles = cycle_count();
    zx_handle_t rsrc = hypervisor_resource();
    zx_handle_t vmex = resource_of_kind(ZX_RSRC_KIND_VMEX, 0, 0);
    zx_handle_t* readonly = pages_with(1, PROT_READ);
    zx_handle_t out = ZX_HANDLE_INVALID;
    struct footprint before = footprint();
    for (unsigned long i = 0; i < cycles; i++) {
        ASSERT_STATUS(zx_guest_create(rsrc, 0, &out, readonly), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_guest_create(rsrc, 0, NULL, &out), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_guest_create(vmex, 0, &out, &out), ZX_ERR_ACCESS_DENIED);
        ASSERT_STATUS(zx_guest_create(rsrc, 1, &out, &out), ZX_ERR_INVALID_ARGS);
    }
    struct footprint after = footprint();
    ASSERT_OK(zx_handle_close(vmex));
    ASSERT_OK(zx_handle_close(rsrc));
    assert_same_footprint(before, after, cycles);
}
