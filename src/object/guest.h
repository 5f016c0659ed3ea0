// zxhv: guest objects (Zircon's GuestDispatcher + Guest, spec §3.1, §3.2): one KVM VM and its
// guest physical address space.
#ifndef ZXHV_OBJECT_GUEST_H_
#define ZXHV_OBJECT_GUEST_H_

#include <pthread.h>

#include "hv/trap_map.h"
#include "object/object.h"
#include "object/vm_aspace.h"
#include "object/vmar.h"

// VCPUs one guest may have at once (Zircon's 64 VPIDs, spec §1.3 step 4).
#define GUEST_MAX_VCPUS 64u

struct guest {
    struct object base;
    int vm_fd;               // owned; closed when the guest is destroyed
    struct vm_aspace* gpas;  // a reference; destroyed with the guest
    struct trap_map traps;
    // Guards the fields below.
    pthread_mutex_t vcpu_lock;
    uint64_t vpids;         // bit i: VPID i + 1 is in use
    uint32_t next_kvm_id;   // KVM never frees a VCPU id until the VM goes
    uint32_t max_kvm_ids;   // KVM_CAP_MAX_VCPU_ID
};

// Reserves the lowest free VCPU index (VPID - 1) and a KVM VCPU id.
// Errors: ZX_ERR_NO_RESOURCES (64 VCPUs, or KVM's ids used up).
zx_status_t guest_alloc_vcpu(struct guest* guest, uint32_t* index, uint32_t* kvm_id);
void guest_free_vcpu(struct guest* guest, uint32_t index);

// Creates a guest and the VMAR of its physical address space. Errors: ZX_ERR_NOT_SUPPORTED (no
// usable KVM), ZX_ERR_ACCESS_DENIED (/dev/kvm may not be opened), ZX_ERR_NO_MEMORY,
// ZX_ERR_NO_RESOURCES.
zx_status_t guest_create(struct guest** guest, struct vmar** vmar);

static inline struct guest* to_guest(struct object* obj) { return (struct guest*)obj; }

#endif  // ZXHV_OBJECT_GUEST_H_
