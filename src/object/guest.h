// zxhv: guest objects (Zircon's GuestDispatcher + Guest, spec §3.1, §3.2): one KVM VM and its
// guest physical address space.
#ifndef ZXHV_OBJECT_GUEST_H_
#define ZXHV_OBJECT_GUEST_H_

#include "object/object.h"
#include "object/vm_aspace.h"
#include "object/vmar.h"

struct guest {
    struct object base;
    int vm_fd;               // owned; closed when the guest is destroyed
    struct vm_aspace* gpas;  // a reference; destroyed with the guest
};

// Creates a guest and the VMAR of its physical address space. Errors: ZX_ERR_NOT_SUPPORTED (no
// usable KVM), ZX_ERR_ACCESS_DENIED (/dev/kvm may not be opened), ZX_ERR_NO_MEMORY,
// ZX_ERR_NO_RESOURCES.
zx_status_t guest_create(struct guest** guest, struct vmar** vmar);

static inline struct guest* to_guest(struct object* obj) { return (struct guest*)obj; }

#endif  // ZXHV_OBJECT_GUEST_H_
