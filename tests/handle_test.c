// zxhv tests: zx_handle_close, zx_handle_duplicate and zx_handle_replace (spec §1.9; check order
// in notes §1; handle values in notes §0.2 and zxhv's ZX_HANDLE_FIXED_BITS_MASK).
#include "helpers.h"

// ---- values ----

// notes §0.2: values are odd and positive; zxhv also fixes bit 1 (as later Zircon does).
Test(handle, values_have_fixed_bits_set_and_bit_31_clear) {
    zx_handle_t root = root_resource();
    assert_handle_value_shape(root);
    assert_handle_value_shape(zx_vmar_root_self());
    assert_handle_value_shape(make_vmo(PAGE));
    assert_handle_value_shape(make_port());
    for (int i = 0; i < 2000; i++) {
        zx_handle_t d = dup_with(root, ZX_RIGHT_SAME_RIGHTS);
        assert_handle_value_shape(d);
        if (i % 2 == 0) ASSERT_OK(zx_handle_close(d));
    }
}

Test(handle, every_live_handle_has_a_distinct_value) {
    enum { N = 1000 };
    static zx_handle_t values[N];
    zx_handle_t root = root_resource();
    for (int i = 0; i < N; i++) {
        values[i] = dup_with(root, ZX_RIGHT_SAME_RIGHTS);
        cr_assert_neq(values[i], root);
        for (int j = 0; j < i; j++) cr_assert_neq(values[i], values[j], "value %#x twice", values[i]);
    }
}

// ---- close ----

// spec §1.9: closing ZX_HANDLE_INVALID is not an error.
Test(handle, close_invalid_handle_is_ok) { ASSERT_OK(zx_handle_close(ZX_HANDLE_INVALID)); }

Test(handle, close_makes_the_handle_invalid) {
    zx_handle_t port = make_port();
    assert_handle_valid(port);
    ASSERT_OK(zx_handle_close(port));
    assert_handle_closed(port);
}

Test(handle, close_twice_gives_bad_handle) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_handle_close(port));
    ASSERT_STATUS(zx_handle_close(port), ZX_ERR_BAD_HANDLE);
}

Test(handle, close_never_valid_values_gives_bad_handle) {
    static const zx_handle_t kValues[] = {1u, 2u, 3u, 0x7u, 0xffu, 0x12345u, 0x7fffffffu,
                                          0x80000000u, 0x80000003u, 0xfffffffeu, 0xffffffffu};
    for (size_t i = 0; i < sizeof(kValues) / sizeof(kValues[0]); i++) {
        ASSERT_STATUS(zx_handle_close(kValues[i]), ZX_ERR_BAD_HANDLE);
    }
}

// A value without the fixed bits can never name a handle, even one that differs from a live
// handle only in those bits; the live handle is left alone.
Test(handle, close_value_without_fixed_bits_gives_bad_handle) {
    zx_handle_t root = root_resource();  // so that the port's value is not just the fixed bits
    zx_handle_t port = make_port();
    cr_assert_neq(port & ~3u, 0u);
    ASSERT_STATUS(zx_handle_close(port & ~1u), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_handle_close(port & ~2u), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_handle_close(port & ~3u), ZX_ERR_BAD_HANDLE);
    assert_handle_valid(port);
    assert_handle_valid(root);
    ASSERT_OK(zx_handle_close(port));
}

// Bit 31 is clear in every value (notes §0.2: on Zircon a set bit 31 fails the slot check), so
// a value with it set names nothing, not the handle that has the other 31 bits.
Test(handle, close_value_with_bit_31_set_gives_bad_handle) {
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_handle_close(port | 0x80000000u), ZX_ERR_BAD_HANDLE);
    assert_handle_valid(port);
    zx_handle_t out;
    ASSERT_STATUS(zx_handle_duplicate(port | 0x80000000u, ZX_RIGHT_SAME_RIGHTS, &out),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_object_get_info(port | 0x80000000u, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                  ZX_ERR_BAD_HANDLE);
}

