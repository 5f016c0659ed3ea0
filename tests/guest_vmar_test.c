// zxhv tests: the guest physical address space behind the VMAR that zx_guest_create returns
// (spec §1.1, §1.9, §3.11; the checks of docs/notes/ref-supporting-syscalls.md §5).
//
// The first part drives the VMAR through the API only: a mapping's address is its guest physical
// address, and every check of zx_vmar_map and zx_vmar_unmap holds on a VMAR of base 0 and size
// 2^48. The second part proves that what is mapped is guest RAM, white-box: it takes the KVM VM
// of the guest (object/guest.h), runs a few real-mode instructions on a VCPU of its own, and
// watches what the guest reads, what it writes, and which accesses leave RAM (KVM_EXIT_MMIO).
#include "kvm_helpers.h"  // first: it defines _GNU_SOURCE

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "arch/x86/kvm.h"
#include "hv/gpas.h"
#include "object/guest.h"

#define P KVM_PAGE

// --- a guest with RAM at GPA 0 ----------------------------------------------------------------

// 16 pages of RAM at GPA 0, as the Zircon fixture maps its VMO (spec §4.2 step 5).
#define RAM_PAGES 16u
#define RAM_SIZE (RAM_PAGES * P)

struct fixture {
    zx_handle_t guest;
    zx_handle_t vmar;
    zx_handle_t ram;  // the VMO mapped at GPA 0
};

static struct fixture empty_guest_or_skip(void) {
    struct fixture f = {ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, ZX_HANDLE_INVALID};
    guest_or_skip(&f.guest, &f.vmar);
    return f;
}

static void map_ok(zx_handle_t vmar, zx_vm_option_t options, uint64_t offset, zx_handle_t vmo,
                   uint64_t vmo_offset, uint64_t len, zx_vaddr_t want) {
    zx_vaddr_t addr = 0;
    zx_status_t status = zx_vmar_map(vmar, options, offset, vmo, vmo_offset, len, &addr);
    cr_assert_eq(status, ZX_OK,
                 "zx_vmar_map(options %#x, offset %#lx, vmo_offset %#lx, len %#lx): %s (%d)",
                 options, (unsigned long)offset, (unsigned long)vmo_offset, (unsigned long)len,
                 zx_status_get_string(status), status);
    cr_assert_eq(addr, want, "mapped at %#lx, want %#lx", (unsigned long)addr,
                 (unsigned long)want);
}

// zx_vmar_map with |options| at |offset| gives |want|.
static void map_fails(zx_handle_t vmar, zx_vm_option_t options, uint64_t offset, zx_handle_t vmo,
                      uint64_t vmo_offset, uint64_t len, zx_status_t want) {
    zx_vaddr_t addr = 0xdead000;
    zx_status_t status = zx_vmar_map(vmar, options, offset, vmo, vmo_offset, len, &addr);
    cr_assert_eq(status, want,
                 "zx_vmar_map(options %#x, offset %#lx, vmo_offset %#lx, len %#lx)\n"
                 "  got  %s (%d)\n  want %s (%d)",
                 options, (unsigned long)offset, (unsigned long)vmo_offset, (unsigned long)len,
                 zx_status_get_string(status), status, zx_status_get_string(want), want);
    cr_assert_eq(addr, 0xdead000, "mapped_addr written on failure");
}

// Whether [offset, offset + len) of the guest VMAR is taken: a SPECIFIC mapping of one page there
// fails with NO_MEMORY (and is undone at once if it succeeds).
static bool page_taken(zx_handle_t vmar, zx_handle_t vmo, uint64_t offset) {
    zx_vaddr_t addr;
    zx_status_t status =
        zx_vmar_map(vmar, GUEST_MAP_FLAGS, offset, vmo, 0, P, &addr);
    if (status == ZX_OK) {
        ASSERT_OK(zx_vmar_unmap(vmar, addr, P));
        return false;
    }
    cr_assert_eq(status, ZX_ERR_NO_MEMORY, "probe map at %#lx: %s", (unsigned long)offset,
                 zx_status_get_string(status));
    return true;
}

static void assert_taken(zx_handle_t vmar, zx_handle_t vmo, uint64_t offset) {
    cr_assert(page_taken(vmar, vmo, offset), "GPA %#lx should be mapped", (unsigned long)offset);
}

static void assert_free(zx_handle_t vmar, zx_handle_t vmo, uint64_t offset) {
    cr_assert(!page_taken(vmar, vmo, offset), "GPA %#lx should be free", (unsigned long)offset);
}

static void close_all(const zx_handle_t* handles, size_t n) {
    for (size_t i = 0; i < n; i++) ASSERT_OK(zx_handle_close(handles[i]));
}
#define CLOSE_ALL(...)                                                \
    do {                                                              \
        const zx_handle_t all_[] = {__VA_ARGS__};                     \
        close_all(all_, sizeof(all_) / sizeof(all_[0]));              \
    } while (0)

// --- zx_vmar_map: the address is the guest physical address --------------------------------------

Test(guest_vmar, map_returns_the_guest_physical_address) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    // The Zircon fixture's flags (0x17) at offset 0 (spec §4.2 step 5).
    cr_assert_eq(GUEST_MAP_FLAGS, 0x17u);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 4 * P, 0);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0x100000, vmo, 0, 4 * P, 0x100000);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0xfff000, vmo, P, P, 0xfff000);
    map_ok(f.vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0x40000000, vmo, 0, 2 * P, 0x40000000);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// The last pages of the 2^48-byte space can be mapped (spec §1.1: size 1 << 48 on x86).
Test(guest_vmar, map_at_the_top_of_the_guest_aspace) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, GUEST_ASPACE_SIZE - 4 * P, vmo, 0, 4 * P,
           GUEST_ASPACE_SIZE - 4 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, GUEST_ASPACE_SIZE - 5 * P, vmo, 0, P,
           GUEST_ASPACE_SIZE - 5 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, GUEST_ASPACE_SIZE - 5 * P, 5 * P));
    assert_free(f.vmar, vmo, GUEST_ASPACE_SIZE - P);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 10: offset >= size or len > size - offset -> INVALID_ARGS.
