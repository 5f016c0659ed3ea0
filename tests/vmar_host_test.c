// zxhv tests: zx_vmar_map and zx_vmar_unmap on the host root VMAR (zx_vmar_root_self) (spec §1.9;
// every check of notes §5.1 and §5.2, in order; the root VMAR of notes §5.3). zxhv's root VMAR
// only ever unmaps or overwrites what zx_vmar_map made: memory it does not own is never touched.
#include "helpers.h"

#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define X ZX_VM_PERM_EXECUTE
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

static zx_status_t map(zx_vm_option_t options, uint64_t vmar_offset, zx_handle_t vmo,
                       uint64_t vmo_offset, uint64_t len, zx_vaddr_t* addr) {
    return zx_vmar_map(zx_vmar_root_self(), options, vmar_offset, vmo, vmo_offset, len, addr);
}

// Maps |len| bytes of |vmo| at |vmar_offset| with SPECIFIC, and checks the address.
static uint8_t* map_at(zx_vm_option_t options, uint64_t vmar_offset, zx_handle_t vmo,
                       uint64_t vmo_offset, uint64_t len) {
    zx_vaddr_t addr = 0;
    ASSERT_OK(map(options | ZX_VM_SPECIFIC, vmar_offset, vmo, vmo_offset, len, &addr));
    cr_assert_eq(addr, ROOT_VMAR_BASE + vmar_offset, "mapped at %#lx", (unsigned long)addr);
    return (uint8_t*)addr;
}

// A VMO of |pages| pages, page i filled with the byte |first| + i.
static zx_handle_t patterned_vmo(size_t pages, char first) {
    zx_handle_t vmo = make_vmo(pages * PAGE);
    static char page[PAGE];
    for (size_t i = 0; i < pages; i++) {
        memset(page, first + (char)i, PAGE);
        ASSERT_OK(zx_vmo_write(vmo, page, i * PAGE, PAGE));
    }
    return vmo;
}

static void assert_page_is(const uint8_t* p, char want) {
    cr_assert(can_read(p), "page %p cannot be read", (void*)p);
    for (size_t i = 0; i < PAGE; i += 511) cr_assert_eq(p[i], (uint8_t)want, "page %p", (void*)p);
    cr_assert_eq(p[PAGE - 1], (uint8_t)want);
}

static void assert_unmapped(const uint8_t* p) {
    cr_assert(!page_is_mapped((uintptr_t)p), "page %p is still mapped", (void*)p);
}

// Anonymous memory the library does not own, placed at |vmar_offset|, filled with |fill|.
static uint8_t* foreign_at(uint64_t vmar_offset, size_t len, char fill) {
    void* want = (void*)(uintptr_t)(ROOT_VMAR_BASE + vmar_offset);
    void* p = mmap(want, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    cr_assert_eq(p, want, "mmap: %s", strerror(errno));
    memset(p, fill, len);
    return p;
}

// ---- the root VMAR: notes §5.3 ----

Test(vmar_host, root_self_is_one_handle_with_root_rights) {
    zx_handle_t root = zx_vmar_root_self();
    cr_assert_neq(root, ZX_HANDLE_INVALID);
    cr_assert_eq(zx_vmar_root_self(), root, "zx_vmar_root_self changed");
    assert_handle_value_shape(root);
    zx_info_handle_basic_t info = handle_basic(root);
    cr_assert_eq(info.rights, ROOT_VMAR_RIGHTS, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMAR);
    cr_assert_eq(info.props, ZX_OBJ_PROP_NONE);
    cr_assert_eq(info.related_koid, 0u);
}

Test(vmar_host, map_without_specific_lands_inside_the_root_vmar) {
    zx_handle_t vmo = make_vmo(3 * PAGE);
    for (int i = 0; i < 8; i++) {
        zx_vaddr_t addr = 0;
        ASSERT_OK(map(RW, 0, vmo, 0, 3 * PAGE, &addr));
        cr_assert_eq(addr % PAGE, 0u);
        cr_assert(addr >= ROOT_VMAR_BASE && addr + 3 * PAGE <= ROOT_VMAR_END,
                  "mapped at %#lx, outside the root VMAR", (unsigned long)addr);
        cr_assert(can_write((void*)addr));
    }
}

// include/zircon/process.h: one handle for the whole process; closing it closes it for everyone.
Test(vmar_host, closing_root_self_closes_it_for_everyone) {
    zx_handle_t root = zx_vmar_root_self();
    ASSERT_OK(zx_handle_close(root));
    cr_assert_eq(zx_vmar_root_self(), root);
    assert_handle_closed(zx_vmar_root_self());
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R, 0, make_vmo(PAGE), 0, PAGE, &addr), ZX_ERR_BAD_HANDLE);
}

// notes §5.3: the process's address space owns its root VMAR, so closing the handle loses only
// the handle; the mappings made through it stay.
Test(vmar_host, closing_root_self_leaves_the_mappings) {
    zx_handle_t vmo = patterned_vmo(2, 'm');
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, 2 * PAGE, &addr));
    ASSERT_OK(zx_handle_close(zx_vmar_root_self()));
    assert_page_is((uint8_t*)addr, 'm');
    assert_page_is((uint8_t*)addr + PAGE, 'n');
    ((uint8_t*)addr)[0] = 'M';
    char c;
    ASSERT_OK(zx_vmo_read(vmo, &c, 0, 1));
    cr_assert_eq(c, 'M');
}

