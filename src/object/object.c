// zxhv: object lifetime and koids.
#include "object/object.h"

// Koids 0 (invalid) and 1 (kernel) are reserved, as on Zircon.
static atomic_uint_fast64_t next_koid = 1024;

void object_init(struct object* obj, const struct object_ops* ops) {
    obj->ops = ops;
    obj->koid = atomic_fetch_add_explicit(&next_koid, 1, memory_order_relaxed);
    atomic_init(&obj->refs, 1);
    atomic_init(&obj->handles, 0);
}

void object_unref(struct object* obj) {
    if (atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) == 1) {
        obj->ops->destroy(obj);
    }
}