Test(guest_vmar, map_beyond_the_guest_aspace_is_invalid_args) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    const uint64_t offsets[] = {GUEST_ASPACE_SIZE - 3 * P, GUEST_ASPACE_SIZE - P,
                                GUEST_ASPACE_SIZE, GUEST_ASPACE_SIZE + 4 * P,
                                1ull << 52, UINT64_MAX & ~(P - 1)};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        map_fails(f.vmar, GUEST_MAP_FLAGS, offsets[i], vmo, 0, 4 * P, ZX_ERR_INVALID_ARGS);
    }
    // Longer than the whole space, from 0.
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, GUEST_ASPACE_SIZE + P, ZX_ERR_INVALID_ARGS);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 10: a SPECIFIC offset must be page-aligned.
Test(guest_vmar, map_unaligned_offset_is_invalid_args) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    const uint64_t offsets[] = {1, 0x800, P + 8, 0x100ffc};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        map_fails(f.vmar, GUEST_MAP_FLAGS, offsets[i], vmo, 0, P, ZX_ERR_INVALID_ARGS);
    }
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 10: without SPECIFIC or SPECIFIC_OVERWRITE the offset must be 0.
Test(guest_vmar, map_offset_without_specific_is_invalid_args) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    map_fails(f.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, P, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, ZX_VM_PERM_READ, 0x100000, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 10: len 0 (or one that wraps when rounded up) -> INVALID_ARGS.
Test(guest_vmar, map_zero_length_is_invalid_args) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 0, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, ZX_VM_PERM_READ, 0, vmo, 0, 0, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, UINT64_MAX, ZX_ERR_INVALID_ARGS);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// A length is rounded up to whole pages (notes §5.1 step 9).
Test(guest_vmar, map_rounds_the_length_up_to_a_page) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 2 * P, vmo, 0, 1, 2 * P);
    assert_taken(f.vmar, vmo, 2 * P);
    assert_free(f.vmar, vmo, 3 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 8 * P, vmo, 0, P + 1, 8 * P);
    assert_taken(f.vmar, vmo, 9 * P);
    assert_free(f.vmar, vmo, 10 * P);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 10: a SPECIFIC range that overlaps a mapping -> NO_MEMORY; a neighbour is fine.
Test(guest_vmar, map_over_a_mapping_is_no_memory) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(16 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 4 * P, vmo, 0, 4 * P, 4 * P);  // [4, 8)
    const struct {
        uint64_t page, pages;
    } overlaps[] = {{4, 4}, {2, 3}, {7, 2}, {5, 1}, {0, 16}, {7, 1}, {3, 2}};
    for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
        map_fails(f.vmar, GUEST_MAP_FLAGS, overlaps[i].page * P, vmo, 0, overlaps[i].pages * P,
                  ZX_ERR_NO_MEMORY);
    }
    map_ok(f.vmar, GUEST_MAP_FLAGS, 8 * P, vmo, 0, P, 8 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 3 * P, vmo, 0, P, 3 * P);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 2 * P, vmo, 0, 8 * P, ZX_ERR_NO_MEMORY);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 11: SPECIFIC_OVERWRITE replaces what is there, splitting mappings it cuts.
Test(guest_vmar, map_overwrite_replaces_mappings) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t a = new_vmo(16 * P), b = new_vmo(16 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 4 * P, a, 0, 4 * P, 4 * P);  // [4, 8)
    const zx_vm_option_t overwrite =
        ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC_OVERWRITE;
    map_ok(f.vmar, overwrite, 6 * P, b, 0, 4 * P, 6 * P);  // [6, 10) over half of it
    assert_taken(f.vmar, a, 5 * P);
    assert_taken(f.vmar, a, 9 * P);
    assert_free(f.vmar, a, 10 * P);
    assert_free(f.vmar, a, 3 * P);
    // Over a free range it is a plain map; SPECIFIC and SPECIFIC_OVERWRITE together too.
    map_ok(f.vmar, overwrite, 20 * P, b, 0, P, 20 * P);
    map_ok(f.vmar, overwrite | ZX_VM_SPECIFIC, 4 * P, b, 0, 8 * P, 4 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 4 * P, 8 * P));
    assert_free(f.vmar, a, 4 * P);
    assert_free(f.vmar, a, 11 * P);
    CLOSE_ALL(a, b, f.vmar, f.guest);
}

// A mapping without SPECIFIC goes somewhere free in the space: page-aligned, inside it, and over
// nothing already mapped. (Zircon may place it at random, so no address is asked for.)
Test(guest_vmar, map_without_specific_picks_a_free_range) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(16 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 4 * P, 0);  // [0, 4)
    zx_vaddr_t got[3];
    const uint64_t lens[3] = {2 * P, 5 * P, P};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(zx_vmar_map(f.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, lens[i],
                              &got[i]));
        cr_assert_eq(got[i] % P, 0u, "unaligned address %#lx", (unsigned long)got[i]);
        cr_assert(got[i] <= GUEST_ASPACE_SIZE - lens[i], "address %#lx outside the space",
                  (unsigned long)got[i]);
        cr_assert(got[i] >= 4 * P, "address %#lx overlaps [0, 4 pages)", (unsigned long)got[i]);
        for (int j = 0; j < i; j++) {
            cr_assert(got[i] + lens[i] <= got[j] || got[j] + lens[j] <= got[i],
                      "[%#lx, +%#lx) overlaps [%#lx, +%#lx)", (unsigned long)got[i],
                      (unsigned long)lens[i], (unsigned long)got[j], (unsigned long)lens[j]);
        }
        // It is really taken: a SPECIFIC map over it fails.
        map_fails(f.vmar, GUEST_MAP_FLAGS, got[i], vmo, 0, P, ZX_ERR_NO_MEMORY);
    }
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 steps 1-3: the handles, then the VMO's MAP right.
Test(guest_vmar, map_checks_its_handles) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    zx_handle_t closed_vmo = new_vmo(P);
    ASSERT_OK(zx_handle_close(closed_vmo));
    map_fails(ZX_HANDLE_INVALID, GUEST_MAP_FLAGS, 0, vmo, 0, P, ZX_ERR_BAD_HANDLE);
    map_fails(f.guest, GUEST_MAP_FLAGS, 0, vmo, 0, P, ZX_ERR_WRONG_TYPE);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, ZX_HANDLE_INVALID, 0, P, ZX_ERR_BAD_HANDLE);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, closed_vmo, 0, P, ZX_ERR_BAD_HANDLE);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, f.guest, 0, P, ZX_ERR_WRONG_TYPE);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, f.vmar, 0, P, ZX_ERR_WRONG_TYPE);
    zx_handle_t unmappable = dup_rights(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_MAP);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, unmappable, 0, P, ZX_ERR_ACCESS_DENIED);
    // Step 3 comes before the options (step 4: WRITE without READ).
    map_fails(f.vmar, ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 0, unmappable, 0, P,
              ZX_ERR_ACCESS_DENIED);
    // No rights are needed on the VMAR handle to map without permissions.
    zx_handle_t bare_vmar = dup_rights(f.vmar, 0);
    map_ok(bare_vmar, ZX_VM_SPECIFIC, 0, vmo, 0, P, 0);
    CLOSE_ALL(bare_vmar, unmappable, vmo, f.vmar, f.guest);
}