// notes §5.1 step 10: no gap large enough gives NO_MEMORY (the program itself sits in the root
// VMAR, so the whole of it is never free).
Test(vmar_host, map_without_room_gives_no_memory) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr = 0x5a5a;
    ASSERT_STATUS(map(R, 0, vmo, 0, ROOT_VMAR_SIZE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, 0, vmo, 0, ROOT_VMAR_SIZE, &addr), ZX_ERR_NO_MEMORY);
    cr_assert_eq(addr, 0x5a5au);
}

// ---- map: handles, notes §5.1 steps 1-3 ----

Test(vmar_host, map_with_bad_vmar_handle_gives_bad_handle) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(zx_vmar_map(ZX_HANDLE_INVALID, R, 0, vmo, 0, PAGE, &addr), ZX_ERR_BAD_HANDLE);
    // The VMAR handle comes first: a bad VMO handle, bad options and a bad pointer all lose.
    ASSERT_STATUS(zx_vmar_map(0x7ffffff3u, W | 0x80000000u, 5, ZX_HANDLE_INVALID, 3, 0, NULL),
                  ZX_ERR_BAD_HANDLE);
}

Test(vmar_host, map_with_vmar_handle_of_wrong_type_gives_wrong_type) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(zx_vmar_map(vmo, R, 0, vmo, 0, PAGE, &addr), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmar_map(make_port(), W, 5, ZX_HANDLE_INVALID, 3, 0, NULL),
                  ZX_ERR_WRONG_TYPE);
}

Test(vmar_host, map_with_bad_vmo_handle_gives_bad_handle) {
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R, 0, ZX_HANDLE_INVALID, 0, PAGE, &addr), ZX_ERR_BAD_HANDLE);
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_OK(zx_handle_close(vmo));
    ASSERT_STATUS(map(R, 0, vmo, 0, PAGE, &addr), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(map(W | 0x80000000u, 5, vmo, 3, 0, NULL), ZX_ERR_BAD_HANDLE);
}

Test(vmar_host, map_with_vmo_handle_of_wrong_type_gives_wrong_type) {
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R, 0, make_port(), 0, PAGE, &addr), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(map(R, 0, zx_vmar_root_self(), 0, PAGE, &addr), ZX_ERR_WRONG_TYPE);
    // The type is checked before the MAP right (a resource has no MAP).
    ASSERT_STATUS(map(W, 5, root_resource(), 3, 0, NULL), ZX_ERR_WRONG_TYPE);
}

// notes §5.1 step 1: no rights are needed on the VMAR handle itself.
Test(vmar_host, map_needs_no_vmar_rights_for_a_mapping_without_access) {
    zx_handle_t none = dup_with(zx_vmar_root_self(), ZX_RIGHT_NONE);
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr = 0;
    ASSERT_OK(zx_vmar_map(none, 0, 0, vmo, 0, PAGE, &addr));
    cr_assert(page_is_mapped(addr));
    ASSERT_OK(zx_vmar_unmap(none, addr, PAGE));
    assert_unmapped((uint8_t*)addr);
}

// notes §5.1 step 3: the VMO handle needs ZX_RIGHT_MAP, checked before anything in the options.
Test(vmar_host, map_vmo_without_map_right_gives_access_denied) {
    zx_handle_t nomap = dup_with(make_vmo(PAGE), ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_MAP);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R, 0, nomap, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(0, 0, nomap, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    // Before W-without-R, MAP_RANGE with OVERWRITE, CAN_MAP bits, unknown bits, len 0 ...
    ASSERT_STATUS(map(W, 0, nomap, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R | ZX_VM_MAP_RANGE | ZX_VM_SPECIFIC_OVERWRITE, 0, nomap, 0, PAGE, &addr),
                  ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R | ZX_VM_CAN_MAP_READ, 0, nomap, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R | 0x80000000u, 0, nomap, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R, 5, nomap, 3, 0, NULL), ZX_ERR_ACCESS_DENIED);
}

// ---- map: options, notes §5.1 steps 4-9 ----

