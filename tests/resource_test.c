// zxhv tests: zx_resource_create and zxhv_root_resource_get (spec §1.9; check order and the
// rules per kind in notes §3).
#include "helpers.h"

#include "object/resource.h"

// zxhv has no ZX_INFO_RESOURCE, so what Zircon reports there (kind, flags, base, size, name;
// notes §3) is read from the object itself.
static struct resource record_of(zx_handle_t h) {
    struct object* obj;
    ASSERT_OK(handle_get(h, ZX_OBJ_TYPE_RESOURCE, ZX_RIGHT_NONE, &obj, NULL));
    struct resource r = *to_resource(obj);
    object_unref(obj);
    return r;
}

static zx_status_t create(zx_handle_t parent, uint32_t options, uint64_t base, size_t size,
                          zx_handle_t* out) {
    return zx_resource_create(parent, options, base, size, "r", 1, out);
}

// Asserts that a child of |kind| with this range can (ok) or cannot (NOT_FOUND etc.) be made.
static void expect_create(uint32_t options, uint64_t base, size_t size, zx_status_t want) {
    zx_handle_t root = root_resource();
    zx_handle_t out = ZX_HANDLE_INVALID;
    zx_status_t got = create(root, options, base, size, &out);
    cr_assert_eq(got, want, "options %#x base %#lx size %#lx: got %s, want %s", options,
                 (unsigned long)base, (unsigned long)size, zx_status_get_string(got),
                 zx_status_get_string(want));
    if (got == ZX_OK) ASSERT_OK(zx_handle_close(out));
    ASSERT_OK(zx_handle_close(root));
}

// ---- the ROOT resource ----

Test(resource, root_resource_get_gives_a_root_resource_with_default_rights) {
    zx_handle_t root = root_resource();
    assert_handle_value_shape(root);
    zx_info_handle_basic_t info = handle_basic(root);
    cr_assert_eq(info.rights, 0x800bu, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_RESOURCE);
    cr_assert_eq(info.props, ZX_OBJ_PROP_WAITABLE);
    cr_assert_eq(record_of(root).kind, ZX_RSRC_KIND_ROOT);
}

Test(resource, root_resource_get_gives_a_new_handle_to_one_object_each_time) {
    zx_handle_t a = root_resource(), b = root_resource();
    cr_assert_neq(a, b);
    cr_assert_eq(handle_koid(a), handle_koid(b));
    ASSERT_OK(zx_handle_close(a));
    assert_handle_valid(b);
    zx_handle_t c = root_resource();
    cr_assert_eq(handle_koid(c), handle_koid(b));
}

static void check_root_get_to_bad_out(zx_handle_t* out) {
    zx_handle_t keep = root_resource();  // the first call may make the object itself
    size_t live = live_handles();
    ASSERT_STATUS(zxhv_root_resource_get(out), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(live_handles(), live, "a handle leaked");
    assert_handle_valid(keep);
}

Test(resource, root_resource_get_to_bad_out_gives_invalid_args_and_leaks_nothing) {
    check_root_get_to_bad_out(NULL);
    check_root_get_to_bad_out(BAD_PTR);
    zx_handle_t* ro = readonly_page();
    check_root_get_to_bad_out(ro);
    cr_assert_eq(*ro, 0u);
}

// ---- the parent: notes §3 steps 1-2 ----

Test(resource, create_with_bad_parent_gives_bad_handle) {
    zx_handle_t out;
    ASSERT_STATUS(create(ZX_HANDLE_INVALID, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out),
                  ZX_ERR_BAD_HANDLE);
    zx_handle_t root = root_resource();
    ASSERT_OK(zx_handle_close(root));
    ASSERT_STATUS(create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out), ZX_ERR_BAD_HANDLE);
    // The handle comes first: bad kind, bad range, bad name and bad out pointer all lose.
    ASSERT_STATUS(zx_resource_create(root, 0xffffffffu, 1, 1, BAD_PTR, 5, NULL),
                  ZX_ERR_BAD_HANDLE);
}

