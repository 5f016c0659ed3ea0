// zxhv: the base of every kernel-like object: a reference count, a handle count, a koid and a
// type. One file per object type builds on it (spec §3.1; ../shared/STYLE.md, layer 2).
#ifndef ZXHV_OBJECT_OBJECT_H_
#define ZXHV_OBJECT_OBJECT_H_

#include <stdatomic.h>
#include <zircon/types.h>

struct object;

struct object_ops {
    zx_obj_type_t type;
    // Whether the object has signals one could wait on (ZX_OBJ_PROP_WAITABLE).
    bool waitable;
    // Called once when the last reference goes; frees the object. Never NULL.
    void (*destroy)(struct object* obj);
    // Called (outside the handle-table lock) when the last handle to the object is closed,
    // while references may remain. May be NULL.
    void (*on_zero_handles)(struct object* obj);
    // The koid reported as related_koid by ZX_INFO_HANDLE_BASIC. May be NULL (0).
    zx_koid_t (*related_koid)(const struct object* obj);
};

struct object {
    const struct object_ops* ops;
    zx_koid_t koid;
    atomic_uint_fast64_t refs;
    atomic_uint_fast64_t handles;
};

// Initializes |obj| with one reference (the caller's) and no handles; assigns a fresh koid.
void object_init(struct object* obj, const struct object_ops* ops);

static inline zx_obj_type_t object_type(const struct object* obj) { return obj->ops->type; }

static inline void object_ref(struct object* obj) {
    atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
}

// Drops a reference; the last one destroys the object.
void object_unref(struct object* obj);

// The number of handles that refer to |obj| now.
static inline uint64_t object_handle_count(const struct object* obj) {
    return atomic_load_explicit(&((struct object*)obj)->handles, memory_order_acquire);
}

#endif  // ZXHV_OBJECT_OBJECT_H_
