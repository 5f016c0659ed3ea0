// zxhv: zx_vmo_create, zx_vmo_read, zx_vmo_write, zx_vmo_get_size, zx_vmo_set_size (spec §1.9;
// check order in docs/notes/ref-supporting-syscalls.md §4).
#include "object/vmo.h"

#include "syscalls/priv.h"

ZX_SYSCALL zx_status_t zx_vmo_create(uint64_t size, uint32_t options, zx_handle_t* out) {
    bool resizable;
    switch (options) {
        case 0:
            resizable = true;
            break;
        case ZX_VMO_NON_RESIZABLE:
            resizable = false;
            break;
        default:
            return ZX_ERR_INVALID_ARGS;
    }
    struct vmo* vmo;
    zx_status_t status = vmo_create(size, resizable, &vmo);
    if (status != ZX_OK) return status;
    return make_handle_out(&vmo->base, ZX_DEFAULT_VMO_RIGHTS, out);
}

static zx_status_t lookup(zx_handle_t handle, zx_rights_t rights, struct vmo** out) {
    struct object* obj;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_VMO, rights, &obj, NULL);
    if (status == ZX_OK) *out = to_vmo(obj);
    return status;
}

ZX_SYSCALL zx_status_t zx_vmo_read(zx_handle_t handle, void* buffer, uint64_t offset,
                                   size_t buffer_size) {
    struct vmo* vmo;
    zx_status_t status = lookup(handle, ZX_RIGHT_READ, &vmo);
    if (status != ZX_OK) return status;
    status = vmo_read(vmo, buffer, offset, buffer_size);
    object_unref(&vmo->base);
    return status;
}

ZX_SYSCALL zx_status_t zx_vmo_write(zx_handle_t handle, const void* buffer, uint64_t offset,
                                    size_t buffer_size) {
    struct vmo* vmo;
    zx_status_t status = lookup(handle, ZX_RIGHT_WRITE, &vmo);
    if (status != ZX_OK) return status;
    status = vmo_write(vmo, buffer, offset, buffer_size);
    object_unref(&vmo->base);
    return status;
}

ZX_SYSCALL zx_status_t zx_vmo_get_size(zx_handle_t handle, uint64_t* size) {
    struct vmo* vmo;
    zx_status_t status = lookup(handle, 0, &vmo);
    if (status != ZX_OK) return status;
    uint64_t value = vmo_get_size(vmo);
    object_unref(&vmo->base);
    return user_copy_out(size, &value, sizeof(value));
}

ZX_SYSCALL zx_status_t zx_vmo_set_size(zx_handle_t handle, uint64_t size) {
    struct vmo* vmo;
    zx_status_t status = lookup(handle, ZX_RIGHT_WRITE, &vmo);
    if (status != ZX_OK) return status;
    status = vmo_set_size(vmo, size);
    object_unref(&vmo->base);
    return status;
}