// notes §1: close needs no rights.
Test(handle, close_needs_no_rights) {
    zx_handle_t port = make_port();
    zx_handle_t none = dup_with(port, ZX_RIGHT_NONE);
    ASSERT_OK(zx_handle_close(none));
    assert_handle_closed(none);
    assert_handle_valid(port);
}

// Closing one handle leaves the object and its other handles alone; closing the last one
// destroys the object (for a VMO: its memfd is closed).
Test(handle, close_of_last_handle_destroys_the_object) {
    int fds = open_fd_count();
    zx_handle_t vmo = make_vmo(PAGE);
    cr_assert_eq(open_fd_count(), fds + 1);
    zx_handle_t dup = dup_with(vmo, ZX_RIGHT_SAME_RIGHTS);
    ASSERT_OK(zx_handle_close(vmo));
    cr_assert_eq(open_fd_count(), fds + 1, "the VMO went away while a handle remained");
    char byte = 1;
    ASSERT_OK(zx_vmo_read(dup, &byte, 0, 1));
    cr_assert_eq(byte, 0);
    ASSERT_OK(zx_handle_close(dup));
    cr_assert_eq(open_fd_count(), fds, "the VMO outlived its last handle");
}

// notes §0.2: a stale value fails the generation check, so once closed a value never reaches
// another object, however often its slot is reused.
Test(handle, closed_value_never_reaches_another_object_after_slot_reuse) {
    zx_handle_t root = root_resource();
    zx_handle_t port = make_port();
    zx_handle_t stale = port;
    ASSERT_OK(zx_handle_close(port));
    // Freed slots are reused, so cycling many handles reuses the stale value's slot many times.
    for (int i = 0; i < 5000; i++) {
        zx_handle_t h = dup_with(root, ZX_RIGHT_SAME_RIGHTS);
        cr_assert_neq(h, stale, "closed value %#x came back after %d handles", stale, i);
        assert_handle_closed(stale);
        ASSERT_OK(zx_handle_close(h));
    }
    // And while many handles are live at once (the table grows).
    for (int i = 0; i < 3000; i++) {
        zx_handle_t h = dup_with(root, ZX_RIGHT_SAME_RIGHTS);
        cr_assert_neq(h, stale);
    }
    assert_handle_closed(stale);
    ASSERT_STATUS(zx_handle_close(stale), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_port_queue(stale, &(zx_port_packet_t){0}), ZX_ERR_BAD_HANDLE);
}

// However full the table is (when it is nearly full the freed slot may be the next one
// reused), a closed value does not come back within 4096 reuses: Zircon's 12-bit generation
// (notes §0.2) guarantees that much.
Test(handle, closed_value_does_not_come_back_at_any_table_fill) {
    zx_handle_t root = root_resource();
    static const int kFill[] = {0, 200, 252, 253, 254, 255, 508, 1020, 1500};
    int open = 0;
    for (size_t f = 0; f < sizeof(kFill) / sizeof(kFill[0]); f++) {
        while (open < kFill[f]) {
            dup_with(root, ZX_RIGHT_SAME_RIGHTS);
            open++;
        }
        zx_handle_t stale = dup_with(root, ZX_RIGHT_SAME_RIGHTS);
        ASSERT_OK(zx_handle_close(stale));
        for (int i = 0; i < 4100; i++) {
            zx_handle_t h = dup_with(root, ZX_RIGHT_SAME_RIGHTS);
            if (h == stale) {
                cr_assert_fail("closed value %#x named a new handle after %d reuses (%d open)",
                               stale, i + 1, open);
            }
            ASSERT_OK(zx_handle_close(h));
        }
        assert_handle_closed(stale);
    }
}

// ---- duplicate ----

