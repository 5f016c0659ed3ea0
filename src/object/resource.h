// zxhv: resources. They are capability tokens: only a ROOT resource (which can make any other
// kind) and a HYPERVISOR resource (which zx_guest_create takes) carry power in zxhv.
#ifndef ZXHV_OBJECT_RESOURCE_H_
#define ZXHV_OBJECT_RESOURCE_H_

#include <zircon/types.h>

#include "object/object.h"

struct resource {
    struct object base;
    struct resource* next_ranged;  // in the list of live resources with a range
    uint32_t kind;   // ZX_RSRC_KIND_*
    uint32_t flags;  // ZX_RSRC_FLAG_*
    uint64_t range_base;
    uint64_t range_size;
    char name[ZX_MAX_NAME_LEN];
};

// Creates a resource. |name| is copied (at most ZX_MAX_NAME_LEN - 1 bytes, NUL-terminated).
// A resource with a range (MMIO, IRQ, IOPORT) conflicts with live ones of its kind as Zircon's
// region allocator makes it: an exclusive one with any that intersects, a shared one with an
// exclusive one that intersects. Errors: ZX_ERR_NOT_FOUND (conflict), ZX_ERR_NO_MEMORY.
zx_status_t resource_create(uint32_t kind, uint32_t flags, uint64_t base, uint64_t size,
                            const char* name, size_t name_len, struct resource** out);

// The process's ROOT resource, made on first use; returns a new reference, or NULL when out of
// memory.
struct resource* resource_root(void);

static inline struct resource* to_resource(struct object* obj) { return (struct resource*)obj; }

#endif  // ZXHV_OBJECT_RESOURCE_H_
