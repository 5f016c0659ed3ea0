// zxhv tests: zx_vmo_create, zx_vmo_read, zx_vmo_write, zx_vmo_get_size, zx_vmo_set_size
// (spec §1.9; check order in notes §4; zxhv caps sizes at INT64_MAX, the largest file size).
#include "helpers.h"

// The largest size zxhv accepts: the largest page-aligned value not above INT64_MAX.
#define MAX_VMO_SIZE ((uint64_t)INT64_MAX & ~(uint64_t)(PAGE - 1))

static uint64_t size_of(zx_handle_t vmo) {
    uint64_t size = 0x5a5a5a5a;
    ASSERT_OK(zx_vmo_get_size(vmo, &size));
    return size;
}

// ---- create ----

Test(vmo, create_gives_handle_with_default_rights) {
    zx_handle_t vmo = make_vmo(PAGE);
    assert_handle_value_shape(vmo);
    zx_info_handle_basic_t info = handle_basic(vmo);
    cr_assert_eq(info.rights, 0xd0ffu, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMO);
    cr_assert_eq(info.props, ZX_OBJ_PROP_WAITABLE);
    zx_handle_t fixed = make_vmo_opts(PAGE, ZX_VMO_NON_RESIZABLE);
    cr_assert_eq(handle_rights(fixed), 0xd0ffu);
}

// notes §4 create step 1: options are 0 or exactly ZX_VMO_NON_RESIZABLE.
Test(vmo, create_with_unknown_options_gives_invalid_args) {
    static const uint32_t kBad[] = {2, 3, 4, 0x100, 0x80000000u, 0xffffffffu};
    zx_handle_t out = 0x5a5a5a5a;
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        ASSERT_STATUS(zx_vmo_create(PAGE, kBad[i], &out), ZX_ERR_INVALID_ARGS);
        // The options come before the size and the out pointer.
        ASSERT_STATUS(zx_vmo_create(UINT64_MAX, kBad[i], &out), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_vmo_create(PAGE, kBad[i], NULL), ZX_ERR_INVALID_ARGS);
    }
    cr_assert_eq(out, 0x5a5a5a5au);
}

// notes §4 create step 3: the size is rounded up to whole pages; 0 is allowed.
Test(vmo, create_rounds_size_up_to_pages) {
    static const struct {
        uint64_t size, want;
    } kSizes[] = {{0, 0},
                  {1, PAGE},
                  {PAGE - 1, PAGE},
                  {PAGE, PAGE},
                  {PAGE + 1, 2 * PAGE},
                  {10 * PAGE - 7, 10 * PAGE},
                  {1ull << 40, 1ull << 40},
                  {(1ull << 40) + 1, (1ull << 40) + PAGE}};
    for (size_t i = 0; i < sizeof(kSizes) / sizeof(kSizes[0]); i++) {
        zx_handle_t vmo = make_vmo(kSizes[i].size);
        cr_assert_eq(size_of(vmo), kSizes[i].want, "size %#lx", (unsigned long)kSizes[i].size);
        ASSERT_OK(zx_handle_close(vmo));
        vmo = make_vmo_opts(kSizes[i].size, ZX_VMO_NON_RESIZABLE);
        cr_assert_eq(size_of(vmo), kSizes[i].want);
        ASSERT_OK(zx_handle_close(vmo));
    }
}

Test(vmo, create_of_zero_size_reads_and_writes_nothing) {
    zx_handle_t vmo = make_vmo(0);
    ASSERT_OK(zx_vmo_read(vmo, NULL, 0, 0));
    ASSERT_OK(zx_vmo_write(vmo, NULL, 0, 0));
    char c;
    ASSERT_STATUS(zx_vmo_read(vmo, &c, 0, 1), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_vmo_write(vmo, &c, 0, 1), ZX_ERR_OUT_OF_RANGE);
}

