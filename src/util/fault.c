// zxhv: test-only failure injection (see fault.h). Empty unless built with -DZXHV_FAULT_INJECTION.
#ifdef ZXHV_FAULT_INJECTION
#define _GNU_SOURCE
#include "util/fault.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>

// Armed state. Atomic: library threads (the doorbell pump) may allocate while a test arms.
static _Atomic unsigned armed_sites;
static _Atomic unsigned long seen;
static unsigned long fail_at;
static int fail_errno;

void fault_arm(unsigned sites, unsigned long nth, int err) {
    atomic_store(&seen, 0);
    fail_at = nth;
    fail_errno = err;
    atomic_store(&armed_sites, sites);
}

unsigned long fault_disarm(void) {
    atomic_store(&armed_sites, 0);
    return atomic_load(&seen);
}

bool fault_should_fail(enum fault_site site) {
    if (!(atomic_load(&armed_sites) & (unsigned)site)) return false;
    if (atomic_fetch_add(&seen, 1) + 1 != fail_at) return false;
    errno = fail_errno;
    return true;
}

// The wrapped functions (-Wl,--wrap=NAME sends the library's calls to __wrap_NAME).
void* __real_calloc(size_t n, size_t size);
void* __real_malloc(size_t size);
void* __real_realloc(void* p, size_t size);
void* __real_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_memfd_create(const char* name, unsigned flags);
int __real_ftruncate(int fd, off_t len);
int __real_eventfd(unsigned initval, int flags);
int __real_timer_create(clockid_t clock, struct sigevent* sev, timer_t* timer);
int __real_pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg);
int __real_ioctl(int fd, unsigned long request, void* arg);

void* __wrap_calloc(size_t n, size_t size);
void* __wrap_malloc(size_t size);
void* __wrap_realloc(void* p, size_t size);
void* __wrap_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_memfd_create(const char* name, unsigned flags);
int __wrap_ftruncate(int fd, off_t len);
int __wrap_eventfd(unsigned initval, int flags);
int __wrap_timer_create(clockid_t clock, struct sigevent* sev, timer_t* timer);
int __wrap_pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg);
int __wrap_ioctl(int fd, unsigned long request, ...);

void* __wrap_calloc(size_t n, size_t size) {
    return fault_should_fail(FAULT_ALLOC) ? NULL : __real_calloc(n, size);
}
void* __wrap_malloc(size_t size) {
    return fault_should_fail(FAULT_ALLOC) ? NULL : __real_malloc(size);
}
void* __wrap_realloc(void* p, size_t size) {
    return fault_should_fail(FAULT_ALLOC) ? NULL : __real_realloc(p, size);
}
void* __wrap_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
    if (!fault_should_fail(FAULT_MMAP)) return __real_mmap(addr, len, prot, flags, fd, off);
    if (errno == EMFILE) errno = ENFILE;  // mmap's descriptor-table error
    return MAP_FAILED;
}
int __wrap_memfd_create(const char* name, unsigned flags) {
    return fault_should_fail(FAULT_FD) ? -1 : __real_memfd_create(name, flags);
}
int __wrap_ftruncate(int fd, off_t len) {
    // ftruncate cannot run out of descriptors or memory: EFBIG and EIO are what it can give.
    if (!fault_should_fail(FAULT_FD)) return __real_ftruncate(fd, len);
    errno = errno == EMFILE ? EFBIG : EIO;
    return -1;
}
int __wrap_eventfd(unsigned initval, int flags) {
    return fault_should_fail(FAULT_FD) ? -1 : __real_eventfd(initval, flags);
}
int __wrap_timer_create(clockid_t clock, struct sigevent* sev, timer_t* timer) {
    if (!fault_should_fail(FAULT_FD)) return __real_timer_create(clock, sev, timer);
    errno = EAGAIN;  // its only resource error
    return -1;
}
int __wrap_pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
    // pthread_create returns the error instead of setting errno.
    return fault_should_fail(FAULT_FD) ? EAGAIN : __real_pthread_create(t, attr, fn, arg);
}
int __wrap_ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fault_should_fail(FAULT_IOCTL) ? -1 : __real_ioctl(fd, request, arg);
}
#endif  // ZXHV_FAULT_INJECTION