// notes §0.1: the rights are checked before the type.
Test(resource, create_with_parent_lacking_write_gives_access_denied) {
    zx_handle_t root = root_resource();
    zx_handle_t nowrite = dup_with(root, ZX_DEFAULT_RESOURCE_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t out;
    ASSERT_STATUS(create(nowrite, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_resource_create(nowrite, 0xffffffffu, 1, 1, BAD_PTR, 5, NULL),
                  ZX_ERR_ACCESS_DENIED);
    // Not a resource and no WRITE: the rights fail first.
    zx_handle_t vmo_ro = dup_with(make_vmo(PAGE), ZX_RIGHT_READ);
    ASSERT_STATUS(create(vmo_ro, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out), ZX_ERR_ACCESS_DENIED);
}

Test(resource, create_with_parent_not_a_resource_gives_wrong_type) {
    zx_handle_t out;
    ASSERT_STATUS(create(make_vmo(PAGE), ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out),
                  ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(create(make_port(), ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_resource_create(make_port(), 0xffffffffu, 1, 1, BAD_PTR, 5, NULL),
                  ZX_ERR_WRONG_TYPE);
}

// notes §3 step 2: only a ROOT parent can make resources; a HYPERVISOR one cannot.
Test(resource, hypervisor_resource_cannot_create_children) {
    zx_handle_t hv = make_resource(ZX_RSRC_KIND_HYPERVISOR, 0, 0);
    cr_assert_eq(handle_rights(hv) & ZX_RIGHT_WRITE, ZX_RIGHT_WRITE);
    zx_handle_t out = 0x5a5a5a5a;
    ASSERT_STATUS(create(hv, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(create(hv, ZX_RSRC_KIND_ROOT, 0, 0, &out), ZX_ERR_ACCESS_DENIED);
    // The parent's kind is checked before the options, the name and the out pointer.
    ASSERT_STATUS(zx_resource_create(hv, 0xffffffffu, 1, 1, BAD_PTR, 5, NULL),
                  ZX_ERR_ACCESS_DENIED);
    cr_assert_eq(out, 0x5a5a5a5au);
}

Test(resource, non_root_resources_cannot_create_children) {
    static const struct {
        uint32_t kind;
        uint64_t base;
        size_t size;
    } kKinds[] = {{ZX_RSRC_KIND_MMIO, 0xfec00000, 0x1000},
                  {ZX_RSRC_KIND_IRQ, 40, 1},
                  {ZX_RSRC_KIND_IOPORT, 0x60, 1},
                  {ZX_RSRC_KIND_VMEX, 0, 0}};
    for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); i++) {
        zx_handle_t parent = make_resource(kKinds[i].kind, kKinds[i].base, kKinds[i].size);
        zx_handle_t out;
        ASSERT_STATUS(create(parent, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &out), ZX_ERR_ACCESS_DENIED);
    }
}

// notes §3 step 5: ROOT children are full ROOT resources.
Test(resource, root_child_of_root_can_create_children) {
    zx_handle_t root2 = make_resource(ZX_RSRC_KIND_ROOT, 0, 0);
    cr_assert_neq(handle_koid(root2), handle_koid(root_resource()));
    zx_handle_t hv;
    ASSERT_OK(create(root2, ZX_RSRC_KIND_HYPERVISOR, 0, 0, &hv));
    cr_assert_eq(record_of(hv).kind, ZX_RSRC_KIND_HYPERVISOR);
}

// ---- options: notes §3 step 3 ----

Test(resource, create_with_unknown_kind_gives_invalid_args) {
    zx_handle_t root = root_resource();
    zx_handle_t out;
    static const uint32_t kBad[] = {ZX_RSRC_KIND_COUNT, 7, 0xffff,
                                    ZX_RSRC_KIND_COUNT | ZX_RSRC_FLAG_EXCLUSIVE};
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        ASSERT_STATUS(create(root, kBad[i], 0, 0, &out), ZX_ERR_INVALID_ARGS);
    }
}

Test(resource, create_with_unknown_flags_gives_invalid_args) {
    zx_handle_t root = root_resource();
    zx_handle_t out;
    static const uint32_t kBad[] = {0x20000, 0x80000000u, 0xfffe0000u,
                                    ZX_RSRC_FLAG_EXCLUSIVE | 0x40000};
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        ASSERT_STATUS(create(root, ZX_RSRC_KIND_HYPERVISOR | kBad[i], 0, 0, &out),
                      ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(create(root, ZX_RSRC_KIND_IOPORT | kBad[i], 0x60, 1, &out),
                      ZX_ERR_INVALID_ARGS);
    }
}

// The options come before the name: a bad kind with a bad name is INVALID_ARGS either way, but
// a bad kind with a range that would be NOT_FOUND gives INVALID_ARGS.
Test(resource, create_checks_options_before_the_range) {
    zx_handle_t root = root_resource();
    zx_handle_t out;
    ASSERT_STATUS(create(root, 0x20000 | ZX_RSRC_KIND_IOPORT, 0x10000, 1, &out),
                  ZX_ERR_INVALID_ARGS);
}

// ---- the name: notes §3 step 4 ----

Test(resource, create_with_empty_name_never_reads_the_name) {
    zx_handle_t root = root_resource();
    zx_handle_t out;
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, NULL, 0, &out));
    cr_assert_str_eq(record_of(out).name, "");
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, BAD_PTR, 0, &out));
    cr_assert_str_eq(record_of(out).name, "");
}