// notes §5.1 steps 4-9: permissions and option bits.
Test(guest_vmar, map_checks_its_options) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    const zx_vm_option_t S = ZX_VM_SPECIFIC;
    // WRITE or EXECUTE without READ.
    map_fails(f.vmar, ZX_VM_PERM_WRITE | S, 0, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, ZX_VM_PERM_EXECUTE | S, 0, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    // MAP_RANGE with SPECIFIC_OVERWRITE; CAN_MAP_* from the caller.
    map_fails(f.vmar, ZX_VM_PERM_READ | ZX_VM_MAP_RANGE | ZX_VM_SPECIFIC_OVERWRITE, 0, vmo, 0, P,
              ZX_ERR_INVALID_ARGS);
    const zx_vm_option_t can_map[] = {ZX_VM_CAN_MAP_READ, ZX_VM_CAN_MAP_WRITE,
                                      ZX_VM_CAN_MAP_EXECUTE};
    for (size_t i = 0; i < 3; i++) {
        map_fails(f.vmar, ZX_VM_PERM_READ | S | can_map[i], 0, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    }
    // An option bit that does not exist; COMPACT and CAN_MAP_SPECIFIC, which a mapping cannot take.
    map_fails(f.vmar, ZX_VM_PERM_READ | S | (1u << 20), 0, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, ZX_VM_PERM_READ | S | ZX_VM_COMPACT, 0, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, ZX_VM_PERM_READ | S | ZX_VM_CAN_MAP_SPECIFIC, 0, vmo, 0, P,
              ZX_ERR_INVALID_ARGS);
    // REQUIRE_NON_RESIZABLE with a resizable VMO.
    map_fails(f.vmar, GUEST_MAP_FLAGS | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 0, P,
              ZX_ERR_NOT_SUPPORTED);
    // The VMO offset: page-aligned, and offset + len must not wrap.
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 1, P, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0x800, P, ZX_ERR_INVALID_ARGS);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, UINT64_MAX & ~(P - 1), 2 * P,
              ZX_ERR_INVALID_ARGS);
    // Nothing of the above was mapped.
    assert_free(f.vmar, vmo, 0);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.1 step 7: each permission needs its right on both the VMAR and the VMO handle.
Test(guest_vmar, map_permissions_need_rights_on_both_handles) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    const struct {
        zx_vm_option_t perm;
        zx_rights_t right;
    } perms[] = {{ZX_VM_PERM_READ, ZX_RIGHT_READ},
                 {ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, ZX_RIGHT_WRITE},
                 {ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, ZX_RIGHT_EXECUTE}};
    for (size_t i = 0; i < 3; i++) {
        zx_handle_t vmar = dup_rights(f.vmar, GUEST_VMAR_RIGHTS & ~perms[i].right);
        zx_handle_t vmo_less = dup_rights(vmo, ZX_DEFAULT_VMO_RIGHTS & ~perms[i].right);
        map_fails(vmar, perms[i].perm | ZX_VM_SPECIFIC, 0, vmo, 0, P, ZX_ERR_ACCESS_DENIED);
        map_fails(f.vmar, perms[i].perm | ZX_VM_SPECIFIC, 0, vmo_less, 0, P,
                  ZX_ERR_ACCESS_DENIED);
        CLOSE_ALL(vmo_less, vmar);
    }
    assert_free(f.vmar, vmo, 0);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// What the checks allow: no permissions at all, MAP_RANGE, REQUIRE_NON_RESIZABLE on a VMO that
// cannot be resized, and a range past the end of the VMO (no check against its size, notes §5.1
// step 9).
Test(guest_vmar, map_allows_what_zircon_allows) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(2 * P);
    zx_handle_t fixed = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_vmo_create(2 * P, ZX_VMO_NON_RESIZABLE, &fixed));
    map_ok(f.vmar, ZX_VM_SPECIFIC, 0, vmo, 0, P, 0);
    assert_taken(f.vmar, vmo, 0);
    map_ok(f.vmar, GUEST_MAP_FLAGS | ZX_VM_MAP_RANGE, P, vmo, 0, 2 * P, P);
    map_ok(f.vmar, GUEST_MAP_FLAGS | ZX_VM_REQUIRE_NON_RESIZABLE, 4 * P, fixed, 0, 2 * P, 4 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 8 * P, vmo, 0, 8 * P, 8 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 32 * P, vmo, 16 * P, P, 32 * P);
    CLOSE_ALL(fixed, vmo, f.vmar, f.guest);
}

// notes §5.1 step 13: an address that cannot be delivered -> INVALID_ARGS, and the mapping is
// undone.
Test(guest_vmar, map_with_a_bad_address_pointer_leaves_nothing_mapped) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    zx_vaddr_t* const bad[] = {NULL, (zx_vaddr_t*)8, pages_with(1, PROT_READ)};
    for (size_t i = 0; i < 3; i++) {
        ASSERT_STATUS(zx_vmar_map(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, P, bad[i]),
                      ZX_ERR_INVALID_ARGS);
        assert_free(f.vmar, vmo, 0);
    }
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// --- zx_vmar_unmap (notes §5.2) ---------------------------------------------------------------