// notes §5.1 step 4: WRITE or EXECUTE without READ.
Test(vmar_host, map_write_or_execute_without_read_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(W, 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(X, 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(W | X, 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    // Before the rights of the handles: a VMO with MAP but neither READ nor WRITE.
    zx_handle_t maponly = dup_with(vmo, ZX_RIGHT_MAP);
    ASSERT_STATUS(map(W, 0, maponly, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    zx_handle_t vmar_none = dup_with(zx_vmar_root_self(), ZX_RIGHT_NONE);
    ASSERT_STATUS(zx_vmar_map(vmar_none, X, 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
}

// notes §5.1 step 5: MAP_RANGE with SPECIFIC_OVERWRITE, checked before the rights.
Test(vmar_host, map_range_with_specific_overwrite_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_MAP_RANGE | ZX_VM_SPECIFIC_OVERWRITE, free_vmar_offset(PAGE), vmo,
                      0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
    zx_handle_t maponly = dup_with(vmo, ZX_RIGHT_MAP);
    ASSERT_STATUS(map(R | ZX_VM_MAP_RANGE | ZX_VM_SPECIFIC_OVERWRITE, 0, maponly, 0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
}

// notes §5.1 step 6: the CAN_MAP_* bits are not the caller's to give, checked before the rights.
Test(vmar_host, map_with_can_map_bits_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t maponly = dup_with(vmo, ZX_RIGHT_MAP);
    static const zx_vm_option_t kBits[] = {ZX_VM_CAN_MAP_READ, ZX_VM_CAN_MAP_WRITE,
                                           ZX_VM_CAN_MAP_EXECUTE,
                                           ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE};
    zx_vaddr_t addr;
    for (size_t i = 0; i < sizeof(kBits) / sizeof(kBits[0]); i++) {
        ASSERT_STATUS(map(R | kBits[i], 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(map(kBits[i], 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(map(R | kBits[i], 0, maponly, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    }
}

// notes §5.1 step 7: each PERM bit needs the matching right on the VMO handle.
Test(vmar_host, map_perm_without_vmo_right_gives_access_denied) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    zx_handle_t noread = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    zx_handle_t nowrite = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t noexec = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_EXECUTE);
    ASSERT_STATUS(map(R, 0, noread, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(RW, 0, nowrite, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R | X, 0, noexec, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    // The ones each handle does have are fine.
    ASSERT_OK(map(R, 0, nowrite, 0, PAGE, &addr));
    ASSERT_OK(map(RW, 0, noexec, 0, PAGE, &addr));
    ASSERT_OK(map(0, 0, noread, 0, PAGE, &addr));
}

// notes §5.1 step 7: ... and on the VMAR handle.
Test(vmar_host, map_perm_without_vmar_right_gives_access_denied) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t noread = dup_with(root, ROOT_VMAR_RIGHTS & ~ZX_RIGHT_READ);
    zx_handle_t nowrite = dup_with(root, ROOT_VMAR_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t noexec = dup_with(root, ROOT_VMAR_RIGHTS & ~ZX_RIGHT_EXECUTE);
    zx_vaddr_t addr;
    ASSERT_STATUS(zx_vmar_map(noread, R, 0, vmo, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vmar_map(nowrite, RW, 0, vmo, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vmar_map(noexec, R | X, 0, vmo, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_vmar_map(nowrite, R | X, 0, vmo, 0, PAGE, &addr));
    ASSERT_OK(zx_vmar_map(noexec, RW, 0, vmo, 0, PAGE, &addr));
}

// notes §5.1 steps 7-8: missing rights come before unknown bits, REQUIRE_NON_RESIZABLE and the
// placement checks.
Test(vmar_host, map_rights_are_checked_before_flags_and_placement) {
    zx_handle_t noread = dup_with(make_vmo(PAGE), ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | 0x1000, 0, noread, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, noread, 0, PAGE, &addr),
                  ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R | ZX_VM_COMPACT, 0, noread, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R, 0, noread, 1, 0, NULL), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(map(R, PAGE, noread, 0, PAGE, &addr), ZX_ERR_ACCESS_DENIED);
}

// notes §5.1 step 8: bits zx_vm_option_t does not define.
Test(vmar_host, map_with_unknown_option_bits_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    static const zx_vm_option_t kBits[] = {1u << 12, 1u << 13, 1u << 20, 1u << 31};
    for (size_t i = 0; i < sizeof(kBits) / sizeof(kBits[0]); i++) {
        ASSERT_STATUS(map(R | kBits[i], 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
        // Before REQUIRE_NON_RESIZABLE's NOT_SUPPORTED.
        ASSERT_STATUS(map(R | kBits[i] | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 0, PAGE, &addr),
                      ZX_ERR_INVALID_ARGS);
    }
}

// notes §5.1 step 8: REQUIRE_NON_RESIZABLE with a resizable VMO, before COMPACT and placement.
Test(vmar_host, map_require_non_resizable_of_resizable_vmo_gives_not_supported) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 0, PAGE, &addr),
                  ZX_ERR_NOT_SUPPORTED);
    ASSERT_STATUS(map(ZX_VM_REQUIRE_NON_RESIZABLE | ZX_VM_COMPACT, 0, vmo, 0, PAGE, &addr),
                  ZX_ERR_NOT_SUPPORTED);
    ASSERT_STATUS(map(R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 1, 0, NULL), ZX_ERR_NOT_SUPPORTED);
    ASSERT_STATUS(map(R | ZX_VM_REQUIRE_NON_RESIZABLE, PAGE, vmo, 0, PAGE, &addr),
                  ZX_ERR_NOT_SUPPORTED);
    zx_handle_t fixed = make_vmo_opts(PAGE, ZX_VMO_NON_RESIZABLE);
    ASSERT_OK(map(RW | ZX_VM_REQUIRE_NON_RESIZABLE, 0, fixed, 0, PAGE, &addr));
    cr_assert(can_write((void*)addr));
}

// notes §5.1 step 9: COMPACT and CAN_MAP_SPECIFIC are for sub-regions, not mappings.
Test(vmar_host, map_with_compact_or_can_map_specific_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_COMPACT, 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_CAN_MAP_SPECIFIC, 0, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_SPECIFIC, free_vmar_offset(PAGE), vmo, 0,
                      PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
}

// notes §5.1 step 9: vmo_offset must be page-aligned and vmo_offset + len must not overflow.
Test(vmar_host, map_with_bad_vmo_offset_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R, 0, vmo, 1, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, 0, vmo, PAGE + 8, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, 0, vmo, UINT64_MAX & ~(uint64_t)(PAGE - 1), 2 * PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
}

// notes §5.1 steps 9-10: len is rounded up to a page; 0, or a length that wraps to 0, is bad.
Test(vmar_host, map_with_zero_or_wrapping_len_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr = 0x5a5a;
    ASSERT_STATUS(map(R, 0, vmo, 0, 0, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, 0, vmo, 0, UINT64_MAX, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, 0, vmo, 0, UINT64_MAX - PAGE + 2, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, free_vmar_offset(PAGE), vmo, 0, 0, &addr),
                  ZX_ERR_INVALID_ARGS);
    cr_assert_eq(addr, 0x5a5au);
}

Test(vmar_host, map_rounds_len_up_to_a_page) {
    zx_handle_t vmo = patterned_vmo(2, 'a');
    uint64_t off = free_vmar_offset(2 * PAGE);
    uint8_t* p = map_at(R, off, vmo, 0, 1);
    assert_page_is(p, 'a');
    assert_unmapped(p + PAGE);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)p, PAGE));
    p = map_at(R, off, vmo, 0, PAGE + 1);
    assert_page_is(p, 'a');
    assert_page_is(p + PAGE, 'b');
}

// notes §5.1 step 10: without SPECIFIC, vmar_offset must be 0.
Test(vmar_host, map_non_specific_with_offset_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R, PAGE, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, free_vmar_offset(PAGE), vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, 1, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
}

// notes §5.1 step 10: the range must lie inside the root VMAR.
Test(vmar_host, map_outside_the_root_vmar_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, ROOT_VMAR_SIZE, vmo, 0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, ROOT_VMAR_SIZE - PAGE, vmo, 0, 2 * PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC_OVERWRITE, ROOT_VMAR_SIZE, vmo, 0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, UINT64_MAX & ~(uint64_t)(PAGE - 1), vmo, 0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R, 0, vmo, 0, ROOT_VMAR_SIZE + PAGE, &addr), ZX_ERR_INVALID_ARGS);
}

// notes §5.1 step 10: a SPECIFIC address must be page-aligned (before the overlap check).
Test(vmar_host, map_specific_at_unaligned_offset_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(PAGE);
    uint64_t off = free_vmar_offset(2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + 1, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC_OVERWRITE, off + 8, vmo, 0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
    map_at(R, off, vmo, 0, PAGE);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + 1, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
}

// notes §5.1: SPECIFIC places the mapping at the VMAR's base plus vmar_offset.
Test(vmar_host, map_specific_places_mapping_at_base_plus_offset) {
    zx_handle_t vmo = patterned_vmo(3, 'p');
    uint64_t off = free_vmar_offset(3 * PAGE);
    uint8_t* p = map_at(R, off, vmo, 0, 3 * PAGE);
    cr_assert_eq((uint64_t)(uintptr_t)p, 0x1000000ull + off);
    assert_page_is(p, 'p');
    assert_page_is(p + PAGE, 'q');
    assert_page_is(p + 2 * PAGE, 'r');
}

Test(vmar_host, map_with_vmo_offset_shows_that_part_of_the_vmo) {
    zx_handle_t vmo = patterned_vmo(4, 'a');
    zx_vaddr_t addr;
    ASSERT_OK(map(R, 0, vmo, 2 * PAGE, 2 * PAGE, &addr));
    assert_page_is((uint8_t*)addr, 'c');
    assert_page_is((uint8_t*)addr + PAGE, 'd');
}

// notes §5.1 step 9: there is no check against the VMO's size.
Test(vmar_host, map_beyond_the_end_of_the_vmo_is_allowed) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(R, 0, vmo, 0, 4 * PAGE, &addr));
    ASSERT_OK(map(R, 0, vmo, 16 * PAGE, PAGE, &addr));
}

// zxhv deviation: ZX_VM_MAP_RANGE is accepted with any vmo_offset (Zircon's 2018 MapRange took
// it as mapping-relative and failed, notes §5.1 step 12).
Test(vmar_host, map_range_is_accepted_with_any_vmo_offset) {
    zx_handle_t vmo = patterned_vmo(3, 'a');
    zx_vaddr_t addr;
    ASSERT_OK(map(R | ZX_VM_MAP_RANGE, 0, vmo, 0, PAGE, &addr));
    assert_page_is((uint8_t*)addr, 'a');
    ASSERT_OK(map(R | ZX_VM_MAP_RANGE, 0, vmo, 2 * PAGE, PAGE, &addr));
    assert_page_is((uint8_t*)addr, 'c');
    uint64_t off = free_vmar_offset(2 * PAGE);
    uint8_t* p = map_at(R | ZX_VM_MAP_RANGE, off, vmo, PAGE, 2 * PAGE);
    assert_page_is(p, 'b');
    assert_page_is(p + PAGE, 'c');
}

// ---- map: what the mapping gives ----

Test(vmar_host, host_view_shows_what_vmo_write_wrote) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, 2 * PAGE, &addr));
    char* p = (char*)addr;
    cr_assert_eq(p[0], 0);
    ASSERT_OK(zx_vmo_write(vmo, "through the vmo", PAGE - 4, 16));
    cr_assert_str_eq(p + PAGE - 4, "through the vmo");
}

Test(vmar_host, vmo_read_shows_what_the_host_view_wrote) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, 2 * PAGE, &addr));
    memcpy((char*)addr + PAGE + 10, "through the map", 16);
    char buf[16];
    ASSERT_OK(zx_vmo_read(vmo, buf, PAGE + 10, 16));
    cr_assert_str_eq(buf, "through the map");
    // Two mappings of one VMO show each other's writes.
    zx_vaddr_t other;
    ASSERT_OK(map(R, 0, vmo, PAGE, PAGE, &other));
    cr_assert_str_eq((char*)other + 10, "through the map");
}

// notes §5.1 step 4: no PERM bits is allowed; the mapping then has no access.
Test(vmar_host, map_without_perms_gives_inaccessible_mapping) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(0, 0, vmo, 0, PAGE, &addr));
    cr_assert(page_is_mapped(addr));
    cr_assert(!can_read((void*)addr), "a mapping without PERM_READ can be read");
}

Test(vmar_host, map_read_only_cannot_be_written) {
    zx_handle_t vmo = patterned_vmo(1, 'r');
    zx_vaddr_t addr;
    ASSERT_OK(map(R, 0, vmo, 0, PAGE, &addr));
    assert_page_is((uint8_t*)addr, 'r');
    cr_assert(!can_write((void*)addr), "a mapping without PERM_WRITE can be written");
    ASSERT_OK(map(R | X, 0, vmo, 0, PAGE, &addr));
    assert_page_is((uint8_t*)addr, 'r');
}

// A mapping holds its VMO: closing the last handle leaves the memory usable; unmapping then
// frees the VMO.
Test(vmar_host, mapping_keeps_the_vmo_alive_until_unmapped) {
    int fds = open_fd_count();
    zx_handle_t vmo = patterned_vmo(2, 'k');
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, 2 * PAGE, &addr));
    ASSERT_OK(zx_handle_close(vmo));
    cr_assert_eq(open_fd_count(), fds + 1, "the mapped VMO was destroyed");
    assert_page_is((uint8_t*)addr + PAGE, 'l');
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 2 * PAGE));
    cr_assert_eq(open_fd_count(), fds, "the VMO outlived its last mapping");
    assert_unmapped((uint8_t*)addr);
}

