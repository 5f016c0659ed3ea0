// zxhv: zx_resource_create (spec §1.9) and zxhv_root_resource_get.
#include <string.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "object/resource.h"
#include "syscalls/priv.h"

// The ranges Zircon's x86 platform offers for each kind with a range
// (docs/notes/ref-supporting-syscalls.md §3): [base, base + size).
static bool range_available(uint32_t kind, uint64_t base, uint64_t size) {
    uint64_t lo, len;
    switch (kind) {
        case ZX_RSRC_KIND_MMIO:
            lo = 0;
            len = (1ull << 48) - 1;
            break;
        case ZX_RSRC_KIND_IRQ:
            lo = 32;
            len = 255;
            break;
        default:  // ZX_RSRC_KIND_IOPORT
            lo = 0;
            len = 0xFFFF;
            break;
    }
    return base >= lo && base - lo <= len && size <= len - (base - lo);
}

ZX_SYSCALL zx_status_t zx_resource_create(zx_handle_t parent_rsrc, uint32_t options,
                                          uint64_t base, size_t size, const char* name,
                                          size_t name_size, zx_handle_t* resource_out) {
    struct object* obj;
    zx_status_t status =
        handle_get(parent_rsrc, ZX_OBJ_TYPE_RESOURCE, ZX_RIGHT_WRITE, &obj, NULL);
    if (status != ZX_OK) return status;
    uint32_t parent_kind = to_resource(obj)->kind;
    object_unref(obj);
    if (parent_kind != ZX_RSRC_KIND_ROOT) return ZX_ERR_ACCESS_DENIED;

    uint32_t kind = ZX_RSRC_EXTRACT_KIND(options);
    uint32_t flags = ZX_RSRC_EXTRACT_FLAGS(options);
    if (kind >= ZX_RSRC_KIND_COUNT || (flags & ~ZX_RSRC_FLAGS_MASK)) return ZX_ERR_INVALID_ARGS;

    // Longer names are cut to ZX_MAX_NAME_LEN - 1 bytes, and at the first NUL.
    char copied[ZX_MAX_NAME_LEN] = {0};
    size_t name_len = name_size < ZX_MAX_NAME_LEN - 1 ? name_size : ZX_MAX_NAME_LEN - 1;
    if (name_size > 0 && user_copy_in(copied, name, name_len) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    name_len = strnlen(copied, name_len);

    switch (kind) {
        case ZX_RSRC_KIND_ROOT:
        case ZX_RSRC_KIND_HYPERVISOR:
        case ZX_RSRC_KIND_VMEX:
            if (base != 0 || size != 0) return ZX_ERR_INVALID_ARGS;
            break;
        default: {
            uint64_t end;
            if (size == 0 || __builtin_add_overflow(base, (uint64_t)size, &end)) {
                return ZX_ERR_INVALID_ARGS;
            }
            if (!range_available(kind, base, size)) return ZX_ERR_NOT_FOUND;
            break;
        }
    }
    struct resource* r;
    status = resource_create(kind, flags, base, size, copied, name_len, &r);
    if (status != ZX_OK) return status;
    return make_handle_out(&r->base, ZX_DEFAULT_RESOURCE_RIGHTS, resource_out);
}

ZX_SYSCALL zx_status_t zxhv_root_resource_get(zx_handle_t* out) {
    struct resource* root = resource_root();
    if (root == NULL) return ZX_ERR_NO_MEMORY;
    return make_handle_out(&root->base, ZX_DEFAULT_RESOURCE_RIGHTS, out);
}
