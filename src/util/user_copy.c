// zxhv: user-pointer copies through process_vm_readv/writev on the process itself, which fail with
// EFAULT instead of faulting. Where those calls are refused (a seccomp filter), a pipe does the
// same job: the kernel reads or writes the caller's buffer and reports EFAULT.
//
// One case needs no system call: a buffer inside the calling thread's own stack, between the
// copying function's frame and the top of the stack. Those are the live frames of the caller and
// of whoever called it, mapped and writable for as long as the call lasts, so a plain memcpy
// cannot fault. It is the common case (a zx_port_packet_t or a register struct on the stack of
// the thread calling zx_vcpu_resume or zx_port_wait), and it saves the exit path a system call.
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

// The calling thread's stack, [lo, hi), looked up once per thread; lo == hi == 1 if unknown.
static __thread uintptr_t stack_lo, stack_hi;

static void find_stack(void) {
    stack_lo = stack_hi = 1;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    void* base;
    size_t size;
    if (pthread_attr_getstack(&attr, &base, &size) == 0 && size > 0) {
        stack_lo = (uintptr_t)base;
        stack_hi = stack_lo + size;
    }
    pthread_attr_destroy(&attr);
}

// Whether [p, p + len) lies in live frames of the calling thread's stack: above this function's
// frame, below the stack's top. Not inlined, so that its frame is below its caller's. A thread on
// another stack (a signal's alternate stack, a coroutine) fails the first test.
static __attribute__((noinline)) bool on_live_stack(const void* p, size_t len) {
    if (stack_lo == 0) find_stack();
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    if (frame < stack_lo || frame >= stack_hi) return false;
    uintptr_t a = (uintptr_t)p;
    return a >= frame && a < stack_hi && len <= stack_hi - a;
}

zx_status_t user_copy_out(void* user_dst, const void* src, size_t len) {
    if (len == 0) return ZX_OK;
    if (user_dst == NULL) return ZX_ERR_INVALID_ARGS;
    if (on_live_stack(user_dst, len)) {
        memcpy(user_dst, src, len);
        return ZX_OK;
    }
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
    if (on_live_stack(user_src, len)) {
        memcpy(dst, user_src, len);
        return ZX_OK;
    }
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