// Unmapping inside a mapping splits it: the rest stays mapped on both sides.
Test(guest_vmar, unmap_inside_a_mapping_splits_it) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(16 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 16 * P, 0);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 5 * P, P));
    assert_free(f.vmar, vmo, 5 * P);
    assert_taken(f.vmar, vmo, 4 * P);
    assert_taken(f.vmar, vmo, 6 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 8 * P, 3 * P));
    assert_free(f.vmar, vmo, 8 * P);
    assert_free(f.vmar, vmo, 10 * P);
    assert_taken(f.vmar, vmo, 7 * P);
    assert_taken(f.vmar, vmo, 11 * P);
    assert_taken(f.vmar, vmo, 15 * P);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// A range that covers part of a mapping trims it; one that covers several handles each.
Test(guest_vmar, unmap_part_of_a_mapping_trims_it) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(16 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 4 * P, vmo, 0, 4 * P, 4 * P);   // [4, 8)
    map_ok(f.vmar, GUEST_MAP_FLAGS, 10 * P, vmo, 0, 4 * P, 10 * P);  // [10, 14)
    ASSERT_OK(zx_vmar_unmap(f.vmar, 2 * P, 3 * P));  // [2, 5): the front of [4, 8)
    assert_free(f.vmar, vmo, 4 * P);
    assert_taken(f.vmar, vmo, 5 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 7 * P, 4 * P));  // [7, 11): the back of one, front of other
    assert_taken(f.vmar, vmo, 6 * P);
    assert_free(f.vmar, vmo, 7 * P);
    assert_free(f.vmar, vmo, 10 * P);
    assert_taken(f.vmar, vmo, 11 * P);
    assert_taken(f.vmar, vmo, 13 * P);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// A range with nothing in it is not an error (notes §5.2 step 5), anywhere in the space; the whole
// space at once removes everything.
Test(guest_vmar, unmap_of_an_empty_range_is_ok) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 0, P));
    ASSERT_OK(zx_vmar_unmap(f.vmar, 0x100000, 256 * P));
    ASSERT_OK(zx_vmar_unmap(f.vmar, GUEST_ASPACE_SIZE - P, P));
    map_ok(f.vmar, GUEST_MAP_FLAGS, 4 * P, vmo, 0, 4 * P, 4 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 8 * P, 8 * P));  // just after it
    ASSERT_OK(zx_vmar_unmap(f.vmar, 0, 4 * P));      // just before it
    assert_taken(f.vmar, vmo, 4 * P);
    assert_taken(f.vmar, vmo, 7 * P);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 0, GUEST_ASPACE_SIZE));
    assert_free(f.vmar, vmo, 4 * P);
    assert_free(f.vmar, vmo, 7 * P);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}

// notes §5.2: the handle (no rights needed), then addr aligned, len != 0 after rounding up, and
// the range inside the space.
Test(guest_vmar, unmap_checks_its_arguments) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 4 * P, 0);
    ASSERT_STATUS(zx_vmar_unmap(ZX_HANDLE_INVALID, 0, P), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmar_unmap(f.guest, 0, P), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmar_unmap(vmo, 0, P), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 1, P), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0x800, P), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0, UINT64_MAX), ZX_ERR_INVALID_ARGS);  // wraps to 0
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, GUEST_ASPACE_SIZE - P, 2 * P), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, GUEST_ASPACE_SIZE, P), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0, GUEST_ASPACE_SIZE + P), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 1ull << 52, P), ZX_ERR_INVALID_ARGS);
    for (uint64_t page = 0; page < 4; page++) assert_taken(f.vmar, vmo, page * P);
    // A length is rounded up: 1 byte unmaps a page. No rights are needed.
    zx_handle_t bare = dup_rights(f.vmar, 0);
    ASSERT_OK(zx_vmar_unmap(bare, 0, 1));
    assert_free(f.vmar, vmo, 0);
    assert_taken(f.vmar, vmo, P);
    CLOSE_ALL(bare, vmo, f.vmar, f.guest);
}

// --- the VMAR outlives its guest, but maps nothing more --------------------------------------

// Closing the guest destroys its address space (spec §3.2: the GPAS destructor destroys the
// aspace). The VMAR handle stays valid, but the region is dead: map and unmap give BAD_STATE
// (notes §5.1 step 10 and §5.2 step 4), after the checks that come before that one.
Test(guest_vmar, after_the_guest_is_closed_the_vmar_is_dead) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 4 * P, 0);
    ASSERT_OK(zx_handle_close(f.guest));

    cr_assert(handle_valid(f.vmar));
    zx_info_handle_basic_t info = basic_info(f.vmar);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMAR);
    cr_assert_eq(info.rights, GUEST_VMAR_RIGHTS);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 8 * P, vmo, 0, P, ZX_ERR_BAD_STATE);
    map_fails(f.vmar, ZX_VM_PERM_READ, 0, vmo, 0, P, ZX_ERR_BAD_STATE);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 8 * P, vmo, 0, 0, ZX_ERR_BAD_STATE);  // before len 0
    map_fails(f.vmar, ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 0, vmo, 0, P, ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0, 4 * P), ZX_ERR_BAD_STATE);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0x800, P), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(f.vmar, 0, 0), ZX_ERR_INVALID_ARGS);
    // The handle can still be duplicated and closed.
    zx_handle_t dup = dup_rights(f.vmar, ZX_RIGHT_SAME_RIGHTS);
    CLOSE_ALL(dup, vmo, f.vmar);
}

// Closing the guest releases the memory it mapped: the VMO's last reference goes with it.
Test(guest_vmar, closing_the_guest_releases_its_mappings) {
    skip_without_kvm();
    struct process_census before = census();
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(16 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, 16 * P, 0);
    ASSERT_OK(zx_handle_close(vmo));  // the mapping still holds the VMO
    ASSERT_OK(zx_handle_close(f.guest));
    ASSERT_OK(zx_handle_close(f.vmar));
    assert_census_unchanged(before, "guest with a mapping, closed");
}