// Memory is committed lazily, so the largest size succeeds without using it.
Test(vmo, create_of_largest_size_succeeds) {
    zx_handle_t vmo = make_vmo(MAX_VMO_SIZE);
    cr_assert_eq(size_of(vmo), MAX_VMO_SIZE);
    ASSERT_OK(zx_vmo_write(vmo, "end", MAX_VMO_SIZE - 3, 3));
    char buf[4] = {0};
    ASSERT_OK(zx_vmo_read(vmo, buf, MAX_VMO_SIZE - 3, 3));
    cr_assert_str_eq(buf, "end");
    ASSERT_OK(zx_handle_close(vmo));
    make_vmo(MAX_VMO_SIZE - PAGE + 1);
}

// notes §4 create step 3 (wrap) and zxhv's limit: sizes whose rounded value exceeds INT64_MAX.
Test(vmo, create_too_large_gives_out_of_range) {
    static const uint64_t kBad[] = {MAX_VMO_SIZE + 1, (uint64_t)INT64_MAX, 1ull << 63,
                                    UINT64_MAX - PAGE, UINT64_MAX - PAGE + 1, UINT64_MAX};
    int fds = open_fd_count();
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        zx_handle_t out = 0x5a5a5a5a;
        ASSERT_STATUS(zx_vmo_create(kBad[i], 0, &out), ZX_ERR_OUT_OF_RANGE);
        ASSERT_STATUS(zx_vmo_create(kBad[i], ZX_VMO_NON_RESIZABLE, &out), ZX_ERR_OUT_OF_RANGE);
        cr_assert_eq(out, 0x5a5a5a5au);
    }
    cr_assert_eq(open_fd_count(), fds);
}

