// zxhv: test-only failure injection. A library built with -DZXHV_FAULT_INJECTION and linked with
// -Wl,--wrap for each function below (tests/CMakeLists.txt, zxhv_fault) sends the library's
// calls to calloc, malloc, realloc, mmap, memfd_create, ftruncate, eventfd, timer_create,
// pthread_create and ioctl through fault_should_fail first, so a test can make the Nth of them
// fail and check that the NO_MEMORY / NO_RESOURCES paths leave no handle, descriptor, mapping or
// memory behind (tests/robustness_fault.c). Nothing here exists in a normal build: the call sites
// are untouched, and the wrapping is done by the linker.
#ifndef ZXHV_UTIL_FAULT_H_
#define ZXHV_UTIL_FAULT_H_

#include <stdbool.h>

// Which calls a test may make fail.
enum fault_site {
    FAULT_ALLOC = 1u << 0,  // calloc, malloc, realloc: return NULL
    FAULT_MMAP = 1u << 1,   // mmap: MAP_FAILED
    FAULT_FD = 1u << 2,     // memfd_create, ftruncate, eventfd, timer_create, pthread_create
    FAULT_IOCTL = 1u << 3,  // ioctl (every KVM call)
    FAULT_ALL = 0xfu,
};

#ifdef ZXHV_FAULT_INJECTION
// Counts a call at |site| while armed; returns true (with errno set) for the one that must fail.
bool fault_should_fail(enum fault_site site);

// Makes the |nth| (1: the next) call at any of |sites| fail with |err| (errno; allocations just
// return NULL; a function that cannot give |err| gives its nearest real error: ftruncate EFBIG
// for EMFILE and EIO for ENOMEM, mmap ENFILE for EMFILE, timer_create and pthread_create EAGAIN),
// and no other. Calls are counted from now until fault_disarm.
void fault_arm(unsigned sites, unsigned long nth, int err);

// Stops injecting; returns how many calls at the armed sites were seen since fault_arm.
unsigned long fault_disarm(void);
#endif

#endif  // ZXHV_UTIL_FAULT_H_