// ---- map: placement conflicts, notes §5.1 steps 10-11 ----

Test(vmar_host, map_specific_over_our_mapping_gives_no_memory) {
    zx_handle_t a = patterned_vmo(2, 'a');
    zx_handle_t b = patterned_vmo(2, 'x');
    uint64_t off = free_vmar_offset(4 * PAGE);
    uint8_t* p = map_at(R, off + PAGE, a, 0, 2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + PAGE, b, 0, 2 * PAGE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off, b, 0, 2 * PAGE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + 2 * PAGE, b, 0, 2 * PAGE, &addr),
                  ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off, b, 0, 4 * PAGE, &addr), ZX_ERR_NO_MEMORY);
    // Nothing changed: the old mapping is intact and nothing was mapped around it.
    assert_page_is(p, 'a');
    assert_page_is(p + PAGE, 'b');
    assert_unmapped(p - PAGE);
    assert_unmapped(p + 2 * PAGE);
}

// The placement checks come before the overlap: unaligned vmo_offset and len 0 win.
Test(vmar_host, map_specific_checks_arguments_before_overlap) {
    zx_handle_t vmo = make_vmo(PAGE);
    uint64_t off = free_vmar_offset(PAGE);
    map_at(R, off, vmo, 0, PAGE);
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off, vmo, 1, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off, vmo, 0, 0, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC | ZX_VM_COMPACT, off, vmo, 0, PAGE, &addr),
                  ZX_ERR_INVALID_ARGS);
}