Test(handle, duplicate_with_same_rights_copies_rights_and_object) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_handle_t dup = dup_with(vmo, ZX_RIGHT_SAME_RIGHTS);
    cr_assert_neq(dup, vmo);
    zx_info_handle_basic_t a = handle_basic(vmo), b = handle_basic(dup);
    cr_assert_eq(b.rights, a.rights);
    cr_assert_eq(b.rights, ZX_DEFAULT_VMO_RIGHTS);
    cr_assert_eq(b.koid, a.koid);
    cr_assert_eq(b.type, ZX_OBJ_TYPE_VMO);
    // Both name the same object: a write through one is read through the other.
    ASSERT_OK(zx_vmo_write(vmo, "dup", 0, 3));
    char buf[3];
    ASSERT_OK(zx_vmo_read(dup, buf, 0, 3));
    cr_assert_arr_eq(buf, "dup", 3);
    assert_handle_valid(vmo);
}

Test(handle, duplicate_with_subset_gives_exactly_those_rights) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_rights_t subset = ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE | ZX_RIGHT_MAP;
    zx_handle_t dup = dup_with(vmo, subset);
    cr_assert_eq(handle_rights(dup), subset);
    cr_assert_eq(handle_rights(vmo), ZX_DEFAULT_VMO_RIGHTS, "the source's rights changed");
    // The duplicate is limited by its own rights.
    ASSERT_STATUS(zx_vmo_write(dup, "x", 0, 1), ZX_ERR_ACCESS_DENIED);
    // A duplicate of the duplicate can only narrow further.
    zx_handle_t dup2 = dup_with(dup, ZX_RIGHT_SAME_RIGHTS);
    cr_assert_eq(handle_rights(dup2), subset);
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_STATUS(zx_handle_duplicate(dup, subset | ZX_RIGHT_WRITE, &out), ZX_ERR_INVALID_ARGS);
}

// notes §1 step 3: rights 0 is a subset of anything.
Test(handle, duplicate_with_no_rights_is_allowed) {
    zx_handle_t port = make_port();
    zx_handle_t none = dup_with(port, ZX_RIGHT_NONE);
    cr_assert_eq(handle_rights(none), ZX_RIGHT_NONE);
    cr_assert_eq(handle_koid(none), handle_koid(port));
}

Test(handle, duplicate_with_rights_not_held_gives_invalid_args) {
    zx_handle_t port = make_port();
    size_t live = live_handles();
    zx_handle_t out = 0x5a5a5a5a;
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_DEFAULT_PORT_RIGHTS | ZX_RIGHT_MAP, &out),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_RIGHT_EXECUTE, &out), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(out, 0x5a5a5a5au, "out was written on failure");
    cr_assert_eq(live_handles(), live);
    assert_handle_valid(port);
    cr_assert_eq(handle_rights(port), ZX_DEFAULT_PORT_RIGHTS);
}

// notes §1 step 3: only exactly ZX_RIGHT_SAME_RIGHTS means "same rights"; combined with other
// bits it is an ordinary mask holding bit 31, which no handle has.
Test(handle, duplicate_with_same_rights_combined_gives_invalid_args) {
    zx_handle_t port = make_port();
    zx_handle_t out;
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS | ZX_RIGHT_READ, &out),
                  ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS | ZX_DEFAULT_PORT_RIGHTS, &out),
                  ZX_ERR_INVALID_ARGS);
    assert_handle_valid(port);
}

// spec §1.9: the source needs ZX_RIGHT_DUPLICATE.
Test(handle, duplicate_without_duplicate_right_gives_access_denied) {
    zx_handle_t port = make_port();
    zx_handle_t nodup = dup_with(port, ZX_DEFAULT_PORT_RIGHTS & ~ZX_RIGHT_DUPLICATE);
    zx_handle_t out = 0x5a5a5a5a;
    ASSERT_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_NONE, &out), ZX_ERR_ACCESS_DENIED);
    cr_assert_eq(out, 0x5a5a5a5au);
    assert_handle_valid(nodup);
}

