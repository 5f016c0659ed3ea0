// zxhv: VCPU objects (Zircon's VcpuDispatcher, spec §1.3, §3.1, §3.6). A VCPU keeps its guest
// alive and is bound to the thread that created it.
#ifndef ZXHV_OBJECT_VCPU_H_
#define ZXHV_OBJECT_VCPU_H_

#include <pthread.h>

#include "arch/x86/vcpu.h"
#include "object/guest.h"
#include "object/object.h"

struct vcpu {
    struct object base;
    struct guest* guest;  // a reference
    uint32_t index;       // VPID - 1
    struct x86_vcpu arch;
};

// Creates a VCPU of |guest| starting at |entry|, bound to the calling thread.
// Errors: ZX_ERR_NO_RESOURCES (64 VCPUs), ZX_ERR_NO_MEMORY, ZX_ERR_NOT_SUPPORTED.
zx_status_t vcpu_create(struct guest* guest, uint64_t entry, struct vcpu** out);

// Whether the calling thread is the one the VCPU is bound to (spec §3.6).
bool vcpu_on_own_thread(const struct vcpu* vcpu);

static inline struct vcpu* to_vcpu(struct object* obj) { return (struct vcpu*)obj; }

#endif  // ZXHV_OBJECT_VCPU_H_