// --- white-box: the mapped memory is the guest's RAM ------------------------------------------

// The KVM VM behind |guest|, and how many memslots its address space uses.
static int vm_fd_of(zx_handle_t guest) {
    struct object* obj;
    ASSERT_OK(handle_get(guest, ZX_OBJ_TYPE_GUEST, 0, &obj, NULL));
    int fd = to_guest(obj)->vm_fd;
    object_unref(obj);
    return fd;
}

static uint32_t memslots_of(zx_handle_t guest) {
    struct object* obj;
    ASSERT_OK(handle_get(guest, ZX_OBJ_TYPE_GUEST, 0, &obj, NULL));
    uint32_t used = gpas_memslots_used(to_guest(obj)->gpas);
    object_unref(obj);
    return used;
}

// Real-mode code, loaded at CODE_GPA (below 1 MiB, as all real-mode addresses here):
//   mov al, [ds:0]          ; A0 00 00           the byte at the read address
//   out 0x10, al            ; E6 10              ... shown to the host
//   mov byte [es:0], 0x5a   ; 26 C6 06 00 00 5A  a byte to the write address
//   hlt                     ; F4
// The VCPU's DS base is the read address and its ES base the write address.
#define CODE_GPA 0x1000u
#define PROBE_PORT 0x10
#define GUEST_BYTE 0x5a
static const uint8_t probe_code[] = {0xa0, 0x00, 0x00, 0xe6, PROBE_PORT, 0x26, 0xc6,
                                     0x06, 0x00, 0x00, GUEST_BYTE, 0xf4};

// What a run of probe_code did.
struct probe {
    bool read_ram;     // the load completed: it was RAM (the OUT exit came)
    uint8_t value;     // ... and read this
    bool wrote_ram;    // the store completed: it was RAM (HLT came)
    bool mmio;         // an access left RAM: KVM_EXIT_MMIO (the run stops there)
    bool mmio_write;
    uint64_t mmio_addr;
    uint8_t mmio_data;
};

// Runs probe_code on a new VCPU of |guest|'s VM in 16-bit real mode, reading |read_gpa| and
// writing |write_gpa| (both below 1 MiB, 16-byte aligned). The code must be in RAM at CODE_GPA.
static struct probe run_probe(zx_handle_t guest, uint32_t read_gpa, uint32_t write_gpa) {
    cr_assert(read_gpa < 0x100000 && write_gpa < 0x100000 && read_gpa % 16 == 0 &&
              write_gpa % 16 == 0, "probe addresses must be real-mode segment bases");
    int kvm;
    ASSERT_OK(kvm_system_fd(&kvm));
    int mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    cr_assert_gt(mmap_size, 0, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));

    // Each probe gets a VCPU of its own, so no exit is left half done for the next one. VCPU ids
    // only need to be unique within the VM.
    static int next_vcpu_id;
    int vcpu = ioctl(vm_fd_of(guest), KVM_CREATE_VCPU, next_vcpu_id++);
    cr_assert_geq(vcpu, 0, "KVM_CREATE_VCPU: %s", strerror(errno));
    struct kvm_run* run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    cr_assert_neq(run, MAP_FAILED, "mmap of the VCPU: %s", strerror(errno));

    struct kvm_sregs sregs;
    cr_assert_eq(ioctl(vcpu, KVM_GET_SREGS, &sregs), 0, "KVM_GET_SREGS: %s", strerror(errno));
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    sregs.ds.base = read_gpa;
    sregs.ds.selector = (uint16_t)(read_gpa >> 4);
    sregs.es.base = write_gpa;
    sregs.es.selector = (uint16_t)(write_gpa >> 4);
    cr_assert_eq(ioctl(vcpu, KVM_SET_SREGS, &sregs), 0, "KVM_SET_SREGS: %s", strerror(errno));
    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = CODE_GPA;
    regs.rflags = 2;
    cr_assert_eq(ioctl(vcpu, KVM_SET_REGS, &regs), 0, "KVM_SET_REGS: %s", strerror(errno));

    struct probe p;
    memset(&p, 0, sizeof(p));
    // The code makes at most two exits; a third would be a bug, so the loop is bounded.
    for (int exits = 0; exits < 4 && !p.wrote_ram && !p.mmio; exits++) {
        int rc;
        do {
            rc = ioctl(vcpu, KVM_RUN, 0);
        } while (rc < 0 && errno == EINTR);
        cr_assert_eq(rc, 0, "KVM_RUN: %s", strerror(errno));
        switch (run->exit_reason) {
            case KVM_EXIT_IO:
                cr_assert(!p.read_ram, "a second OUT: the guest ran off its code");
                cr_assert_eq(run->io.direction, KVM_EXIT_IO_OUT);
                cr_assert_eq(run->io.port, PROBE_PORT, "OUT to port %#x", run->io.port);
                cr_assert_eq(run->io.size, 1);
                p.read_ram = true;
                p.value = ((const uint8_t*)run)[run->io.data_offset];
                break;
            case KVM_EXIT_HLT:
                cr_assert(p.read_ram, "HLT before the OUT");
                p.wrote_ram = true;
                break;
            case KVM_EXIT_MMIO:
                p.mmio = true;
                p.mmio_write = run->mmio.is_write;
                p.mmio_addr = run->mmio.phys_addr;
                p.mmio_data = run->mmio.data[0];
                cr_assert_eq(run->mmio.len, 1u, "MMIO access of %u bytes", run->mmio.len);
                break;
            default: {
                struct kvm_regs now;
                memset(&now, 0, sizeof(now));
                ioctl(vcpu, KVM_GET_REGS, &now);
                cr_assert_fail("unexpected KVM exit %u at rip %#llx (internal error suberror %u)",
                               run->exit_reason, (unsigned long long)now.rip,
                               run->exit_reason == KVM_EXIT_INTERNAL_ERROR
                                   ? run->internal.suberror
                                   : 0u);
            }
        }
    }
    cr_assert(p.wrote_ram || p.mmio, "the probe neither finished nor left RAM");
    munmap(run, (size_t)mmap_size);
    close(vcpu);
    return p;
}

