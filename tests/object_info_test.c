// zxhv tests: zx_object_get_info with ZX_INFO_HANDLE_VALID and ZX_INFO_HANDLE_BASIC (spec §1.9;
// check order and record rules in notes §2).
#include "helpers.h"

#define SENTINEL ((size_t)0x5a5a5a5a5a5a5a5aull)

static zx_status_t get_basic(zx_handle_t h, void* buffer, size_t size, size_t* actual,
                             size_t* avail) {
    return zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, buffer, size, actual, avail);
}

// ---- topics ----

// notes §2: the topic is checked before the handle, so an unknown one wins over a bad handle.
Test(object_info, unknown_topic_gives_not_supported_even_with_bad_handle) {
    static const uint32_t kTopics[] = {ZX_INFO_NONE, 5, 6, ZX_INFO_LAST, 23, 1000, 0x80000000u,
                                       UINT32_MAX};
    zx_handle_t port = make_port();
    zx_info_handle_basic_t info;
    for (size_t i = 0; i < sizeof(kTopics) / sizeof(kTopics[0]); i++) {
        ASSERT_STATUS(zx_object_get_info(port, kTopics[i], &info, sizeof(info), NULL, NULL),
                      ZX_ERR_NOT_SUPPORTED);
        ASSERT_STATUS(zx_object_get_info(ZX_HANDLE_INVALID, kTopics[i], NULL, 0, NULL, NULL),
                      ZX_ERR_NOT_SUPPORTED);
        ASSERT_STATUS(zx_object_get_info(0x7ffffff3u, kTopics[i], BAD_PTR, 1000, BAD_PTR, BAD_PTR),
                      ZX_ERR_NOT_SUPPORTED);
    }
}

// ---- ZX_INFO_HANDLE_VALID ----

Test(object_info, handle_valid_is_ok_for_live_handles_of_every_type) {
    zx_handle_t handles[] = {make_vmo(PAGE), make_port(), root_resource(), zx_vmar_root_self()};
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        ASSERT_OK(zx_object_get_info(handles[i], ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL));
    }
}

Test(object_info, handle_valid_gives_bad_handle_for_invalid_closed_and_made_up_values) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_handle_close(port));
    static const zx_handle_t kBad[] = {ZX_HANDLE_INVALID, 1u, 0x7ffffff3u, 0xffffffffu};
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        ASSERT_STATUS(zx_object_get_info(kBad[i], ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                      ZX_ERR_BAD_HANDLE);
    }
    ASSERT_STATUS(zx_object_get_info(port, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                  ZX_ERR_BAD_HANDLE);
}

// notes §2: HANDLE_VALID needs no rights.
Test(object_info, handle_valid_needs_no_rights) {
    zx_handle_t none = dup_with(make_port(), ZX_RIGHT_NONE);
    ASSERT_OK(zx_object_get_info(none, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL));
}

// notes §2: buffer, actual and avail are ignored: never read or written, even when bad.
Test(object_info, handle_valid_ignores_buffer_actual_and_avail) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_object_get_info(port, ZX_INFO_HANDLE_VALID, BAD_PTR, 4096, BAD_PTR, BAD_PTR));
    char* ro = readonly_page();
    ASSERT_OK(zx_object_get_info(port, ZX_INFO_HANDLE_VALID, ro, 64, (size_t*)ro,
                                 (size_t*)(ro + 8)));
    char buf[64];
    memset(buf, 0x5a, sizeof(buf));
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_OK(zx_object_get_info(port, ZX_INFO_HANDLE_VALID, buf, sizeof(buf), &actual, &avail));
    cr_assert_eq(actual, SENTINEL);
    cr_assert_eq(avail, SENTINEL);
    for (size_t i = 0; i < sizeof(buf); i++) cr_assert_eq(buf[i], 0x5a);
    ASSERT_STATUS(zx_object_get_info(0x7ffffff3u, ZX_INFO_HANDLE_VALID, BAD_PTR, 64, BAD_PTR,
                                     BAD_PTR),
                  ZX_ERR_BAD_HANDLE);
}