// notes §1: lookup (BAD_HANDLE), then the DUPLICATE right (ACCESS_DENIED), then the rights
// subset (INVALID_ARGS), then the copy-out (INVALID_ARGS).
Test(handle, duplicate_checks_handle_then_right_then_rights_then_out) {
    zx_handle_t port = make_port();
    zx_handle_t nodup = dup_with(port, ZX_RIGHT_READ);
    ASSERT_STATUS(zx_handle_duplicate(0x7ffffff3u, ZX_RIGHT_MAP, NULL), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_handle_duplicate(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, NULL),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_MAP, NULL), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_RIGHT_MAP, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, NULL), ZX_ERR_INVALID_ARGS);
}

Test(handle, duplicate_of_closed_handle_gives_bad_handle) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_handle_close(port));
    zx_handle_t out;
    ASSERT_STATUS(zx_handle_duplicate(port, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_BAD_HANDLE);
}

// notes §0.3: an out pointer that cannot be written gives INVALID_ARGS and no handle survives.
static void check_duplicate_to_bad_out(zx_handle_t* out) {
    zx_handle_t vmo = make_vmo(PAGE);
    int fds = open_fd_count();
    size_t live = live_handles();
    ASSERT_STATUS(zx_handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS, out), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(live_handles(), live, "a handle leaked");
    assert_handle_valid(vmo);
    // Once the source is closed nothing refers to the VMO any more.
    ASSERT_OK(zx_handle_close(vmo));
    cr_assert_eq(open_fd_count(), fds - 1, "the VMO leaked through a lost duplicate");
}

Test(handle, duplicate_to_null_out_gives_invalid_args_and_leaks_nothing) {
    check_duplicate_to_bad_out(NULL);
}

Test(handle, duplicate_to_unmapped_out_gives_invalid_args_and_leaks_nothing) {
    check_duplicate_to_bad_out(BAD_PTR);
}

// Half of the value would fit before an inaccessible page.
Test(handle, duplicate_to_straddling_out_gives_invalid_args_and_leaks_nothing) {
    check_duplicate_to_bad_out((zx_handle_t*)guarded_buffer(2));
}

Test(handle, duplicate_to_readonly_out_gives_invalid_args_and_leaks_nothing) {
    zx_handle_t* ro = readonly_page();
    check_duplicate_to_bad_out(ro);
    cr_assert_eq(*ro, 0u);
}

// ---- replace ----

Test(handle, replace_with_same_rights_consumes_the_source) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_koid_t koid = handle_koid(vmo);
    size_t live = live_handles();
    zx_handle_t out = ZX_HANDLE_INVALID;
    ASSERT_OK(zx_handle_replace(vmo, ZX_RIGHT_SAME_RIGHTS, &out));
    cr_assert_neq(out, vmo, "replace reused the old value");
    assert_handle_value_shape(out);
    assert_handle_closed(vmo);
    cr_assert_eq(live_handles(), live);
    zx_info_handle_basic_t info = handle_basic(out);
    cr_assert_eq(info.koid, koid);
    cr_assert_eq(info.rights, ZX_DEFAULT_VMO_RIGHTS);
}

Test(handle, replace_with_subset_gives_exactly_those_rights) {
    zx_handle_t port = make_port();
    zx_handle_t out;
    ASSERT_OK(zx_handle_replace(port, ZX_RIGHT_READ | ZX_RIGHT_TRANSFER, &out));
    assert_handle_closed(port);
    cr_assert_eq(handle_rights(out), ZX_RIGHT_READ | ZX_RIGHT_TRANSFER);
    zx_handle_t none;
    ASSERT_OK(zx_handle_replace(out, ZX_RIGHT_NONE, &none));
    cr_assert_eq(handle_rights(none), ZX_RIGHT_NONE);
}