Test(resource, create_with_bad_name_gives_invalid_args) {
    zx_handle_t root = root_resource();
    zx_handle_t out = 0x5a5a5a5a;
    ASSERT_STATUS(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, NULL, 1, &out),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, BAD_PTR, 4, &out),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, noaccess_page(), 4, &out),
                  ZX_ERR_INVALID_ARGS);
    // The 31st byte is read, so a name that ends in an inaccessible page there is bad.
    char* name = guarded_buffer(30);
    memset(name, 'n', 30);
    ASSERT_STATUS(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, name, 31, &out),
                  ZX_ERR_INVALID_ARGS);
    cr_assert_eq(out, 0x5a5a5a5au);
}

// The name is read before the base and size are looked at.
Test(resource, create_checks_the_name_before_the_range) {
    zx_handle_t root = root_resource();
    zx_handle_t out;
    ASSERT_STATUS(zx_resource_create(root, ZX_RSRC_KIND_IOPORT, 0x10000, 1, BAD_PTR, 4, &out),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_resource_create(root, ZX_RSRC_KIND_MMIO, 1ull << 60, 4096, NULL, 4, &out),
                  ZX_ERR_INVALID_ARGS);
}

// notes §3 step 4: a name_size above 31 is not an error; only 31 bytes are read.
Test(resource, create_with_long_name_reads_only_31_bytes) {
    zx_handle_t root = root_resource();
    char* name = guarded_buffer(31);
    memcpy(name, "abcdefghijklmnopqrstuvwxyz01234", 31);
    zx_handle_t out;
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, name, 32, &out));
    cr_assert_str_eq(record_of(out).name, "abcdefghijklmnopqrstuvwxyz01234");
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, name, 1000000, &out));
    cr_assert_str_eq(record_of(out).name, "abcdefghijklmnopqrstuvwxyz01234");
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, name, SIZE_MAX, &out));
    cr_assert_eq(strlen(record_of(out).name), 31u);
}

