// zxhv: VMAR objects. zxhv has two kinds of root VMAR: the host's (zx_vmar_root_self) and each
// guest's physical address space (returned by zx_guest_create). Sub-regions are not implemented.
#ifndef ZXHV_OBJECT_VMAR_H_
#define ZXHV_OBJECT_VMAR_H_

#include "object/object.h"
#include "object/vm_aspace.h"

struct vmar {
    struct object base;
    struct vm_aspace* as;  // a reference
    zx_koid_t related_koid;
    // The rights a mapping may ask for: ZX_VM_CAN_MAP_* of the region (spec §1.1).
    zx_vm_option_t can_map;
};

// Makes a VMAR object over |as| (takes its own reference to |as|).
zx_status_t vmar_create(struct vm_aspace* as, zx_koid_t related_koid, struct vmar** out);

// The process's host root VMAR handle, made on first use. Returns ZX_HANDLE_INVALID only if it
// could not be made (out of memory).
zx_handle_t vmar_root_self_handle(void);

static inline struct vmar* to_vmar(struct object* obj) { return (struct vmar*)obj; }

// Bounds of the host root VMAR: those of Zircon's x86-64 user address space (16 MiB up to
// 2^47 - 4 KiB), which Linux's user address space contains.
#define HOST_ASPACE_BASE 0x1000000ull
#define HOST_ASPACE_SIZE 0x7ffffefff000ull

#endif  // ZXHV_OBJECT_VMAR_H_