// notes §1 step 2: replace needs no rights at all (not even DUPLICATE).
Test(handle, replace_needs_no_rights) {
    zx_handle_t port = make_port();
    zx_handle_t none = dup_with(port, ZX_RIGHT_NONE);
    zx_handle_t out;
    ASSERT_OK(zx_handle_replace(none, ZX_RIGHT_SAME_RIGHTS, &out));
    assert_handle_closed(none);
    cr_assert_eq(handle_rights(out), ZX_RIGHT_NONE);
    cr_assert_eq(handle_koid(out), handle_koid(port));
}

// notes §1 step 3: replace closes the source even when the rights are not a subset.
Test(handle, replace_with_rights_not_held_consumes_the_handle) {
    int fds = open_fd_count();
    zx_handle_t vmo = make_vmo(PAGE);
    size_t live = live_handles();
    zx_handle_t out = 0x5a5a5a5a;
    ASSERT_STATUS(zx_handle_replace(vmo, ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_MANAGE_PROCESS, &out),
                  ZX_ERR_INVALID_ARGS);
    cr_assert_eq(out, 0x5a5a5a5au, "out was written on failure");
    assert_handle_closed(vmo);
    cr_assert_eq(live_handles(), live - 1);
    cr_assert_eq(open_fd_count(), fds, "the VMO survived its consumed last handle");
}

Test(handle, replace_with_same_rights_combined_consumes_the_handle) {
    zx_handle_t port = make_port();
    zx_handle_t out;
    ASSERT_STATUS(zx_handle_replace(port, ZX_RIGHT_SAME_RIGHTS | ZX_RIGHT_READ, &out),
                  ZX_ERR_INVALID_ARGS);
    assert_handle_closed(port);
}

// notes §1 step 1: a handle that is not found is not consumed (there is nothing to consume),
// and no other handle is touched.
Test(handle, replace_of_bad_handle_gives_bad_handle_and_consumes_nothing) {
    zx_handle_t port = make_port();
    size_t live = live_handles();
    zx_handle_t out = 0x5a5a5a5a;
    ASSERT_STATUS(zx_handle_replace(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, &out),
                  ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_handle_replace(port & ~3u, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_handle_replace(0x7ffffff3u, ZX_RIGHT_MAP, NULL), ZX_ERR_BAD_HANDLE);
    cr_assert_eq(out, 0x5a5a5a5au);
    cr_assert_eq(live_handles(), live);
    assert_handle_valid(port);
}

Test(handle, replace_of_closed_handle_gives_bad_handle) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_handle_close(port));
    zx_handle_t out;
    ASSERT_STATUS(zx_handle_replace(port, ZX_RIGHT_SAME_RIGHTS, &out), ZX_ERR_BAD_HANDLE);
}

// notes §0.3 and §1 step 5: the source is already gone when the copy-out fails, and the new
// handle is destroyed too, so both are lost; the object dies with them.
static void check_replace_to_bad_out(zx_handle_t* out) {
    int fds = open_fd_count();
    zx_handle_t vmo = make_vmo(PAGE);
    size_t live = live_handles();
    ASSERT_STATUS(zx_handle_replace(vmo, ZX_RIGHT_SAME_RIGHTS, out), ZX_ERR_INVALID_ARGS);
    assert_handle_closed(vmo);
    cr_assert_eq(live_handles(), live - 1, "a handle leaked");
    cr_assert_eq(open_fd_count(), fds, "the VMO leaked");
}

Test(handle, replace_to_null_out_loses_both_handles) { check_replace_to_bad_out(NULL); }

Test(handle, replace_to_unmapped_out_loses_both_handles) { check_replace_to_bad_out(BAD_PTR); }

Test(handle, replace_to_straddling_out_loses_both_handles) {
    check_replace_to_bad_out((zx_handle_t*)guarded_buffer(2));
}

Test(handle, replace_to_readonly_out_loses_both_handles) {
    zx_handle_t* ro = readonly_page();
    check_replace_to_bad_out(ro);
    cr_assert_eq(*ro, 0u);
}
