// zxhv: zx_vmar_map, zx_vmar_unmap and zx_vmar_root_self (spec §1.9; check order in
// docs/notes/ref-supporting-syscalls.md §5).
#include <zircon/process.h>

#include "object/vmar.h"
#include "object/vmo.h"
#include "syscalls/priv.h"

#define PERM_BITS (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)
#define CAN_MAP_BITS (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE)
#define KNOWN_BITS                                                                        \
    (PERM_BITS | ZX_VM_COMPACT | ZX_VM_SPECIFIC | ZX_VM_SPECIFIC_OVERWRITE |              \
     ZX_VM_CAN_MAP_SPECIFIC | CAN_MAP_BITS | ZX_VM_REQUIRE_NON_RESIZABLE)

ZX_SYSCALL zx_handle_t zx_vmar_root_self(void) { return vmar_root_self_handle(); }

// The checks of Zircon's sys_vmar_map and VmAddressRegionDispatcher::Map, in order.
static zx_status_t check_map_options(zx_vm_option_t options, zx_rights_t vmar_rights,
                                     zx_rights_t vmo_rights, const struct vmo* vmo,
                                     uint64_t vmo_offset, uint64_t* len) {
    if (!(vmo_rights & ZX_RIGHT_MAP)) return ZX_ERR_ACCESS_DENIED;
    if ((options & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(options & ZX_VM_PERM_READ)) {
        return ZX_ERR_INVALID_ARGS;
    }
    if ((options & ZX_VM_MAP_RANGE) && (options & ZX_VM_SPECIFIC_OVERWRITE)) {
        return ZX_ERR_INVALID_ARGS;
    }
    options &= ~ZX_VM_MAP_RANGE;
    if (options & CAN_MAP_BITS) return ZX_ERR_INVALID_ARGS;
    static const struct {
        zx_vm_option_t perm;
        zx_rights_t right;
    } kPerms[] = {{ZX_VM_PERM_READ, ZX_RIGHT_READ},
                  {ZX_VM_PERM_WRITE, ZX_RIGHT_WRITE},
                  {ZX_VM_PERM_EXECUTE, ZX_RIGHT_EXECUTE}};
    for (size_t i = 0; i < sizeof(kPerms) / sizeof(kPerms[0]); i++) {
        if ((options & kPerms[i].perm) &&
            !((vmar_rights & kPerms[i].right) && (vmo_rights & kPerms[i].right))) {
            return ZX_ERR_ACCESS_DENIED;
        }
    }
    if (options & ~KNOWN_BITS) return ZX_ERR_INVALID_ARGS;
    if ((options & ZX_VM_REQUIRE_NON_RESIZABLE) && vmo->resizable) return ZX_ERR_NOT_SUPPORTED;
    if (options & (ZX_VM_COMPACT | ZX_VM_CAN_MAP_SPECIFIC)) return ZX_ERR_INVALID_ARGS;
    // Round the length up to whole pages; a length that wraps becomes 0 (rejected later).
    uint64_t rounded = (*len + PAGE_MASK) & ~PAGE_MASK;
    uint64_t end;
    if (!IS_PAGE_ALIGNED(vmo_offset) || __builtin_add_overflow(vmo_offset, rounded, &end)) {
        return ZX_ERR_INVALID_ARGS;
    }
    *len = rounded;
    return ZX_OK;
}

ZX_SYSCALL zx_status_t zx_vmar_map(zx_handle_t handle, zx_vm_option_t options,
                                   uint64_t vmar_offset, zx_handle_t vmo_handle,
                                   uint64_t vmo_offset, uint64_t len, zx_vaddr_t* mapped_addr) {
    struct object *vmar_obj, *vmo_obj;
    zx_rights_t vmar_rights, vmo_rights;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_VMAR, 0, &vmar_obj, &vmar_rights);
    if (status != ZX_OK) return status;
    status = handle_get(vmo_handle, ZX_OBJ_TYPE_VMO, 0, &vmo_obj, &vmo_rights);
    if (status != ZX_OK) {
        object_unref(vmar_obj);
        return status;
    }
    struct vmar* vmar = to_vmar(vmar_obj);
    struct vmo* vmo = to_vmo(vmo_obj);
    status = check_map_options(options, vmar_rights, vmo_rights, vmo, vmo_offset, &len);
    zx_vaddr_t addr = 0;
    if (status == ZX_OK) {
        status = vm_aspace_map(vmar->as, options & ~ZX_VM_MAP_RANGE, vmar_offset, vmo,
                               vmo_offset, len, &addr);
    }
    if (status == ZX_OK) {
        status = user_copy_out(mapped_addr, &addr, sizeof(addr));
        // A mapping whose address cannot be delivered is undone, as on Zircon.
        if (status != ZX_OK) vm_aspace_unmap(vmar->as, addr, len);
    }
    object_unref(vmo_obj);
    object_unref(vmar_obj);
    return status;
}

ZX_SYSCALL zx_status_t zx_vmar_unmap(zx_handle_t handle, zx_vaddr_t addr, uint64_t len) {
    struct object* obj;
    zx_status_t status = handle_get(handle, ZX_OBJ_TYPE_VMAR, 0, &obj, NULL);
    if (status != ZX_OK) return status;
    uint64_t rounded = (len + PAGE_MASK) & ~PAGE_MASK;
    if (!IS_PAGE_ALIGNED(addr) || rounded == 0) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = vm_aspace_unmap(to_vmar(obj)->as, addr, rounded);
    }
    object_unref(obj);
    return status;
}