// ---- ZX_INFO_HANDLE_BASIC: contents ----

Test(object_info, handle_basic_describes_a_vmo) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_info_handle_basic_t info;
    memset(&info, 0xa5, sizeof(info));
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_OK(get_basic(vmo, &info, sizeof(info), &actual, &avail));
    cr_assert_eq(actual, 1u);
    cr_assert_eq(avail, 1u);
    cr_assert_neq(info.koid, ZX_KOID_INVALID);
    cr_assert_neq(info.koid, ZX_KOID_KERNEL);
    cr_assert_eq(info.rights, ZX_DEFAULT_VMO_RIGHTS, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMO);
    cr_assert_eq(info.related_koid, 0u);
    cr_assert_eq(info.props, ZX_OBJ_PROP_WAITABLE);
}

Test(object_info, handle_basic_describes_a_port) {
    zx_info_handle_basic_t info = handle_basic(make_port());
    cr_assert_neq(info.koid, ZX_KOID_INVALID);
    cr_assert_eq(info.rights, ZX_DEFAULT_PORT_RIGHTS, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_PORT);
    cr_assert_eq(info.related_koid, 0u);
    cr_assert_eq(info.props, ZX_OBJ_PROP_NONE);
}

// notes §2: resources are waitable (resource_dispatcher.h has a state tracker).
Test(object_info, handle_basic_describes_a_resource) {
    zx_info_handle_basic_t info = handle_basic(root_resource());
    cr_assert_neq(info.koid, ZX_KOID_INVALID);
    cr_assert_eq(info.rights, ZX_DEFAULT_RESOURCE_RIGHTS, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_RESOURCE);
    cr_assert_eq(info.related_koid, 0u);
    cr_assert_eq(info.props, ZX_OBJ_PROP_WAITABLE);
}

Test(object_info, handle_basic_describes_the_root_vmar) {
    zx_info_handle_basic_t info = handle_basic(zx_vmar_root_self());
    cr_assert_neq(info.koid, ZX_KOID_INVALID);
    cr_assert_eq(info.rights, ROOT_VMAR_RIGHTS, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMAR);
    cr_assert_eq(info.related_koid, 0u);
    cr_assert_eq(info.props, ZX_OBJ_PROP_NONE);
}

// notes §0.4: one koid per object, never shared with another object.
Test(object_info, koids_are_unique_per_object) {
    enum { N = 64 };
    zx_koid_t koids[N];
    zx_handle_t root = root_resource();
    for (int i = 0; i < N; i++) {
        zx_handle_t h;
        switch (i % 4) {
            case 0: h = make_vmo(0); break;
            case 1: h = make_port(); break;
            case 2: h = make_resource(ZX_RSRC_KIND_HYPERVISOR, 0, 0); break;
            default: h = i == 3 ? zx_vmar_root_self() : make_port(); break;
        }
        koids[i] = handle_koid(h);
        cr_assert_neq(koids[i], ZX_KOID_INVALID);
        cr_assert_neq(koids[i], handle_koid(root));
        for (int j = 0; j < i; j++) cr_assert_neq(koids[i], koids[j], "koid %lu twice", (unsigned long)koids[i]);
    }
}

// notes §0.4: koids are never reused, even after the object is gone.
Test(object_info, koids_are_not_reused_after_an_object_dies) {
    zx_handle_t port = make_port();
    zx_koid_t old = handle_koid(port);
    ASSERT_OK(zx_handle_close(port));
    for (int i = 0; i < 100; i++) {
        zx_handle_t p = make_port();
        cr_assert_neq(handle_koid(p), old);
        ASSERT_OK(zx_handle_close(p));
    }
}