// notes §3 step 4 (intended behaviour): the name is the first bytes up to name_size, cut at the
// first NUL, and never has stale bytes after them.
Test(resource, create_name_is_cut_at_name_size_and_first_nul) {
    zx_handle_t root = root_resource();
    zx_handle_t out;
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "hypervisor", 5, &out));
    cr_assert_str_eq(record_of(out).name, "hyper");
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "ab\0cd", 5, &out));
    cr_assert_str_eq(record_of(out).name, "ab");
    char exact[31];
    memset(exact, 'x', sizeof(exact));
    ASSERT_OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, exact, 31, &out));
    struct resource r = record_of(out);
    cr_assert_eq(strnlen(r.name, sizeof(r.name)), 31u);
    cr_assert_eq(r.name[31], '\0');
}

// ---- base and size per kind: notes §3 step 5 ----

Test(resource, abstract_kinds_need_zero_base_and_size) {
    static const uint32_t kKinds[] = {ZX_RSRC_KIND_ROOT, ZX_RSRC_KIND_HYPERVISOR,
                                      ZX_RSRC_KIND_VMEX};
    for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); i++) {
        expect_create(kKinds[i], 0, 0, ZX_OK);
        expect_create(kKinds[i], 1, 0, ZX_ERR_INVALID_ARGS);
        expect_create(kKinds[i], 0, 1, ZX_ERR_INVALID_ARGS);
        expect_create(kKinds[i], 0x1000, 0x1000, ZX_ERR_INVALID_ARGS);
        expect_create(kKinds[i] | ZX_RSRC_FLAG_EXCLUSIVE, 0, 0, ZX_OK);
    }
}

// notes §3: abstract resources have no range, so even exclusive ones never conflict.
Test(resource, exclusive_abstract_resources_never_conflict) {
    zx_handle_t a = make_resource(ZX_RSRC_KIND_HYPERVISOR | ZX_RSRC_FLAG_EXCLUSIVE, 0, 0);
    zx_handle_t b = make_resource(ZX_RSRC_KIND_HYPERVISOR | ZX_RSRC_FLAG_EXCLUSIVE, 0, 0);
    cr_assert_neq(handle_koid(a), handle_koid(b));
    make_resource(ZX_RSRC_KIND_HYPERVISOR, 0, 0);
}

Test(resource, ranged_kinds_need_nonzero_size) {
    expect_create(ZX_RSRC_KIND_MMIO, 0xfec00000, 0, ZX_ERR_INVALID_ARGS);
    expect_create(ZX_RSRC_KIND_IRQ, 40, 0, ZX_ERR_INVALID_ARGS);
    expect_create(ZX_RSRC_KIND_IOPORT, 0x60, 0, ZX_ERR_INVALID_ARGS);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x60, 0, ZX_ERR_INVALID_ARGS);
}

// notes §3: base + size overflowing is INVALID_ARGS, not NOT_FOUND.
Test(resource, ranged_kinds_with_overflowing_range_give_invalid_args) {
    expect_create(ZX_RSRC_KIND_MMIO, UINT64_MAX - 0xfff, 0x2000, ZX_ERR_INVALID_ARGS);
    expect_create(ZX_RSRC_KIND_IRQ, UINT64_MAX, 2, ZX_ERR_INVALID_ARGS);
    expect_create(ZX_RSRC_KIND_IOPORT, 0x60, SIZE_MAX, ZX_ERR_INVALID_ARGS);
}

// notes §3, x86 ranges: IOPORT [0, 0xffff), so port 0xffff itself can never be granted.
Test(resource, ioport_range_is_0_to_0xfffe) {
    expect_create(ZX_RSRC_KIND_IOPORT, 0, 1, ZX_OK);
    expect_create(ZX_RSRC_KIND_IOPORT, 0x3f8, 8, ZX_OK);
    expect_create(ZX_RSRC_KIND_IOPORT, 0, 0xffff, ZX_OK);
    expect_create(ZX_RSRC_KIND_IOPORT, 0xfffe, 1, ZX_OK);
    expect_create(ZX_RSRC_KIND_IOPORT, 0xffff, 1, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT, 0, 0x10000, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT, 0x10000, 1, ZX_ERR_NOT_FOUND);
}

