// zxhv: user-pointer copies through process_vm_readv/writev on the process itself, which fail with
// EFAULT instead of faulting. Where those calls are refused (a seccomp filter), a pipe does the
// same job: the kernel reads or writes the caller's buffer and reports EFAULT.
#define _GNU_SOURCE
#include "util/user_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zircon/errors.h>

#include "object/handle.h"

enum { VM_UNKNOWN, VM_WORKS, VM_REFUSED };
static _Atomic int vm_calls = VM_UNKNOWN;

// Guards the fallback pipe.
static pthread_mutex_t pipe_lock = PTHREAD_MUTEX_INITIALIZER;
static int pipe_fds[2] = {-1, -1};

static bool refused(int err) { return err == ENOSYS || err == EPERM; }

// Moves |len| bytes through the pipe: from |from| into |to|. One side is library memory.
static zx_status_t copy_via_pipe(void* to, const void* from, size_t len) {
    zx_status_t status = ZX_OK;
    pthread_mutex_lock(&pipe_lock);
    if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        pthread_mutex_unlock(&pipe_lock);
        return ZX_ERR_NO_RESOURCES;
    }
    while (len > 0 && status == ZX_OK) {
        size_t chunk = len < 4096 ? len : 4096;
        ssize_t w = write(pipe_fds[1], from, chunk);
        if (w <= 0) {
            status = ZX_ERR_INVALID_ARGS;
            break;
        }
        ssize_t r = read(pipe_fds[0], to, (size_t)w);
        if (r != w) {
            // Drain what the failed read left behind so the pipe stays empty.
            char sink[4096];
            while (read(pipe_fds[0], sink, sizeof(sink)) > 0) {
            }
            status = ZX_ERR_INVALID_ARGS;
            break;
        }
        from = (const char*)from + w;
        to = (char*)to + w;
        len -= (size_t)w;
    }
    pthread_mutex_unlock(&pipe_lock);
    return status;
}

// getpid() is a system call each time (glibc caches nothing); the copies run on every VCPU exit.
// The cache is dropped in a forked child.
static atomic_int cached_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void) { atomic_store(&cached_pid, 0); }
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_pid); }

static pid_t self_pid(void) {
    pid_t pid = atomic_load_explicit(&cached_pid, memory_order_relaxed);
    if (pid == 0) {
        pthread_once(&pid_once, register_fork_handler);
        pid = getpid();
        atomic_store_explicit(&cached_pid, pid, memory_order_relaxed);
    }
    return pid;
}

zx_status_t user_copy_out(void* user_dst, const void* src, size_t len) {
    if (len == 0) return ZX_OK;
    if (user_dst == NULL) return ZX_ERR_INVALID_ARGS;
    if (vm_calls != VM_REFUSED) {
        struct iovec local = {.iov_base = (void*)src, .iov_len = len};
        struct iovec remote = {.iov_base = user_dst, .iov_len = len};
        ssize_t n = process_vm_writev(self_pid(), &local, 1, &remote, 1, 0);
        if (n == (ssize_t)len) {
            vm_calls = VM_WORKS;
            return ZX_OK;
        }
        if (n >= 0 || !refused(errno)) return ZX_ERR_INVALID_ARGS;
        vm_calls = VM_REFUSED;
    }
    return copy_via_pipe(user_dst, src, len);
}

zx_status_t user_copy_in(void* dst, const void* user_src, size_t len) {
    if (len == 0) return ZX_OK;
    if (user_src == NULL) return ZX_ERR_INVALID_ARGS;
    if (vm_calls != VM_REFUSED) {
        struct iovec local = {.iov_base = dst, .iov_len = len};
        struct iovec remote = {.iov_base = (void*)user_src, .iov_len = len};
        ssize_t n = process_vm_readv(self_pid(), &local, 1, &remote, 1, 0);
        if (n == (ssize_t)len) {
            vm_calls = VM_WORKS;
            return ZX_OK;
        }
        if (n >= 0 || !refused(errno)) return ZX_ERR_INVALID_ARGS;
        vm_calls = VM_REFUSED;
    }
    return copy_via_pipe(dst, user_src, len);
}

zx_status_t user_probe(void* user_ptr, size_t len, bool writable) {
    if (len == 0) return ZX_OK;
    if (user_ptr == NULL) return ZX_ERR_INVALID_ARGS;
    uintptr_t start = (uintptr_t)user_ptr;
    uintptr_t last;
    if (__builtin_add_overflow(start, len - 1, &last)) return ZX_ERR_INVALID_ARGS;
    uintptr_t page = start;
    for (;;) {
        char byte;
        if (user_copy_in(&byte, (void*)page, 1) != ZX_OK) return ZX_ERR_INVALID_ARGS;
        if (writable && user_copy_out((void*)page, &byte, 1) != ZX_OK) return ZX_ERR_INVALID_ARGS;
        if (page == last) break;
        uintptr_t next = (page | 4095u) + 1u;
        page = (next == 0 || next > last) ? last : next;
    }
    return ZX_OK;
}

zx_status_t user_copy_out_handle(zx_handle_t* user_dst, zx_handle_t value) {
    zx_status_t status = user_copy_out(user_dst, &value, sizeof(value));
    if (status != ZX_OK) handle_remove(value);
    return status;
}