// The koid belongs to the object: duplicates and replacements report the same one; the rights
// are the handle's own.
Test(object_info, koid_is_stable_across_duplicates_and_replace) {
    zx_handle_t vmo = make_vmo(PAGE);
    zx_koid_t koid = handle_koid(vmo);
    zx_handle_t dup = dup_with(vmo, ZX_RIGHT_READ);
    zx_info_handle_basic_t info = handle_basic(dup);
    cr_assert_eq(info.koid, koid);
    cr_assert_eq(info.rights, ZX_RIGHT_READ);
    cr_assert_eq(handle_koid(vmo), koid, "the koid changed between calls");
    zx_handle_t replaced;
    ASSERT_OK(zx_handle_replace(dup, ZX_RIGHT_NONE, &replaced));
    info = handle_basic(replaced);
    cr_assert_eq(info.koid, koid);
    cr_assert_eq(info.rights, ZX_RIGHT_NONE);
    cr_assert_eq(handle_koid(root_resource()), handle_koid(root_resource()),
                 "two handles to the ROOT resource name different objects");
    cr_assert_eq(handle_koid(zx_vmar_root_self()), handle_koid(zx_vmar_root_self()));
}

// notes §2: HANDLE_BASIC needs no rights.
Test(object_info, handle_basic_needs_no_rights) {
    zx_handle_t none = dup_with(make_vmo(PAGE), ZX_RIGHT_NONE);
    zx_info_handle_basic_t info = handle_basic(none);
    cr_assert_eq(info.rights, ZX_RIGHT_NONE);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_VMO);
}

// ---- ZX_INFO_HANDLE_BASIC: errors, in the order of notes §2 ----

