// zxhv bench: the raw-KVM baseline, a minimal VMM written directly against linux/kvm.h. It does
// what a hand-written VMM must do to run the same guest code (64-bit mode at the entry, the same
// CPUID source) and nothing more: no in-kernel irqchip, no register syncing, anonymous memory.
#ifndef ZXHV_BENCH_RAW_KVM_H_
#define ZXHV_BENCH_RAW_KVM_H_

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct raw_vm {
    int fd;
    uint8_t* mem;  // GUEST_RAM_SIZE bytes at GPA 0
};

struct raw_vcpu {
    int fd;
    struct kvm_run* run;
    size_t run_size;
    pthread_t thread;
};

// Creates a VM with GUEST_RAM_SIZE bytes of anonymous memory at GPA 0 holding the guest image.
void raw_vm_create(struct raw_vm* vm);
void raw_vm_destroy(struct raw_vm* vm);

// Creates VCPU 0 in 64-bit mode at |entry| (CR3 = 0), with KVM's supported CPUID (fetched once
// per process, with /dev/kvm).
void raw_vcpu_create(struct raw_vm* vm, struct raw_vcpu* vcpu, uint64_t entry);
void raw_vcpu_destroy(struct raw_vcpu* vcpu);

// One KVM_RUN: the exit reason, or -errno (-EINTR after a kick, which is then cleared).
int raw_run(struct raw_vcpu* vcpu);

// Runs (again after a kick) until an exit, which must be |want|; returns it.
int raw_run_expect(struct raw_vcpu* vcpu, uint32_t want);
// Runs (again after a kick) until an exit and returns its reason; fails on errors.
int raw_run_expect_any(struct raw_vcpu* vcpu);

// Kicks: a signal that makes KVM_RUN return EINTR, with immediate_exit closing the race with a
// thread about to enter it. raw_kick_prepare() on the VCPU's thread before its first KVM_RUN.
void raw_kick_prepare(struct raw_vcpu* vcpu);
void raw_kick(struct raw_vcpu* vcpu);

// An ioeventfd at |gpa| for |len|-byte writes; the eventfd.
int raw_ioeventfd(struct raw_vm* vm, uint64_t gpa, uint32_t len);

// A futex word and its calls (the cheapest way for one thread to sleep until another says).
void futex_wait_while(atomic_uint* word, unsigned value);
// The same for at most |ns| nanoseconds; returns whether the word changed.
bool futex_wait_while_for(atomic_uint* word, unsigned value, uint64_t ns);
void futex_wake_all(atomic_uint* word);

#endif  // ZXHV_BENCH_RAW_KVM_H_
