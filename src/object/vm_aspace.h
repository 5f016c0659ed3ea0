// zxhv: an address space made of VMO mappings: the host's (behind zx_vmar_root_self) or a guest's
// physical one (behind the VMAR that zx_guest_create returns). It keeps the mappings sorted,
// splits them when part of one is unmapped and merges neighbours that are contiguous in the VMO,
// and lets its owner attach a backing to each mapping (a KVM memslot for guests) through |ops|.
#ifndef ZXHV_OBJECT_VM_ASPACE_H_
#define ZXHV_OBJECT_VM_ASPACE_H_

#include <pthread.h>
#include <stdatomic.h>
#include <zircon/types.h>

#include "object/vmo.h"

struct vm_mapping {
    struct vm_mapping* next;  // sorted by base
    uint64_t base;
    uint64_t len;
    struct vmo* vmo;  // a reference
    uint64_t vmo_offset;
    uint32_t perms;     // ZX_VM_PERM_* bits
    uint8_t* host;      // where the same bytes are mapped in this process
    uint32_t backing;   // owner's id for the backing (a memslot), or VM_NO_BACKING
};

#define VM_NO_BACKING UINT32_MAX

struct vm_aspace;

struct vm_aspace_ops {
    // Gives |m| its backing. Errors are returned by the map or unmap call that asked.
    zx_status_t (*attach)(struct vm_aspace* as, struct vm_mapping* m);
    // Removes the backing of |m|; cannot fail.
    void (*detach)(struct vm_aspace* as, struct vm_mapping* m);
    // How many more backings can be attached now.
    uint32_t (*free_backings)(struct vm_aspace* as);
    // Frees the aspace (and whatever contains it) after the last reference.
    void (*release)(struct vm_aspace* as);
};

struct vm_aspace {
    atomic_uint_fast32_t refs;
    // Host aspaces map at the requested address itself; guest aspaces map the bytes anywhere in
    // the host and describe them to KVM.
    bool is_host;
    uint64_t base;
    uint64_t size;
    const struct vm_aspace_ops* ops;
    void* owner;  // for |ops|
    // Guards every field below and every mapping. Held across attach and detach.
    pthread_mutex_t lock;
    bool destroyed;
    struct vm_mapping* mappings;
};

void vm_aspace_init(struct vm_aspace* as, bool is_host, uint64_t base, uint64_t size,
                    const struct vm_aspace_ops* ops, void* owner);
void vm_aspace_ref(struct vm_aspace* as);
// The last reference destroys any mappings left and frees |as| through ops->release.
void vm_aspace_unref(struct vm_aspace* as);

// Maps [vmo_offset, vmo_offset + len) of |vmo| (len page-aligned) with |options| (already checked
// by the syscall layer: perms, flags). |offset| is relative to the aspace base and must be 0
// unless SPECIFIC or SPECIFIC_OVERWRITE is given. Errors, in this order: ZX_ERR_BAD_STATE
// (destroyed), ZX_ERR_INVALID_ARGS (len 0, offset without SPECIFIC, outside the aspace,
// unaligned), ZX_ERR_NO_MEMORY (no room, or the range is taken and OVERWRITE was not given),
// ZX_ERR_NO_RESOURCES (no backing left).
zx_status_t vm_aspace_map(struct vm_aspace* as, zx_vm_option_t options, uint64_t offset,
                          struct vmo* vmo, uint64_t vmo_offset, uint64_t len, zx_vaddr_t* out);

// Unmaps whatever lies in [addr, addr + len), splitting mappings at the edges; a range with no
// mapping in it is not an error (spec §1.9; as Zircon's UnmapInternalLocked).
// Errors: ZX_ERR_BAD_STATE, ZX_ERR_INVALID_ARGS (outside the aspace), ZX_ERR_NO_RESOURCES.
zx_status_t vm_aspace_unmap(struct vm_aspace* as, uint64_t addr, uint64_t len);

// Unmaps everything and refuses further maps (ZX_ERR_BAD_STATE).
void vm_aspace_destroy(struct vm_aspace* as);

// Calls |fn| for each mapping, in address order, with the lock held.
void vm_aspace_for_each(struct vm_aspace* as, void (*fn)(struct vm_mapping* m, void* ctx),
                        void* ctx);

#endif  // ZXHV_OBJECT_VM_ASPACE_H_