// notes §3, x86 ranges: IRQ [32, 32 + 255).
Test(resource, irq_range_is_32_to_286) {
    expect_create(ZX_RSRC_KIND_IRQ, 32, 1, ZX_OK);
    expect_create(ZX_RSRC_KIND_IRQ, 32, 255, ZX_OK);
    expect_create(ZX_RSRC_KIND_IRQ, 286, 1, ZX_OK);
    expect_create(ZX_RSRC_KIND_IRQ, 31, 1, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IRQ, 0, 33, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IRQ, 32, 256, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IRQ, 287, 1, ZX_ERR_NOT_FOUND);
}

// notes §3, x86 ranges: MMIO below the physical address width; no x86 CPU has more than 52 bits.
Test(resource, mmio_outside_physical_address_space_gives_not_found) {
    expect_create(ZX_RSRC_KIND_MMIO, 0xfec00000, 0x1000, ZX_OK);
    expect_create(ZX_RSRC_KIND_MMIO, 1ull << 52, 0x1000, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_MMIO, 0xfec00000, 1ull << 52, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_MMIO, UINT64_MAX - 0x1fff, 0x1000, ZX_ERR_NOT_FOUND);
}

Test(resource, child_has_the_requested_kind_flags_and_range) {
    zx_handle_t io = make_resource(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x3f8, 8);
    struct resource r = record_of(io);
    cr_assert_eq(r.kind, ZX_RSRC_KIND_IOPORT);
    cr_assert_eq(r.flags, ZX_RSRC_FLAG_EXCLUSIVE);
    cr_assert_eq(r.range_base, 0x3f8u);
    cr_assert_eq(r.range_size, 8u);
    zx_handle_t hv = make_resource(ZX_RSRC_KIND_HYPERVISOR, 0, 0);
    r = record_of(hv);
    cr_assert_eq(r.kind, ZX_RSRC_KIND_HYPERVISOR);
    cr_assert_eq(r.flags, 0u);
}

// notes §3 step 6: a new object with the default resource rights, type RESOURCE, WAITABLE,
// related_koid 0 (children have no link to their parent).
Test(resource, child_has_default_rights_and_a_new_koid) {
    zx_handle_t root = root_resource();
    static const uint32_t kKinds[] = {ZX_RSRC_KIND_ROOT, ZX_RSRC_KIND_HYPERVISOR,
                                      ZX_RSRC_KIND_VMEX, ZX_RSRC_KIND_IOPORT};
    for (size_t i = 0; i < sizeof(kKinds) / sizeof(kKinds[0]); i++) {
        zx_handle_t child;
        uint64_t size = kKinds[i] == ZX_RSRC_KIND_IOPORT ? 1 : 0;
        uint64_t base = kKinds[i] == ZX_RSRC_KIND_IOPORT ? 0x80 : 0;
        ASSERT_OK(create(root, kKinds[i], base, size, &child));
        assert_handle_value_shape(child);
        zx_info_handle_basic_t info = handle_basic(child);
        cr_assert_eq(info.rights, 0x800bu, "rights %#x", info.rights);
        cr_assert_eq(info.type, ZX_OBJ_TYPE_RESOURCE);
        cr_assert_eq(info.props, ZX_OBJ_PROP_WAITABLE);
        cr_assert_eq(info.related_koid, 0u);
        cr_assert_neq(info.koid, handle_koid(root));
    }
}

// ---- exclusive ranges: notes §3 step 5 ----