// The guest reads |gpa| as RAM and returns the byte it read.
static uint8_t guest_reads(zx_handle_t guest, uint32_t gpa) {
    struct probe p = run_probe(guest, gpa, CODE_GPA + 0x100);
    cr_assert(p.read_ram, "guest load from GPA %#x was not RAM (MMIO exit at %#lx)", gpa,
              (unsigned long)p.mmio_addr);
    cr_assert(p.wrote_ram);
    return p.value;
}

// The guest writes GUEST_BYTE to |gpa| as RAM.
static void guest_writes(zx_handle_t guest, uint32_t gpa) {
    struct probe p = run_probe(guest, CODE_GPA, gpa);
    cr_assert(p.read_ram);
    cr_assert(p.wrote_ram, "guest store to GPA %#x was not RAM (MMIO exit at %#lx)", gpa,
              (unsigned long)p.mmio_addr);
}

// A guest load from |gpa| leaves RAM: KVM_EXIT_MMIO for exactly that address.
static void guest_load_is_mmio(zx_handle_t guest, uint32_t gpa) {
    struct probe p = run_probe(guest, gpa, CODE_GPA + 0x100);
    cr_assert(!p.read_ram, "guest load from GPA %#x was RAM (read %#x)", gpa, p.value);
    cr_assert(p.mmio && !p.mmio_write);
    cr_assert_eq(p.mmio_addr, gpa, "MMIO exit at %#lx, want %#x", (unsigned long)p.mmio_addr,
                 gpa);
}

// A guest store to |gpa| leaves RAM: KVM_EXIT_MMIO for that address, with the byte stored.
static void guest_store_is_mmio(zx_handle_t guest, uint32_t gpa) {
    struct probe p = run_probe(guest, CODE_GPA, gpa);
    cr_assert(p.read_ram);
    cr_assert(!p.wrote_ram, "guest store to GPA %#x was RAM", gpa);
    cr_assert(p.mmio && p.mmio_write);
    cr_assert_eq(p.mmio_addr, gpa, "MMIO exit at %#lx, want %#x", (unsigned long)p.mmio_addr,
                 gpa);
    cr_assert_eq(p.mmio_data, GUEST_BYTE);
}

static void vmo_put(zx_handle_t vmo, uint64_t offset, uint8_t byte) {
    ASSERT_OK(zx_vmo_write(vmo, &byte, offset, 1));
}

static uint8_t vmo_get(zx_handle_t vmo, uint64_t offset) {
    uint8_t byte = 0;
    ASSERT_OK(zx_vmo_read(vmo, &byte, offset, 1));
    return byte;
}

// A distinct byte for each page of a VMO, written at the start of the page.
static uint8_t marker(zx_handle_t vmo, uint64_t page) {
    return (uint8_t)(0x80u + ((vmo * 7u + page) & 0x3fu));
}

static void put_markers(zx_handle_t vmo, uint64_t pages) {
    for (uint64_t page = 0; page < pages; page++) vmo_put(vmo, page * P, marker(vmo, page));
}

// A guest with RAM_SIZE bytes of RAM at GPA 0 (flags 0x17), each page marked, the probe code in.
static struct fixture guest_with_ram_or_skip(void) {
    struct fixture f = empty_guest_or_skip();
    f.ram = new_vmo(RAM_SIZE);
    put_markers(f.ram, RAM_PAGES);
    ASSERT_OK(zx_vmo_write(f.ram, probe_code, CODE_GPA, sizeof(probe_code)));
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, f.ram, 0, RAM_SIZE, 0);
    return f;
}

// (a) A byte the host writes into the VMO is what the guest reads at that address.
Test(guest_vmar, guest_reads_what_the_host_wrote) {
    struct fixture f = guest_with_ram_or_skip();
    for (uint32_t page = 2; page < RAM_PAGES; page += 3) {
        cr_assert_eq(guest_reads(f.guest, page * P), marker(f.ram, page), "page %u", page);
    }
    vmo_put(f.ram, 0x3450, 0xc3);
    cr_assert_eq(guest_reads(f.guest, 0x3450), 0xc3);
    vmo_put(f.ram, 0x3450, 0x3c);
    cr_assert_eq(guest_reads(f.guest, 0x3450), 0x3c);
    CLOSE_ALL(f.ram, f.vmar, f.guest);
}

// (b) A byte the guest writes is in the VMO: zx_vmo_read and a host mapping of the VMO see it.
Test(guest_vmar, host_reads_what_the_guest_wrote) {
    struct fixture f = guest_with_ram_or_skip();
    zx_vaddr_t host = 0;
    ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, f.ram, 0,
                          RAM_SIZE, &host));
    const volatile uint8_t* view = (const volatile uint8_t*)host;
    const uint32_t targets[] = {0x2000, 0x7ff0, 0xf000 + 0x120};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_neq(vmo_get(f.ram, targets[i]), GUEST_BYTE);
        guest_writes(f.guest, targets[i]);
        cr_assert_eq(vmo_get(f.ram, targets[i]), GUEST_BYTE, "zx_vmo_read at %#x", targets[i]);
        cr_assert_eq(view[targets[i]], GUEST_BYTE, "host mapping at %#x", targets[i]);
    }
    // And the other way round through the host mapping.
    ((volatile uint8_t*)host)[0x5230] = 0x99;
    cr_assert_eq(guest_reads(f.guest, 0x5230), 0x99);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), host, RAM_SIZE));
    CLOSE_ALL(f.ram, f.vmar, f.guest);
}

// Outside every mapping there is no RAM: accesses exit to the host as MMIO.
Test(guest_vmar, unmapped_guest_memory_is_not_ram) {
    struct fixture f = guest_with_ram_or_skip();
    guest_load_is_mmio(f.guest, RAM_SIZE);
    guest_store_is_mmio(f.guest, RAM_SIZE);
    guest_load_is_mmio(f.guest, 0x80000);
    CLOSE_ALL(f.ram, f.vmar, f.guest);
}

