// zxhv: zx_handle_close, zx_handle_duplicate, zx_handle_replace (spec §1.9).
#include "syscalls/priv.h"

ZX_SYSCALL zx_status_t zx_handle_close(zx_handle_t handle) {
    // Closing the never-valid handle is not an error, like free(NULL).
    if (handle == ZX_HANDLE_INVALID) return ZX_OK;
    return handle_remove(handle);
}

static zx_status_t dup_replace(bool is_replace, zx_handle_t handle, zx_rights_t rights,
                               zx_handle_t* out) {
    zx_handle_t value;
    zx_status_t status = handle_dup_replace(is_replace, handle, rights, &value);
    if (status != ZX_OK) return status;
    return user_copy_out_handle(out, value);
}

ZX_SYSCALL zx_status_t zx_handle_duplicate(zx_handle_t handle, zx_rights_t rights,
                                           zx_handle_t* out) {
    return dup_replace(false, handle, rights, out);
}

ZX_SYSCALL zx_status_t zx_handle_replace(zx_handle_t handle, zx_rights_t rights,
                                         zx_handle_t* out) {
    return dup_replace(true, handle, rights, out);
}