static void check_create_to_bad_out(zx_handle_t* out) {
    int fds = open_fd_count();
    size_t live = live_handles();
    ASSERT_STATUS(zx_vmo_create(PAGE, 0, out), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_create(PAGE, ZX_VMO_NON_RESIZABLE, out), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(live_handles(), live, "a handle leaked");
    cr_assert_eq(open_fd_count(), fds, "a VMO leaked");
}

Test(vmo, create_to_bad_out_gives_invalid_args_and_leaks_nothing) {
    check_create_to_bad_out(NULL);
    check_create_to_bad_out(BAD_PTR);
    zx_handle_t* ro = readonly_page();
    check_create_to_bad_out(ro);
    cr_assert_eq(*ro, 0u);
}

// ---- get_size ----

// notes §4: get_size needs no rights.
Test(vmo, get_size_needs_no_rights) {
    zx_handle_t none = dup_with(make_vmo(3 * PAGE), ZX_RIGHT_NONE);
    cr_assert_eq(size_of(none), 3 * PAGE);
}

Test(vmo, get_size_checks_handle_then_type_then_pointer) {
    uint64_t size = 7;
    ASSERT_STATUS(zx_vmo_get_size(ZX_HANDLE_INVALID, &size), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmo_get_size(0x7ffffff3u, NULL), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmo_get_size(make_port(), &size), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmo_get_size(make_port(), NULL), ZX_ERR_WRONG_TYPE);
    cr_assert_eq(size, 7u);
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_STATUS(zx_vmo_get_size(vmo, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_get_size(vmo, BAD_PTR), ZX_ERR_INVALID_ARGS);
    uint64_t* ro = readonly_page();
    ASSERT_STATUS(zx_vmo_get_size(vmo, ro), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(*ro, 0u);
}

// ---- read and write ----

Test(vmo, new_vmo_reads_as_zero) {
    zx_handle_t vmo = make_vmo(4 * PAGE);
    static unsigned char buf[4 * PAGE];
    memset(buf, 0xff, sizeof(buf));
    ASSERT_OK(zx_vmo_read(vmo, buf, 0, sizeof(buf)));
    for (size_t i = 0; i < sizeof(buf); i++) cr_assert_eq(buf[i], 0, "byte %zu", i);
}

Test(vmo, write_then_read_round_trips_across_pages) {
    zx_handle_t vmo = make_vmo(4 * PAGE);
    static unsigned char data[2 * PAGE + 100], back[sizeof(data)];
    for (size_t i = 0; i < sizeof(data); i++) data[i] = (unsigned char)(i * 7 + 1);
    ASSERT_OK(zx_vmo_write(vmo, data, PAGE - 50, sizeof(data)));
    ASSERT_OK(zx_vmo_read(vmo, back, PAGE - 50, sizeof(back)));
    cr_assert_arr_eq(back, data, sizeof(data));
    // Bytes around the written range are untouched.
    unsigned char edge[2];
    ASSERT_OK(zx_vmo_read(vmo, &edge[0], PAGE - 51, 1));
    ASSERT_OK(zx_vmo_read(vmo, &edge[1], PAGE - 50 + sizeof(data), 1));
    cr_assert_eq(edge[0], 0);
    cr_assert_eq(edge[1], 0);
    // The last byte of the VMO can be written and read.
    ASSERT_OK(zx_vmo_write(vmo, "z", 4 * PAGE - 1, 1));
    char z = 0;
    ASSERT_OK(zx_vmo_read(vmo, &z, 4 * PAGE - 1, 1));
    cr_assert_eq(z, 'z');
}

// A read-only buffer is a fine source for a write (the write only reads it).
Test(vmo, write_from_readonly_buffer_is_ok) {
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_OK(zx_vmo_write(vmo, readonly_page(), 0, PAGE));
}

Test(vmo, read_and_write_check_the_handle) {
    char buf[8];
    ASSERT_STATUS(zx_vmo_read(ZX_HANDLE_INVALID, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmo_write(ZX_HANDLE_INVALID, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_OK(zx_handle_close(vmo));
    ASSERT_STATUS(zx_vmo_read(vmo, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmo_write(vmo, buf, 0, 1), ZX_ERR_BAD_HANDLE);
    // The handle comes before the buffer and the range.
    ASSERT_STATUS(zx_vmo_read(vmo, NULL, UINT64_MAX, 10), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_vmo_write(vmo, NULL, UINT64_MAX, 10), ZX_ERR_BAD_HANDLE);
}

// notes §4: read needs READ, write needs WRITE; rights are checked before the type (notes §0.1).
Test(vmo, read_needs_read_right) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t wo = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    char buf[1];
    ASSERT_STATUS(zx_vmo_read(wo, buf, 0, 1), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vmo_read(wo, NULL, UINT64_MAX, 10), ZX_ERR_ACCESS_DENIED);
    ASSERT_OK(zx_vmo_write(wo, "w", 0, 1));
    // A port has READ, so it fails on the type; a resource has no READ, so it fails on rights.
    ASSERT_STATUS(zx_vmo_read(make_port(), buf, 0, 1), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmo_read(root_resource(), buf, 0, 1), ZX_ERR_ACCESS_DENIED);
}

Test(vmo, write_needs_write_right) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t ro = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    ASSERT_STATUS(zx_vmo_write(ro, "x", 0, 1), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vmo_write(ro, NULL, UINT64_MAX, 10), ZX_ERR_ACCESS_DENIED);
    char c = 1;
    ASSERT_OK(zx_vmo_read(ro, &c, 0, 1));
    cr_assert_eq(c, 0, "the denied write changed the VMO");
    // A port and a resource both have WRITE, so they fail on the type.
    ASSERT_STATUS(zx_vmo_write(make_port(), "x", 0, 1), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmo_write(root_resource(), "x", 0, 1), ZX_ERR_WRONG_TYPE);
    zx_handle_t port_ro = dup_with(make_port(), ZX_RIGHT_READ);
    ASSERT_STATUS(zx_vmo_write(port_ro, "x", 0, 1), ZX_ERR_ACCESS_DENIED);
}

// notes §4 ReadWriteInternal: offset + len beyond the size, or overflowing, is OUT_OF_RANGE.
Test(vmo, read_and_write_beyond_the_end_give_out_of_range) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    static char buf[3 * PAGE];
    static const struct {
        uint64_t offset;
        size_t len;
    } kBad[] = {{0, 2 * PAGE + 1},         {2 * PAGE, 1},       {2 * PAGE - 1, 2},
                {PAGE, PAGE + 1},          {3 * PAGE, 1},       {UINT64_MAX, 1},
                {UINT64_MAX - 1, 2},       {UINT64_MAX, 2},     {1ull << 63, PAGE},
                {2 * PAGE, 3 * PAGE}};
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        ASSERT_STATUS(zx_vmo_read(vmo, buf, kBad[i].offset, kBad[i].len), ZX_ERR_OUT_OF_RANGE);
        ASSERT_STATUS(zx_vmo_write(vmo, buf, kBad[i].offset, kBad[i].len), ZX_ERR_OUT_OF_RANGE);
    }
}

// notes §4: len 0 is fine at any offset up to the size, OUT_OF_RANGE past it.
Test(vmo, zero_length_read_and_write_check_only_the_offset) {
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_OK(zx_vmo_read(vmo, NULL, 0, 0));
    ASSERT_OK(zx_vmo_read(vmo, NULL, PAGE, 0));
    ASSERT_OK(zx_vmo_write(vmo, NULL, PAGE, 0));
    ASSERT_OK(zx_vmo_write(vmo, BAD_PTR, 17, 0));
    ASSERT_STATUS(zx_vmo_read(vmo, NULL, PAGE + 1, 0), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_vmo_write(vmo, NULL, UINT64_MAX, 0), ZX_ERR_OUT_OF_RANGE);
}

// notes §4 read/write step 2: a bad buffer gives INVALID_ARGS.
Test(vmo, read_into_bad_buffer_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    ASSERT_OK(zx_vmo_write(vmo, "keep", 0, 4));
    ASSERT_STATUS(zx_vmo_read(vmo, NULL, 0, 4), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_read(vmo, BAD_PTR, 0, 4), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_read(vmo, readonly_page(), 0, 4), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_read(vmo, noaccess_page(), 0, PAGE), ZX_ERR_INVALID_ARGS);
    // A buffer whose last byte is inaccessible.
    ASSERT_STATUS(zx_vmo_read(vmo, guarded_buffer(PAGE + 10), 0, PAGE + 11), ZX_ERR_INVALID_ARGS);
    // The VMO is unchanged.
    char buf[4];
    ASSERT_OK(zx_vmo_read(vmo, buf, 0, 4));
    cr_assert_arr_eq(buf, "keep", 4);
}

Test(vmo, write_from_bad_buffer_gives_invalid_args) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    ASSERT_STATUS(zx_vmo_write(vmo, NULL, 0, 4), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_write(vmo, BAD_PTR, 0, 4), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_write(vmo, noaccess_page(), 0, 4), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_write(vmo, guarded_buffer(PAGE + 10), 0, PAGE + 11), ZX_ERR_INVALID_ARGS);
}

// notes §4 read/write step 2: the buffer is touched before the range is checked, so a bad
// buffer gives INVALID_ARGS even when the range is also bad.
Test(vmo, bad_buffer_takes_precedence_over_out_of_range) {
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_STATUS(zx_vmo_read(vmo, NULL, 0, PAGE + 1), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_read(vmo, BAD_PTR, PAGE, 1), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_read(vmo, readonly_page(), UINT64_MAX, 2), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_read(vmo, guarded_buffer(PAGE), 0, PAGE + 1), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_write(vmo, NULL, 0, PAGE + 1), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_write(vmo, noaccess_page(), UINT64_MAX, 2), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_vmo_write(vmo, guarded_buffer(PAGE), 0, PAGE + 1), ZX_ERR_INVALID_ARGS);
    // A good buffer with a bad range is OUT_OF_RANGE, and a read-only one is good for write.
    ASSERT_STATUS(zx_vmo_write(vmo, readonly_page(), PAGE, 1), ZX_ERR_OUT_OF_RANGE);
}

// ---- set_size ----

Test(vmo, set_size_rounds_up_to_pages) {
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_OK(zx_vmo_set_size(vmo, 5 * PAGE + 1));
    cr_assert_eq(size_of(vmo), 6 * PAGE);
    ASSERT_OK(zx_vmo_set_size(vmo, 1));
    cr_assert_eq(size_of(vmo), PAGE);
    ASSERT_OK(zx_vmo_set_size(vmo, 0));
    cr_assert_eq(size_of(vmo), 0u);
    ASSERT_OK(zx_vmo_set_size(vmo, MAX_VMO_SIZE));
    cr_assert_eq(size_of(vmo), MAX_VMO_SIZE);
}

// notes §4 set_size step 3: grown pages read as zero, and so do pages shrunk away and regrown.
Test(vmo, set_size_grow_reads_zero_and_keeps_data) {
    zx_handle_t vmo = make_vmo(2 * PAGE);
    static unsigned char ones[2 * PAGE], buf[4 * PAGE];
    memset(ones, 1, sizeof(ones));
    ASSERT_OK(zx_vmo_write(vmo, ones, 0, sizeof(ones)));
    ASSERT_OK(zx_vmo_set_size(vmo, PAGE));
    ASSERT_STATUS(zx_vmo_read(vmo, buf, PAGE, 1), ZX_ERR_OUT_OF_RANGE);
    ASSERT_OK(zx_vmo_set_size(vmo, 4 * PAGE));
    ASSERT_OK(zx_vmo_read(vmo, buf, 0, sizeof(buf)));
    for (size_t i = 0; i < PAGE; i++) cr_assert_eq(buf[i], 1, "kept byte %zu changed", i);
    for (size_t i = PAGE; i < sizeof(buf); i++) cr_assert_eq(buf[i], 0, "grown byte %zu", i);
}

// notes §4 set_size step 1: a non-resizable VMO gives UNAVAILABLE before the size is looked at.
Test(vmo, set_size_of_non_resizable_gives_unavailable) {
    zx_handle_t vmo = make_vmo_opts(PAGE, ZX_VMO_NON_RESIZABLE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, 2 * PAGE), ZX_ERR_UNAVAILABLE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, PAGE), ZX_ERR_UNAVAILABLE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, 0), ZX_ERR_UNAVAILABLE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, UINT64_MAX), ZX_ERR_UNAVAILABLE);
    cr_assert_eq(size_of(vmo), PAGE);
}

