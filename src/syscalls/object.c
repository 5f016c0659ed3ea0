// zxhv: zx_object_get_info (spec §1.9): ZX_INFO_HANDLE_VALID and ZX_INFO_HANDLE_BASIC.
#include <zircon/syscalls/object.h>

#include "syscalls/priv.h"

// Zircon's single_record_result: the record if it fits, then *actual and *avail (each optional),
// then BUFFER_TOO_SMALL if the record did not fit.
static zx_status_t single_record(void* buffer, size_t buffer_size, size_t* actual, size_t* avail,
                                 const void* record, size_t record_size) {
    size_t n = 0;
    if (buffer_size >= record_size) {
        if (user_copy_out(buffer, record, record_size) != ZX_OK) return ZX_ERR_INVALID_ARGS;
        n = 1;
    }
    size_t one = 1;
    if (actual != NULL && user_copy_out(actual, &n, sizeof(n)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (avail != NULL && user_copy_out(avail, &one, sizeof(one)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    return n == 0 ? ZX_ERR_BUFFER_TOO_SMALL : ZX_OK;
}

ZX_SYSCALL zx_status_t zx_object_get_info(zx_handle_t handle, uint32_t topic, void* buffer,
                                          size_t buffer_size, size_t* actual, size_t* avail) {
    switch (topic) {
        case ZX_INFO_HANDLE_VALID:
            // The buffer and counts are ignored, as on Zircon.
            return handle_is_valid(handle) ? ZX_OK : ZX_ERR_BAD_HANDLE;
        case ZX_INFO_HANDLE_BASIC: {
            struct object* obj;
            zx_rights_t rights;
            zx_status_t status = handle_get(handle, HANDLE_ANY_TYPE, 0, &obj, &rights);
            if (status != ZX_OK) return status;
            zx_info_handle_basic_t info = {0};  // padding included: nothing stale leaks out
            info.koid = obj->koid;
            info.rights = rights;
            info.type = object_type(obj);
            info.related_koid = obj->ops->related_koid ? obj->ops->related_koid(obj) : 0;
            info.props = obj->ops->waitable ? ZX_OBJ_PROP_WAITABLE : ZX_OBJ_PROP_NONE;
            object_unref(obj);
            return single_record(buffer, buffer_size, actual, avail, &info, sizeof(info));
        }
        default:
            // The topic is checked before the handle (docs/notes/ref-supporting-syscalls.md §2).
            return ZX_ERR_NOT_SUPPORTED;
    }
}
