// zxhv: copying to and from caller memory without trusting the pointer. A bad pointer (NULL,
// unmapped, or read-only for an output) gives ZX_ERR_INVALID_ARGS, never a crash, as Zircon's
// user_ptr copies do (spec §1; ../shared/spec/design-notes.md "Validating user pointers").
#ifndef ZXHV_UTIL_USER_COPY_H_
#define ZXHV_UTIL_USER_COPY_H_

#include <stdbool.h>
#include <stddef.h>
#include <zircon/types.h>

// Copies |len| bytes from |src| (library memory) to |user_dst|. Costs one system call, or none
// when |user_dst| lies in the calling thread's live stack frames.
zx_status_t user_copy_out(void* user_dst, const void* src, size_t len);

// Copies |len| bytes from |user_src| to |dst| (library memory). Costs one system call, or none
// when |user_src| lies in the calling thread's live stack frames.
zx_status_t user_copy_in(void* dst, const void* user_src, size_t len);

// Checks, without changing it, that every page of [user_ptr, user_ptr + len) can be read (and
// written, with |writable|): reads one byte per page and writes the same byte back. Costs one or
// two system calls per page; for error paths and for checks that must come before a side effect.
zx_status_t user_probe(void* user_ptr, size_t len, bool writable);

// Copies a freshly made handle out; on failure closes it and returns ZX_ERR_INVALID_ARGS, as
// Zircon does for an output handle it cannot deliver.
zx_status_t user_copy_out_handle(zx_handle_t* user_dst, zx_handle_t value);

#endif  // ZXHV_UTIL_USER_COPY_H_