Test(vmo, set_size_too_large_gives_out_of_range) {
    zx_handle_t vmo = make_vmo(PAGE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, MAX_VMO_SIZE + 1), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, 1ull << 63), ZX_ERR_OUT_OF_RANGE);
    ASSERT_STATUS(zx_vmo_set_size(vmo, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    cr_assert_eq(size_of(vmo), PAGE);
}

// notes §4: set_size needs WRITE (checked before the type and before resizability).
Test(vmo, set_size_checks_handle_then_rights_then_type) {
    ASSERT_STATUS(zx_vmo_set_size(ZX_HANDLE_INVALID, PAGE), ZX_ERR_BAD_HANDLE);
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t ro = dup_with(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    ASSERT_STATUS(zx_vmo_set_size(ro, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_vmo_set_size(ro, UINT64_MAX), ZX_ERR_ACCESS_DENIED);
    zx_handle_t fixed_ro = dup_with(make_vmo_opts(PAGE, ZX_VMO_NON_RESIZABLE), ZX_RIGHT_READ);
    ASSERT_STATUS(zx_vmo_set_size(fixed_ro, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
    cr_assert_eq(size_of(vmo), PAGE);
    ASSERT_STATUS(zx_vmo_set_size(make_port(), PAGE), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_vmo_set_size(dup_with(make_port(), ZX_RIGHT_READ), PAGE),
                  ZX_ERR_ACCESS_DENIED);
}

// The size is the object's: every handle sees a resize.
Test(vmo, set_size_is_seen_through_every_handle) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t dup = dup_with(vmo, ZX_RIGHT_READ);
    ASSERT_OK(zx_vmo_set_size(vmo, 3 * PAGE));
    cr_assert_eq(size_of(dup), 3 * PAGE);
    char c;
    ASSERT_OK(zx_vmo_read(dup, &c, 3 * PAGE - 1, 1));
}
