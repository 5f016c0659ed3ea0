// zxhv: shared by the syscall layer (../shared/STYLE.md, layer 1): each syscall checks its
// arguments in Zircon's order, looks handles up with the rights it needs, copies caller memory in
// and out, and calls one object function.
#ifndef ZXHV_SYSCALLS_PRIV_H_
#define ZXHV_SYSCALLS_PRIV_H_

#include <zircon/errors.h>
#include <zircon/rights.h>
#include <zircon/syscalls.h>

#include "object/handle.h"
#include "util/user_copy.h"

// Marks a function the library exports.
#define ZX_SYSCALL __attribute__((visibility("default")))

// Makes a handle to |obj| and copies its value to |user_out|, dropping the caller's reference to
// |obj| either way. A bad |user_out| closes the handle again: ZX_ERR_INVALID_ARGS.
static inline zx_status_t make_handle_out(struct object* obj, zx_rights_t rights,
                                          zx_handle_t* user_out) {
    zx_handle_t value;
    zx_status_t status = handle_create(obj, rights, &value);
    object_unref(obj);
    if (status != ZX_OK) return status;
    return user_copy_out_handle(user_out, value);
}

#endif  // ZXHV_SYSCALLS_PRIV_H_