// zxhv: memory the library does not own counts as taken.
Test(vmar_host, map_specific_over_foreign_memory_gives_no_memory) {
    zx_handle_t vmo = make_vmo(PAGE);
    uint64_t off = free_vmar_offset(2 * PAGE);
    uint8_t* mine = foreign_at(off + PAGE, PAGE, 'f');
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + PAGE, vmo, 0, PAGE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off, vmo, 0, 2 * PAGE, &addr), ZX_ERR_NO_MEMORY);
    assert_page_is(mine, 'f');
    assert_unmapped(mine - PAGE);
}

// notes §5.1 step 11: SPECIFIC_OVERWRITE replaces what zx_vmar_map mapped there, splitting it.
Test(vmar_host, map_specific_overwrite_replaces_our_mapping) {
    zx_handle_t a = patterned_vmo(3, 'a');
    zx_handle_t b = patterned_vmo(1, 'x');
    uint64_t off = free_vmar_offset(3 * PAGE);
    uint8_t* p = map_at(R, off, a, 0, 3 * PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(R | ZX_VM_SPECIFIC_OVERWRITE, off + PAGE, b, 0, PAGE, &addr));
    cr_assert_eq(addr, (zx_vaddr_t)(p + PAGE));
    assert_page_is(p, 'a');
    assert_page_is(p + PAGE, 'x');
    assert_page_is(p + 2 * PAGE, 'c');
    // Overwriting all of it, with more room at the end, works too.
    ASSERT_OK(map(RW | ZX_VM_SPECIFIC_OVERWRITE, off, b, 0, PAGE, &addr));
    assert_page_is(p, 'x');
    assert_page_is(p + PAGE, 'x');
    assert_page_is(p + 2 * PAGE, 'c');
    p[0] = 'w';
    char c;
    ASSERT_OK(zx_vmo_read(b, &c, 0, 1));
    cr_assert_eq(c, 'w');
    ASSERT_OK(zx_vmo_read(a, &c, 0, 1));
    cr_assert_eq(c, 'a', "the overwritten mapping still writes to the old VMO");
}

Test(vmar_host, map_specific_overwrite_onto_free_range_maps_it) {
    zx_handle_t vmo = patterned_vmo(2, 'o');
    uint64_t off = free_vmar_offset(2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(R | ZX_VM_SPECIFIC_OVERWRITE, off, vmo, 0, 2 * PAGE, &addr));
    cr_assert_eq(addr, ROOT_VMAR_BASE + off);
    assert_page_is((uint8_t*)addr, 'o');
    assert_page_is((uint8_t*)addr + PAGE, 'p');
}