Test(resource, exclusive_range_conflicts_with_any_overlap_of_its_kind) {
    zx_handle_t io = make_resource(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x100, 0x10);
    (void)io;
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x100, 0x10, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x108, 0x10, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0xf8, 0x9, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x10f, 1, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0, 0x1000, ZX_ERR_NOT_FOUND);
    // A shared request over an exclusive range fails too.
    expect_create(ZX_RSRC_KIND_IOPORT, 0x104, 1, ZX_ERR_NOT_FOUND);
    expect_create(ZX_RSRC_KIND_IOPORT, 0, 0xffff, ZX_ERR_NOT_FOUND);
}

Test(resource, exclusive_range_allows_neighbours_and_other_kinds) {
    make_resource(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x100, 0x10);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0xf0, 0x10, ZX_OK);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x110, 0x10, ZX_OK);
    expect_create(ZX_RSRC_KIND_IOPORT, 0x110, 1, ZX_OK);
    // The same numbers in another kind's space do not conflict.
    expect_create(ZX_RSRC_KIND_MMIO | ZX_RSRC_FLAG_EXCLUSIVE, 0x100, 0x10, ZX_OK);
    make_resource(ZX_RSRC_KIND_IRQ | ZX_RSRC_FLAG_EXCLUSIVE, 40, 4);
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 40, 4, ZX_OK);
    expect_create(ZX_RSRC_KIND_IRQ, 41, 1, ZX_ERR_NOT_FOUND);
}

// notes §3 step 5: an exclusive request fails over a live shared resource of the same kind;
// shared resources do not conflict with each other.
Test(resource, exclusive_range_conflicts_with_live_shared_resource) {
    zx_handle_t shared = make_resource(ZX_RSRC_KIND_MMIO, 0xfed00000, 0x1000);
    expect_create(ZX_RSRC_KIND_MMIO, 0xfed00000, 0x1000, ZX_OK);
    expect_create(ZX_RSRC_KIND_MMIO, 0xfecff000, 0x2000, ZX_OK);
    expect_create(ZX_RSRC_KIND_MMIO | ZX_RSRC_FLAG_EXCLUSIVE, 0xfed00800, 0x1000,
                  ZX_ERR_NOT_FOUND);
    ASSERT_OK(zx_handle_close(shared));
    expect_create(ZX_RSRC_KIND_MMIO | ZX_RSRC_FLAG_EXCLUSIVE, 0xfed00800, 0x1000, ZX_OK);
}

// The range is held while any handle to the resource is open, and given back with the last.
Test(resource, exclusive_range_is_released_with_the_last_handle) {
    zx_handle_t io = make_resource(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x200, 8);
    zx_handle_t dup = dup_with(io, ZX_RIGHT_SAME_RIGHTS);
    ASSERT_OK(zx_handle_close(io));
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x200, 8, ZX_ERR_NOT_FOUND);
    ASSERT_OK(zx_handle_close(dup));
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x200, 8, ZX_OK);
    // expect_create closed its resource again, so the range is free once more.
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x200, 8, ZX_OK);
}

// ---- the out pointer: notes §3 step 6 ----

static void check_create_to_bad_out(zx_handle_t* out) {
    zx_handle_t root = root_resource();
    size_t live = live_handles();
    ASSERT_STATUS(create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, out), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(create(root, ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x300, 8, out),
                  ZX_ERR_INVALID_ARGS);
    cr_assert_eq(live_handles(), live, "a handle leaked");
    // The exclusive range went back with the destroyed resource.
    expect_create(ZX_RSRC_KIND_IOPORT | ZX_RSRC_FLAG_EXCLUSIVE, 0x300, 8, ZX_OK);
}

Test(resource, create_to_null_out_gives_invalid_args_and_leaks_nothing) {
    check_create_to_bad_out(NULL);
}

Test(resource, create_to_unmapped_out_gives_invalid_args_and_leaks_nothing) {
    check_create_to_bad_out(BAD_PTR);
}

Test(resource, create_to_readonly_out_gives_invalid_args_and_leaks_nothing) {
    zx_handle_t* ro = readonly_page();
    check_create_to_bad_out(ro);
    cr_assert_eq(*ro, 0u);
}
