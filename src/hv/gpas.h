// zxhv: a guest's physical address space (Zircon's GuestPhysicalAddressSpace, spec §3.1, §3.11):
// a vm_aspace of [0, 2^48) whose mappings are KVM memslots of one VM. Mapping a VMO makes it guest
// RAM at once; unmapping removes it at once.
#ifndef ZXHV_HV_GPAS_H_
#define ZXHV_HV_GPAS_H_

#include "object/vm_aspace.h"

// x86-64 guest physical address space size (spec §1.1: 1 << MMU_GUEST_SIZE_SHIFT).
#define GPAS_SIZE (1ull << 48)

// Creates the address space of the VM |vm_fd|. The guest closes the VM before it destroys the
// aspace, and says so with gpas_vm_closed. Errors: ZX_ERR_NO_MEMORY.
zx_status_t gpas_create(int vm_fd, struct vm_aspace** out);

// Copies between guest physical memory [gpa, gpa + len) and |buf| (|write|: into the guest),
// through the host's view of the mapped VMOs. Errors: ZX_ERR_NOT_FOUND (some byte is not mapped,
// or lies beyond the end of its VMO), ZX_ERR_ACCESS_DENIED (a write to a mapping without
// ZX_VM_PERM_WRITE).
zx_status_t gpas_access(struct vm_aspace* as, uint64_t gpa, void* buf, size_t len, bool write);

// The same with the address space's lock already held: gpas_lock, any number of
// gpas_access_locked (a guest page walk and the code it finds), gpas_unlock. Nothing else that
// takes the lock (mapping, unmapping) may be called in between.
zx_status_t gpas_access_locked(struct vm_aspace* as, uint64_t gpa, void* buf, size_t len,
                               bool write);
void gpas_lock(struct vm_aspace* as);
void gpas_unlock(struct vm_aspace* as);

// How many memslots the address space uses now (for tests and diagnostics).
uint32_t gpas_memslots_used(struct vm_aspace* as);

// The guest closed its VM descriptor (KVM dropped every memslot with the VM): from now on
// detaching a mapping only frees its slot number.
void gpas_vm_closed(struct vm_aspace* as);

#endif  // ZXHV_HV_GPAS_H_