// The overwritten mapping's VMO is let go once nothing else holds it.
Test(vmar_host, map_specific_overwrite_releases_the_replaced_vmo) {
    int fds = open_fd_count();
    zx_handle_t a = make_vmo(PAGE);
    zx_handle_t b = make_vmo(PAGE);
    uint64_t off = free_vmar_offset(PAGE);
    map_at(R, off, a, 0, PAGE);
    ASSERT_OK(zx_handle_close(a));
    cr_assert_eq(open_fd_count(), fds + 2);
    zx_vaddr_t addr;
    ASSERT_OK(map(R | ZX_VM_SPECIFIC_OVERWRITE, off, b, 0, PAGE, &addr));
    cr_assert_eq(open_fd_count(), fds + 1, "the replaced VMO leaked");
}

// zxhv: SPECIFIC_OVERWRITE never replaces memory it does not own, not even in part: the call
// fails and changes nothing.
Test(vmar_host, map_specific_overwrite_onto_foreign_memory_gives_no_memory) {
    zx_handle_t a = patterned_vmo(1, 'a');
    zx_handle_t b = patterned_vmo(2, 'x');
    uint64_t off = free_vmar_offset(3 * PAGE);
    uint8_t* ours = map_at(R, off, a, 0, PAGE);
    uint8_t* foreign = foreign_at(off + PAGE, PAGE, 'f');
    zx_vaddr_t addr = 0x5a5a;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC_OVERWRITE, off + PAGE, b, 0, PAGE, &addr),
                  ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC_OVERWRITE, off, b, 0, 2 * PAGE, &addr),
                  ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC_OVERWRITE, off + PAGE, b, 0, 2 * PAGE, &addr),
                  ZX_ERR_NO_MEMORY);
    cr_assert_eq(addr, 0x5a5au);
    assert_page_is(ours, 'a');
    assert_page_is(foreign, 'f');
    assert_unmapped(foreign + PAGE);
    foreign[0] = 'g';  // still our private memory, writable
}

// An OVERWRITE across several of our mappings and the free gaps between them replaces them all.
Test(vmar_host, map_specific_overwrite_across_mappings_and_gaps_replaces_them_all) {
    zx_handle_t a = patterned_vmo(1, 'a');
    zx_handle_t b = patterned_vmo(2, 'b');
    zx_handle_t c = patterned_vmo(6, 'A');
    uint64_t off = free_vmar_offset(7 * PAGE);
    uint8_t* base = (uint8_t*)(uintptr_t)(ROOT_VMAR_BASE + off);
    map_at(R, off, a, 0, PAGE);                // page 0
    map_at(R, off + 2 * PAGE, b, 0, 2 * PAGE);  // pages 2-3
    map_at(R, off + 6 * PAGE, a, 0, PAGE);      // page 6, outside the overwrite
    zx_vaddr_t addr;
    ASSERT_OK(map(R | ZX_VM_SPECIFIC_OVERWRITE, off + PAGE, c, 0, 5 * PAGE, &addr));
    cr_assert_eq(addr, (zx_vaddr_t)(base + PAGE));
    assert_page_is(base, 'a');
    for (int i = 1; i < 6; i++) assert_page_is(base + i * PAGE, (char)('A' + i - 1));
    assert_page_is(base + 6 * PAGE, 'a');
}

// Calls that fail take no reference to the VMO: once its handle is closed it is gone.
Test(vmar_host, failed_maps_keep_no_vmo_reference) {
    int fds = open_fd_count();
    zx_handle_t vmo = make_vmo(2 * PAGE);
    zx_handle_t other = make_vmo(PAGE);
    uint64_t off = free_vmar_offset(3 * PAGE);
    map_at(R, off + PAGE, other, 0, PAGE);
    foreign_at(off + 2 * PAGE, PAGE, 'f');
    zx_vaddr_t addr;
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off, vmo, 0, 2 * PAGE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + 2 * PAGE, vmo, 0, PAGE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC_OVERWRITE, off, vmo, 0, 3 * PAGE, &addr),
                  ZX_ERR_NO_MEMORY);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + 1, vmo, 0, PAGE, &addr), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(map(R | ZX_VM_REQUIRE_NON_RESIZABLE, 0, vmo, 0, PAGE, &addr),
                  ZX_ERR_NOT_SUPPORTED);
    ASSERT_STATUS(map(R, 0, vmo, 0, ROOT_VMAR_SIZE, &addr), ZX_ERR_NO_MEMORY);
    ASSERT_OK(zx_handle_close(vmo));
    cr_assert_eq(open_fd_count(), fds + 1, "a failed map kept the VMO alive");
}

// ---- map: the address pointer, notes §5.1 step 13 ----

// A mapping whose address cannot be delivered is destroyed, and with it the VMO reference.
static void check_map_to_bad_addr_pointer(zx_vaddr_t* mapped_addr) {
    int fds = open_fd_count();
    zx_handle_t vmo = make_vmo(2 * PAGE);
    uint64_t off = free_vmar_offset(2 * PAGE);
    ASSERT_STATUS(map(RW | ZX_VM_SPECIFIC, off, vmo, 0, 2 * PAGE, mapped_addr),
                  ZX_ERR_INVALID_ARGS);
    assert_unmapped((uint8_t*)(uintptr_t)(ROOT_VMAR_BASE + off));
    assert_unmapped((uint8_t*)(uintptr_t)(ROOT_VMAR_BASE + off + PAGE));
    ASSERT_STATUS(map(RW, 0, vmo, 0, 2 * PAGE, mapped_addr), ZX_ERR_INVALID_ARGS);
    // The range is free again, and the VMO dies with its handle.
    map_at(R, off, vmo, 0, 2 * PAGE);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), ROOT_VMAR_BASE + off, 2 * PAGE));
    ASSERT_OK(zx_handle_close(vmo));
    cr_assert_eq(open_fd_count(), fds, "a failed mapping kept the VMO alive");
}