// (c) After a page of the guest VMAR is unmapped, the guest's accesses to it exit as MMIO (it is
// no longer RAM) while the pages on both sides are still RAM: the mapping was split.
Test(guest_vmar, unmapped_page_leaves_guest_ram) {
    struct fixture f = guest_with_ram_or_skip();
    cr_assert_eq(guest_reads(f.guest, 5 * P), marker(f.ram, 5));
    ASSERT_OK(zx_vmar_unmap(f.vmar, 5 * P, P));
    guest_load_is_mmio(f.guest, 5 * P);
    guest_store_is_mmio(f.guest, 5 * P + 0x10);
    cr_assert_eq(guest_reads(f.guest, 4 * P), marker(f.ram, 4));
    cr_assert_eq(guest_reads(f.guest, 6 * P), marker(f.ram, 6));
    cr_assert_eq(guest_reads(f.guest, 15 * P), marker(f.ram, 15));
    guest_writes(f.guest, 6 * P + 0x20);
    cr_assert_eq(vmo_get(f.ram, 6 * P + 0x20), GUEST_BYTE);
    // The VMO itself still holds the page, untouched by the guest's failed store.
    cr_assert_eq(vmo_get(f.ram, 5 * P), marker(f.ram, 5));
    cr_assert_eq(vmo_get(f.ram, 5 * P + 0x10), 0);
    // Trimming the ends of a mapping works alike.
    ASSERT_OK(zx_vmar_unmap(f.vmar, 14 * P, 2 * P));
    guest_load_is_mmio(f.guest, 14 * P);
    guest_load_is_mmio(f.guest, 15 * P);
    cr_assert_eq(guest_reads(f.guest, 13 * P), marker(f.ram, 13));
    CLOSE_ALL(f.ram, f.vmar, f.guest);
}

// (d) Two adjacent mappings of consecutive parts of one VMO work as one stretch of RAM.
Test(guest_vmar, adjacent_mappings_of_one_vmo_are_ram) {
    struct fixture f = guest_with_ram_or_skip();
    zx_handle_t vmo = new_vmo(16 * P);
    put_markers(vmo, 16);
    const uint32_t base = 0x40000;
    map_ok(f.vmar, GUEST_MAP_FLAGS, base, vmo, 0, 8 * P, base);
    map_ok(f.vmar, GUEST_MAP_FLAGS, base + 8 * P, vmo, 8 * P, 8 * P, base + 8 * P);
    for (uint32_t page = 0; page < 16; page += 3) {
        cr_assert_eq(guest_reads(f.guest, base + page * P), marker(vmo, page), "page %u", page);
    }
    cr_assert_eq(guest_reads(f.guest, base + 7 * P), marker(vmo, 7));
    cr_assert_eq(guest_reads(f.guest, base + 8 * P), marker(vmo, 8));
    guest_writes(f.guest, base + 8 * P - 16);
    guest_writes(f.guest, base + 8 * P + 16);
    cr_assert_eq(vmo_get(vmo, 8 * P - 16), GUEST_BYTE);
    cr_assert_eq(vmo_get(vmo, 8 * P + 16), GUEST_BYTE);
    // The same, mapped the other way round (the upper half first).
    ASSERT_OK(zx_vmar_unmap(f.vmar, base, 16 * P));
    map_ok(f.vmar, GUEST_MAP_FLAGS, base + 8 * P, vmo, 8 * P, 8 * P, base + 8 * P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, base, vmo, 0, 8 * P, base);
    cr_assert_eq(guest_reads(f.guest, base + 7 * P), marker(vmo, 7));
    cr_assert_eq(guest_reads(f.guest, base + 8 * P), marker(vmo, 8));
    guest_load_is_mmio(f.guest, base + 16 * P);
    CLOSE_ALL(vmo, f.ram, f.vmar, f.guest);
}

// A second VMO mapped anywhere is RAM at once, and only while it is mapped.
Test(guest_vmar, second_vmo_is_ram_at_once) {
    struct fixture f = guest_with_ram_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    put_markers(vmo, 4);
    const uint32_t base = 0x80000;
    guest_load_is_mmio(f.guest, base);
    map_ok(f.vmar, GUEST_MAP_FLAGS, base, vmo, 0, 4 * P, base);
    cr_assert_eq(guest_reads(f.guest, base), marker(vmo, 0));
    cr_assert_eq(guest_reads(f.guest, base + 3 * P), marker(vmo, 3));
    guest_writes(f.guest, base + 2 * P + 0x40);
    cr_assert_eq(vmo_get(vmo, 2 * P + 0x40), GUEST_BYTE);
    cr_assert_eq(vmo_get(f.ram, 2 * P + 0x40), 0, "the write went to the wrong VMO");
    ASSERT_OK(zx_vmar_unmap(f.vmar, base, 4 * P));
    guest_load_is_mmio(f.guest, base);
    // A VMO offset is honoured: page 2 of the VMO at the mapping's start.
    map_ok(f.vmar, GUEST_MAP_FLAGS, base, vmo, 2 * P, 2 * P, base);
    cr_assert_eq(guest_reads(f.guest, base), marker(vmo, 2));
    guest_load_is_mmio(f.guest, base + 2 * P);
    CLOSE_ALL(vmo, f.ram, f.vmar, f.guest);
}

// SPECIFIC_OVERWRITE changes what the guest sees at once, and only where it maps.
Test(guest_vmar, overwrite_replaces_guest_ram) {
    struct fixture f = guest_with_ram_or_skip();
    zx_handle_t vmo = new_vmo(4 * P);
    put_markers(vmo, 4);
    map_ok(f.vmar, GUEST_MAP_FLAGS | ZX_VM_SPECIFIC_OVERWRITE, 6 * P, vmo, P, 2 * P, 6 * P);
    cr_assert_eq(guest_reads(f.guest, 5 * P), marker(f.ram, 5));
    cr_assert_eq(guest_reads(f.guest, 6 * P), marker(vmo, 1));
    cr_assert_eq(guest_reads(f.guest, 7 * P), marker(vmo, 2));
    cr_assert_eq(guest_reads(f.guest, 8 * P), marker(f.ram, 8));
    CLOSE_ALL(vmo, f.ram, f.vmar, f.guest);
}