Test(object_info, handle_basic_of_bad_handle_gives_bad_handle_before_buffer_checks) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_handle_close(port));
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_STATUS(get_basic(port, NULL, 32, &actual, &avail), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(get_basic(ZX_HANDLE_INVALID, BAD_PTR, 32, BAD_PTR, BAD_PTR), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(get_basic(0x7ffffff3u, NULL, 0, NULL, NULL), ZX_ERR_BAD_HANDLE);
    cr_assert_eq(actual, SENTINEL);
    cr_assert_eq(avail, SENTINEL);
}

// notes §2 single_record_result: a buffer smaller than the record is not touched; actual 0 and
// avail 1 are still written, then BUFFER_TOO_SMALL.
Test(object_info, handle_basic_with_small_buffer_gives_buffer_too_small) {
    zx_handle_t port = make_port();
    unsigned char buf[sizeof(zx_info_handle_basic_t)];
    for (size_t size = 0; size < sizeof(buf); size += 7) {
        memset(buf, 0x5a, sizeof(buf));
        size_t actual = SENTINEL, avail = SENTINEL;
        ASSERT_STATUS(get_basic(port, buf, size, &actual, &avail), ZX_ERR_BUFFER_TOO_SMALL);
        cr_assert_eq(actual, 0u, "size %zu", size);
        cr_assert_eq(avail, 1u, "size %zu", size);
        for (size_t i = 0; i < sizeof(buf); i++) cr_assert_eq(buf[i], 0x5a, "buffer written");
    }
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_STATUS(get_basic(port, buf, sizeof(buf) - 1, &actual, &avail), ZX_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(actual, 0u);
    cr_assert_eq(avail, 1u);
}

// A buffer too small to be used is never looked at, so it may be NULL or bad.
Test(object_info, handle_basic_with_small_bad_buffer_gives_buffer_too_small) {
    zx_handle_t port = make_port();
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_STATUS(get_basic(port, NULL, 0, &actual, &avail), ZX_ERR_BUFFER_TOO_SMALL);
    cr_assert_eq(actual, 0u);
    cr_assert_eq(avail, 1u);
    ASSERT_STATUS(get_basic(port, BAD_PTR, sizeof(zx_info_handle_basic_t) - 1, NULL, NULL),
                  ZX_ERR_BUFFER_TOO_SMALL);
    ASSERT_STATUS(get_basic(port, NULL, 16, NULL, NULL), ZX_ERR_BUFFER_TOO_SMALL);
}

Test(object_info, handle_basic_with_larger_buffer_writes_one_record) {
    zx_handle_t port = make_port();
    unsigned char buf[100];
    memset(buf, 0x5a, sizeof(buf));
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_OK(get_basic(port, buf, sizeof(buf), &actual, &avail));
    cr_assert_eq(actual, 1u);
    cr_assert_eq(avail, 1u);
    zx_info_handle_basic_t info;
    memcpy(&info, buf, sizeof(info));
    cr_assert_eq(info.type, ZX_OBJ_TYPE_PORT);
    for (size_t i = sizeof(info); i < sizeof(buf); i++) {
        cr_assert_eq(buf[i], 0x5a, "byte %zu past the record was written", i);
    }
}

// notes §2: NULL actual and avail are allowed; they are just skipped.
Test(object_info, handle_basic_allows_null_actual_and_avail) {
    zx_handle_t port = make_port();
    zx_info_handle_basic_t info;
    size_t actual = SENTINEL, avail = SENTINEL;
    ASSERT_OK(get_basic(port, &info, sizeof(info), NULL, NULL));
    ASSERT_OK(get_basic(port, &info, sizeof(info), &actual, NULL));
    cr_assert_eq(actual, 1u);
    ASSERT_OK(get_basic(port, &info, sizeof(info), NULL, &avail));
    cr_assert_eq(avail, 1u);
    ASSERT_STATUS(get_basic(port, &info, 8, NULL, NULL), ZX_ERR_BUFFER_TOO_SMALL);
}

// notes §2 step 1: a big enough buffer that cannot be written gives INVALID_ARGS, and actual and
// avail are not written.
Test(object_info, handle_basic_with_bad_buffer_gives_invalid_args) {
    zx_handle_t port = make_port();
    void* bad[] = {NULL, BAD_PTR, readonly_page(), noaccess_page()};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t actual = SENTINEL, avail = SENTINEL;
        ASSERT_STATUS(get_basic(port, bad[i], sizeof(zx_info_handle_basic_t), &actual, &avail),
                      ZX_ERR_INVALID_ARGS);
        cr_assert_eq(actual, SENTINEL, "actual written after a failed copy");
        cr_assert_eq(avail, SENTINEL, "avail written after a failed copy");
    }
    // A record that would straddle into an inaccessible page cannot be written either.
    char* tail = guarded_buffer(sizeof(zx_info_handle_basic_t) - 1);
    ASSERT_STATUS(get_basic(port, tail, sizeof(zx_info_handle_basic_t), NULL, NULL),
                  ZX_ERR_INVALID_ARGS);
    // One that just fits before it is fine.
    ASSERT_OK(get_basic(port, guarded_buffer(sizeof(zx_info_handle_basic_t)),
                        sizeof(zx_info_handle_basic_t), NULL, NULL));
}

// notes §2 steps 2-3: a bad actual or avail gives INVALID_ARGS, even when the buffer was too
// small (the copies come before BUFFER_TOO_SMALL).
Test(object_info, handle_basic_with_bad_actual_or_avail_gives_invalid_args) {
    zx_handle_t port = make_port();
    zx_info_handle_basic_t info;
    size_t ok = SENTINEL;
    size_t* ro = readonly_page();
    ASSERT_STATUS(get_basic(port, &info, sizeof(info), BAD_PTR, &ok), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(get_basic(port, &info, sizeof(info), ro, &ok), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(get_basic(port, &info, sizeof(info), &ok, BAD_PTR), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(get_basic(port, &info, sizeof(info), &ok, ro), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(get_basic(port, &info, 4, BAD_PTR, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(get_basic(port, &info, 4, NULL, BAD_PTR), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(get_basic(port, NULL, 0, &ok, ro), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(*ro, 0u);
}
