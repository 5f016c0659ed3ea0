// zxhv bench: the raw-KVM baseline VMM (raw_kvm.h).
#define _GNU_SOURCE
#include "raw_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define RAW_KICK_SIGNAL SIGUSR2

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int kvm_fd = -1;
static int run_size;
static struct kvm_cpuid2* cpuid;

static void kick_handler(int sig);

// The kvm_run of the VCPU this thread runs, for the kick signal's handler.
static __thread struct kvm_run* volatile kick_run;

static void open_kvm(void) {
    kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    CHECK_SYS(kvm_fd);
    CHECK(ioctl(kvm_fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION, "KVM API version");
    run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    CHECK(run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
    for (uint32_t n = 128;; n *= 2) {
        cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
        CHECK(cpuid != NULL, "calloc");
        cpuid->nent = n;
        if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) break;
        CHECK(errno == E2BIG && n < 4096, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        free(cpuid);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    CHECK_SYS(sigaction(RAW_KICK_SIGNAL, &sa, NULL));
}

void raw_vm_create(struct raw_vm* vm) {
    pthread_once(&once, open_kvm);
    vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    CHECK_SYS(vm->fd);
    vm->mem = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(vm->mem != MAP_FAILED, "mmap: %s", strerror(errno));
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = GUEST_RAM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)vm->mem,
    };
    CHECK_SYS(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region));
    memcpy(vm->mem + GUEST_TABLES, guest_tables(), GUEST_TABLES_SIZE);
    memcpy(vm->mem + GUEST_CODE, guest_blob_start, (size_t)(guest_blob_end - guest_blob_start));
}

void raw_vm_destroy(struct raw_vm* vm) {
    close(vm->fd);
    munmap(vm->mem, GUEST_RAM_SIZE);
}

static void flat_segment(struct kvm_segment* s, uint8_t type, bool code_or_data) {
    memset(s, 0, sizeof(*s));
    s->limit = 0xffff;
    s->type = type;
    s->s = code_or_data;
    s->present = 1;
}

void raw_vcpu_create(struct raw_vm* vm, struct raw_vcpu* vcpu, uint64_t entry) {
    vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, 0ul);
    CHECK_SYS(vcpu->fd);
    vcpu->run_size = (size_t)run_size;
    vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    CHECK(vcpu->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno));
    CHECK_SYS(ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid));
    // The state the library gives a first VCPU (64-bit code, paging on, CR3 = 0), so that the
    // same guest code runs.
    struct kvm_sregs sregs;
    CHECK_SYS(ioctl(vcpu->fd, KVM_GET_SREGS, &sregs));
    flat_segment(&sregs.cs, 0xf, true);
    sregs.cs.l = 1;
    flat_segment(&sregs.ds, 3, true);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    flat_segment(&sregs.tr, 0xb, false);
    flat_segment(&sregs.ldt, 2, false);
    sregs.cr0 = 0x80000031;  // PG | NE | ET | PE
    sregs.cr3 = 0;
    sregs.cr4 = 0x20;    // PAE
    sregs.efer = 0xd01;  // NXE | LMA | LME | SCE
    CHECK_SYS(ioctl(vcpu->fd, KVM_SET_SREGS, &sregs));
    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = entry;
    regs.rflags = 2;
    CHECK_SYS(ioctl(vcpu->fd, KVM_SET_REGS, &regs));
    vcpu->thread = pthread_self();
}

void raw_vcpu_destroy(struct raw_vcpu* vcpu) {
    if (kick_run == vcpu->run) kick_run = NULL;  // a late kick must not touch the unmapped area
    munmap(vcpu->run, vcpu->run_size);
    close(vcpu->fd);
}

int raw_run(struct raw_vcpu* vcpu) {
    if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
        int err = errno;
        if (err == EINTR) __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        return -err;
    }
    return (int)vcpu->run->exit_reason;
}

int raw_run_expect_any(struct raw_vcpu* vcpu) {
    for (;;) {
        int r = raw_run(vcpu);
        if (r == -EINTR) continue;
        CHECK(r >= 0, "KVM_RUN: %s", strerror(-r));
        return r;
    }
}

int raw_run_expect(struct raw_vcpu* vcpu, uint32_t want) {
    int r = raw_run_expect_any(vcpu);
    CHECK(r == (int)want, "KVM_RUN gave exit %d, want %u", r, want);
    return r;
}

// ---- kicks

static void kick_handler(int sig) {
    (void)sig;
    struct kvm_run* run = kick_run;
    if (run != NULL) __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void raw_kick_prepare(struct raw_vcpu* vcpu) {
    pthread_once(&once, open_kvm);
    kick_run = vcpu->run;
    vcpu->thread = pthread_self();
}

void raw_kick(struct raw_vcpu* vcpu) {
    pthread_kill(vcpu->thread, RAW_KICK_SIGNAL);
}

int raw_ioeventfd(struct raw_vm* vm, uint64_t gpa, uint32_t len) {
    int fd = eventfd(0, EFD_CLOEXEC);
    CHECK_SYS(fd);
    struct kvm_ioeventfd io = {.addr = gpa, .len = len, .fd = fd};
    CHECK_SYS(ioctl(vm->fd, KVM_IOEVENTFD, &io));
    return fd;
}

void futex_wait_while(atomic_uint* word, unsigned value) {
    while (atomic_load(word) == value) {
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
    }
}

bool futex_wait_while_for(atomic_uint* word, unsigned value, uint64_t ns) {
    uint64_t deadline = monotonic_ns() + ns;
    while (atomic_load(word) == value) {
        uint64_t now = monotonic_ns();
        if (now >= deadline) return false;
        struct timespec left = {.tv_sec = (time_t)((deadline - now) / 1000000000u),
                                .tv_nsec = (long)((deadline - now) % 1000000000u)};
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, &left, NULL, 0);
    }
    return true;
}

void futex_wake_all(atomic_uint* word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}