// The guest keeps its memory when the VMAR handle is closed: the handle is not the memory.
Test(guest_vmar, closing_the_vmar_handle_keeps_guest_ram) {
    struct fixture f = guest_with_ram_or_skip();
    ASSERT_OK(zx_handle_close(f.vmar));
    ASSERT_OK(zx_handle_close(f.ram));
    cr_assert_eq(guest_reads(f.guest, 3 * P), marker(f.ram, 3));
    guest_writes(f.guest, 4 * P);
    ASSERT_OK(zx_handle_close(f.guest));
}

// A mapping without PERM_WRITE is read-only to the guest where KVM can make it so
// (KVM_CAP_READONLY_MEM; gpas.c, spec §3.11): loads are RAM, stores exit as MMIO.
Test(guest_vmar, read_only_mapping_refuses_guest_stores) {
    struct fixture f = guest_with_ram_or_skip();
    if (ioctl(vm_fd_of(f.guest), KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
        cr_skip_test("KVM lacks KVM_CAP_READONLY_MEM: read-only guest memory is writable here");
    }
    zx_handle_t vmo = new_vmo(2 * P);
    put_markers(vmo, 2);
    const uint32_t base = 0x20000;
    map_ok(f.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC, base, vmo, 0, 2 * P,
           base);
    cr_assert_eq(guest_reads(f.guest, base + P), marker(vmo, 1));
    guest_store_is_mmio(f.guest, base + 0x30);
    cr_assert_eq(vmo_get(vmo, 0x30), 0);
    CLOSE_ALL(vmo, f.ram, f.vmar, f.guest);
}

// The memslots behind the address space (gpas.h): one per mapping; unmapping the middle of a
// mapping splits it into two; mapping the hole again with the same VMO at the offset that
// continues both sides merges all three back into one (vm_aspace.h: "merges neighbours that are
// contiguous in the VMO"), and the guest sees the same RAM throughout.
Test(guest_vmar, memslots_split_and_merge) {
    struct fixture f = empty_guest_or_skip();
    cr_assert_eq(memslots_of(f.guest), 0u);
    f.ram = new_vmo(RAM_SIZE);
    put_markers(f.ram, RAM_PAGES);
    ASSERT_OK(zx_vmo_write(f.ram, probe_code, CODE_GPA, sizeof(probe_code)));
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, f.ram, 0, RAM_SIZE, 0);
    cr_assert_eq(memslots_of(f.guest), 1u);

    ASSERT_OK(zx_vmar_unmap(f.vmar, 5 * P, P));
    cr_assert_eq(memslots_of(f.guest), 2u, "a split mapping needs two memslots");
    map_ok(f.vmar, GUEST_MAP_FLAGS, 5 * P, f.ram, 5 * P, P, 5 * P);
    cr_assert_eq(memslots_of(f.guest), 1u, "the hole filled from the same VMO should merge");

    for (uint32_t page = 3; page < 8; page++) {
        cr_assert_eq(guest_reads(f.guest, page * P), marker(f.ram, page), "page %u", page);
    }
    guest_writes(f.guest, 5 * P + 0x80);
    cr_assert_eq(vmo_get(f.ram, 5 * P + 0x80), GUEST_BYTE);

    // Unmapping the ends trims without adding memslots; a whole mapping takes its memslot along.
    ASSERT_OK(zx_vmar_unmap(f.vmar, 15 * P, P));
    cr_assert_eq(memslots_of(f.guest), 1u);
    zx_handle_t other = new_vmo(P);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0x80000, other, 0, P, 0x80000);
    cr_assert_eq(memslots_of(f.guest), 2u);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 0x80000, P));
    cr_assert_eq(memslots_of(f.guest), 1u);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 0, GUEST_ASPACE_SIZE));
    cr_assert_eq(memslots_of(f.guest), 0u);
    CLOSE_ALL(other, f.ram, f.vmar, f.guest);
}

// A hole filled from another VMO, or from the same VMO at an offset that does not continue its
// neighbours, stays a mapping of its own.
Test(guest_vmar, memslots_do_not_merge_what_is_not_contiguous) {
    struct fixture f = guest_with_ram_or_skip();
    zx_handle_t other = new_vmo(P);
    put_markers(other, 1);
    ASSERT_OK(zx_vmar_unmap(f.vmar, 5 * P, P));
    map_ok(f.vmar, GUEST_MAP_FLAGS, 5 * P, other, 0, P, 5 * P);
    cr_assert_eq(memslots_of(f.guest), 3u);
    cr_assert_eq(guest_reads(f.guest, 5 * P), marker(other, 0));
    ASSERT_OK(zx_vmar_unmap(f.vmar, 5 * P, P));
    map_ok(f.vmar, GUEST_MAP_FLAGS, 5 * P, f.ram, 9 * P, P, 5 * P);
    cr_assert_eq(memslots_of(f.guest), 3u);
    cr_assert_eq(guest_reads(f.guest, 5 * P), marker(f.ram, 9));
    cr_assert_eq(guest_reads(f.guest, 4 * P), marker(f.ram, 4));
    cr_assert_eq(guest_reads(f.guest, 6 * P), marker(f.ram, 6));
    CLOSE_ALL(other, f.ram, f.vmar, f.guest);
}

// A failed map leaves no memslot behind (notes §5.1 step 13: the mapping is undone).
Test(guest_vmar, failed_map_leaves_no_memslot) {
    struct fixture f = empty_guest_or_skip();
    zx_handle_t vmo = new_vmo(P);
    ASSERT_STATUS(zx_vmar_map(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, P, NULL), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(memslots_of(f.guest), 0u);
    map_ok(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, P, 0);
    map_fails(f.vmar, GUEST_MAP_FLAGS, 0, vmo, 0, P, ZX_ERR_NO_MEMORY);
    cr_assert_eq(memslots_of(f.guest), 1u);
    CLOSE_ALL(vmo, f.vmar, f.guest);
}