// A new mapping that continues an old one (same VMO, next offset) and then fails on the address
// pointer is undone alone: the old mapping stays whole.
Test(vmar_host, map_to_bad_addr_pointer_next_to_a_mapping_undoes_only_the_new_one) {
    zx_handle_t vmo = patterned_vmo(3, 'a');
    uint64_t off = free_vmar_offset(3 * PAGE);
    uint8_t* p = map_at(R, off, vmo, 0, PAGE);
    map_at(R, off + 2 * PAGE, vmo, 2 * PAGE, PAGE);
    ASSERT_STATUS(map(R | ZX_VM_SPECIFIC, off + PAGE, vmo, PAGE, PAGE, BAD_PTR),
                  ZX_ERR_INVALID_ARGS);
    assert_page_is(p, 'a');
    assert_unmapped(p + PAGE);
    assert_page_is(p + 2 * PAGE, 'c');
}

Test(vmar_host, map_to_null_addr_pointer_gives_invalid_args_and_undoes_the_mapping) {
    check_map_to_bad_addr_pointer(NULL);
}

Test(vmar_host, map_to_unmapped_addr_pointer_gives_invalid_args_and_undoes_the_mapping) {
    check_map_to_bad_addr_pointer(BAD_PTR);
}

Test(vmar_host, map_to_readonly_addr_pointer_gives_invalid_args_and_undoes_the_mapping) {
    zx_vaddr_t* ro = readonly_page();
    check_map_to_bad_addr_pointer(ro);
    cr_assert_eq(*ro, 0u);
}

// ---- unmap: notes §5.2 ----

Test(vmar_host, unmap_checks_handle_then_type) {
    ASSERT_STATUS(zx_vmar_unmap(ZX_HANDLE_INVALID, ROOT_VMAR_BASE, PAGE), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmar_unmap(0x7ffffff3u, 1, 0), ZX_ERR_BAD_HANDLE);
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_STATUS(zx_vmar_unmap(vmo, ROOT_VMAR_BASE, PAGE), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmar_unmap(vmo, 1, 0), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmar_unmap(make_port(), 1, 0), ZX_ERR_WRONG_TYPE);
}

// notes §5.2 step 1: no rights are needed.
Test(vmar_host, unmap_needs_no_rights) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, PAGE, &addr));
    zx_handle_t none = dup_with(zx_vmar_root_self(), ZX_RIGHT_NONE);
    ASSERT_OK(zx_vmar_unmap(none, addr, PAGE));
    assert_unmapped((uint8_t*)addr);
}

Test(vmar_host, unmap_of_unaligned_addr_gives_invalid_args) {
    zx_handle_t vmo = patterned_vmo(1, 'u');
    zx_vaddr_t addr;
    ASSERT_OK(map(R, 0, vmo, 0, PAGE, &addr));
    ASSERT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr + 1, PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr + PAGE / 2, 1), ZX_ERR_INVALID_ARGS);
    // Before the length check.
    ASSERT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr + 1, 0), ZX_ERR_INVALID_ARGS);
    assert_page_is((uint8_t*)addr, 'u');
}

// notes §5.2 step 3: len 0, or a len that rounds up to 0, is INVALID_ARGS.
Test(vmar_host, unmap_of_zero_or_wrapping_len_gives_invalid_args) {
    zx_handle_t vmo = patterned_vmo(1, 'z');
    zx_vaddr_t addr;
    ASSERT_OK(map(R, 0, vmo, 0, PAGE, &addr));
    ASSERT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr, 0), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr, UINT64_MAX), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(zx_vmar_root_self(), addr, UINT64_MAX - PAGE + 2),
                  ZX_ERR_INVALID_ARGS);
    assert_page_is((uint8_t*)addr, 'z');
}

// notes §5.2 step 5: the whole range must lie inside the VMAR.
Test(vmar_host, unmap_outside_the_root_vmar_gives_invalid_args) {
    zx_handle_t root = zx_vmar_root_self();
    ASSERT_STATUS(zx_vmar_unmap(root, 0, PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, ROOT_VMAR_BASE - PAGE, PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, ROOT_VMAR_BASE - PAGE, 2 * PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, ROOT_VMAR_END, PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, ROOT_VMAR_END - PAGE, 2 * PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, ROOT_VMAR_BASE, ROOT_VMAR_SIZE + PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, 1ull << 47, PAGE), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmar_unmap(root, UINT64_MAX & ~(uint64_t)(PAGE - 1), PAGE),
                  ZX_ERR_INVALID_ARGS);
}

// notes §5.2 step 5: a range with nothing mapped in it is fine.
Test(vmar_host, unmap_of_empty_range_is_ok) {
    uint64_t off = free_vmar_offset(4 * PAGE);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), ROOT_VMAR_BASE + off, 4 * PAGE));
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), ROOT_VMAR_BASE, PAGE));
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), ROOT_VMAR_END - PAGE, PAGE));
    assert_unmapped((uint8_t*)(uintptr_t)(ROOT_VMAR_BASE + off));
}

