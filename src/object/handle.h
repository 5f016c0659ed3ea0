// zxhv: the process's handle table. A handle value names one slot and the slot's generation, so a
// closed or stale value gives ZX_ERR_BAD_HANDLE and never reaches another object.
//
// Value layout: bits 0-1 are always set (ZX_HANDLE_FIXED_BITS_MASK, as later Zircon fixes them),
// bits 2-18 are the slot index (131072 handles), bits 19-30 the slot's 12-bit generation (as
// Zircon's), and bit 31 is clear, so values are positive as on Zircon. Freed slots are reused in
// FIFO order and the table keeps at least 1024 of them free, so a value only comes back after
// 4096 reuses of its slot, each behind 1024 other reuses.
#ifndef ZXHV_OBJECT_HANDLE_H_
#define ZXHV_OBJECT_HANDLE_H_

#include <zircon/types.h>

#include "object/object.h"

// ZX_OBJ_TYPE_NONE as |type| accepts any type.
#define HANDLE_ANY_TYPE ZX_OBJ_TYPE_NONE

// Creates a handle to |obj| with |rights|; the handle takes its own reference to |obj|.
// Errors: ZX_ERR_NO_RESOURCES (table full), ZX_ERR_NO_MEMORY.
zx_status_t handle_create(struct object* obj, zx_rights_t rights, zx_handle_t* out);

// Looks |value| up in the order Zircon's GetDispatcherWithRights does: invalid value ->
// BAD_HANDLE, missing |rights| -> ACCESS_DENIED, then type mismatch -> WRONG_TYPE (the code's
// order, which spec §1 rule 3 follows; docs/notes/ref-supporting-syscalls.md §0.1). On success
// *obj holds a new reference and *out_rights (if not NULL) the handle's rights.
zx_status_t handle_get(zx_handle_t value, zx_obj_type_t type, zx_rights_t rights,
                       struct object** obj, zx_rights_t* out_rights);

// Whether |value| names a live handle.
bool handle_is_valid(zx_handle_t value);

// Removes a handle. Errors: ZX_ERR_BAD_HANDLE.
zx_status_t handle_remove(zx_handle_t value);

// zx_handle_duplicate (is_replace false) and zx_handle_replace (is_replace true), done under one
// lock so that the source cannot change in between. *out gets the new value.
zx_status_t handle_dup_replace(bool is_replace, zx_handle_t value, zx_rights_t rights,
                               zx_handle_t* out);

// The number of live handles in the table (for tests and diagnostics).
size_t handle_table_count(void);

#endif  // ZXHV_OBJECT_HANDLE_H_