Test(vmar_host, unmap_removes_the_mapping) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, 2 * PAGE, &addr));
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 2 * PAGE));
    assert_unmapped((uint8_t*)addr);
    assert_unmapped((uint8_t*)addr + PAGE);
    // A second unmap of the same range finds nothing, which is fine.
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), addr, 2 * PAGE));
}

// notes §5.2 step 3: len is rounded up to a page.
Test(vmar_host, unmap_rounds_len_up_to_a_page) {
    zx_handle_t vmo = patterned_vmo(3, 'a');
    uint64_t off = free_vmar_offset(3 * PAGE);
    uint8_t* p = map_at(R, off, vmo, 0, 3 * PAGE);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)p, 1));
    assert_unmapped(p);
    assert_page_is(p + PAGE, 'b');
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(p + PAGE), PAGE + 1));
    assert_unmapped(p + PAGE);
    assert_unmapped(p + 2 * PAGE);
}

// notes §5.2 step 5: a mapping partly covered is trimmed or split; the rest keeps working.
Test(vmar_host, partial_unmap_keeps_the_rest_accessible) {
    zx_handle_t vmo = patterned_vmo(5, 'a');
    uint64_t off = free_vmar_offset(5 * PAGE);
    uint8_t* p = map_at(RW, off, vmo, 0, 5 * PAGE);
    // A hole in the middle.
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(p + 2 * PAGE), PAGE));
    assert_page_is(p, 'a');
    assert_page_is(p + PAGE, 'b');
    assert_unmapped(p + 2 * PAGE);
    assert_page_is(p + 3 * PAGE, 'd');
    assert_page_is(p + 4 * PAGE, 'e');
    // Both halves still write to the VMO, at the right offsets.
    p[PAGE] = 'B';
    p[4 * PAGE] = 'E';
    char c;
    ASSERT_OK(zx_vmo_read(vmo, &c, PAGE, 1));
    cr_assert_eq(c, 'B');
    ASSERT_OK(zx_vmo_read(vmo, &c, 4 * PAGE, 1));
    cr_assert_eq(c, 'E');
    // Trim the front and the back, with ranges that stick out into free space.
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(p + PAGE), 2 * PAGE));
    assert_page_is(p, 'a');
    assert_unmapped(p + PAGE);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(p + 4 * PAGE), PAGE));
    assert_page_is(p + 3 * PAGE, 'd');
    assert_unmapped(p + 4 * PAGE);
    // The hole can be filled again with SPECIFIC.
    uint8_t* q = map_at(R, off + 2 * PAGE, vmo, 2 * PAGE, PAGE);
    assert_page_is(q, 'c');
}

// Neighbouring mappings of one VMO can still be unmapped one at a time.
Test(vmar_host, adjacent_mappings_unmap_independently) {
    zx_handle_t vmo = patterned_vmo(2, 'a');
    uint64_t off = free_vmar_offset(2 * PAGE);
    uint8_t* p = map_at(R, off, vmo, 0, PAGE);
    map_at(R, off + PAGE, vmo, PAGE, PAGE);
    assert_page_is(p, 'a');
    assert_page_is(p + PAGE, 'b');
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)p, PAGE));
    assert_unmapped(p);
    assert_page_is(p + PAGE, 'b');
}

Test(vmar_host, unmap_spanning_several_mappings_removes_them_all) {
    zx_handle_t a = patterned_vmo(1, 'a');
    zx_handle_t b = patterned_vmo(1, 'b');
    uint64_t off = free_vmar_offset(5 * PAGE);
    uint8_t* p = map_at(R, off + PAGE, a, 0, PAGE);
    map_at(R, off + 3 * PAGE, b, 0, PAGE);
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)(p - PAGE), 5 * PAGE));
    assert_unmapped(p);
    assert_unmapped(p + 2 * PAGE);
}

// zxhv: unmap only removes what zx_vmar_map made; other memory in the range is left alone.
Test(vmar_host, unmap_never_touches_foreign_memory) {
    zx_handle_t vmo = patterned_vmo(1, 'a');
    uint64_t off = free_vmar_offset(3 * PAGE);
    uint8_t* ours = map_at(R, off, vmo, 0, PAGE);
    uint8_t* foreign = foreign_at(off + PAGE, 2 * PAGE, 'f');
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)foreign, 2 * PAGE));
    assert_page_is(foreign, 'f');
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)ours, 3 * PAGE));
    assert_unmapped(ours);
    assert_page_is(foreign, 'f');
    assert_page_is(foreign + PAGE, 'f');
    foreign[0] = 'g';
}

// Even the whole root VMAR: the heap, the stack and the code survive; our mappings go.
Test(vmar_host, unmap_of_the_whole_root_vmar_removes_only_our_mappings) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_vaddr_t addr;
    ASSERT_OK(map(RW, 0, vmo, 0, PAGE, &addr));
    char* heap = malloc(64);
    cr_assert_not_null(heap);
    strcpy(heap, "heap");
    ASSERT_OK(zx_vmar_unmap(zx_vmar_root_self(), ROOT_VMAR_BASE, ROOT_VMAR_SIZE));
    assert_unmapped((uint8_t*)addr);
    cr_assert_str_eq(heap, "heap");
    free(heap);
    ASSERT_OK(map(R, 0, vmo, 0, PAGE, &addr));
}
