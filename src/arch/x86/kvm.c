// zxhv: /dev/kvm and VM-level KVM calls.
#define _GNU_SOURCE
#include "arch/x86/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <zircon/errors.h>

// Guards system_fd. Once opened it stays open for the life of the process: every guest needs it.
static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static int system_fd = -1;

static zx_status_t open_errno_to_status(int err) {
    switch (err) {
        case EACCES:
        case EPERM:
        case EROFS:
            return ZX_ERR_ACCESS_DENIED;
        case EMFILE:
        case ENFILE:
            return ZX_ERR_NO_RESOURCES;
        case ENOMEM:
            return ZX_ERR_NO_MEMORY;
        default:  // ENOENT, ENODEV, ENXIO, ENOTDIR, EOPNOTSUPP...
            return ZX_ERR_NOT_SUPPORTED;
    }
}

zx_status_t kvm_system_fd(int* out) {
    pthread_mutex_lock(&system_lock);
    zx_status_t status = ZX_OK;
    if (system_fd < 0) {
        const char* path = getenv("ZXHV_KVM_DEVICE");
        if (path == NULL || path[0] == '\0') path = "/dev/kvm";
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            status = open_errno_to_status(errno);
        } else if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
                   ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
            // Not KVM (an ioctl on another kind of file fails), or a KVM we cannot drive.
            close(fd);
            status = ZX_ERR_NOT_SUPPORTED;
        } else {
            system_fd = fd;
        }
    }
    if (status == ZX_OK) *out = system_fd;
    pthread_mutex_unlock(&system_lock);
    return status;
}

zx_status_t kvm_vm_create(int* vm_fd) {
    int kvm;
    zx_status_t status = kvm_system_fd(&kvm);
    if (status != ZX_OK) return status;
    int fd;
    do {
        fd = ioctl(kvm, KVM_CREATE_VM, 0);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        switch (errno) {
            case EMFILE:
            case ENFILE:
                return ZX_ERR_NO_RESOURCES;
            case ENOMEM:
            case ENOSPC:
                return ZX_ERR_NO_MEMORY;
            default:
                return ZX_ERR_NOT_SUPPORTED;
        }
    }
    *vm_fd = fd;
    return ZX_OK;
}

uint32_t kvm_vm_max_vcpu_ids(int vm_fd) {
    int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
    if (n <= 0) n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    return n > 0 ? (uint32_t)n : 1u;
}

uint32_t kvm_vm_max_memslots(int vm_fd) {
    int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    // KVM documents 32 as the minimum when the capability is not reported.
    return n > 0 ? (uint32_t)n : 32u;
}

bool kvm_vm_has_readonly_mem(int vm_fd) {
    return ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
}

zx_status_t kvm_set_memslot(int vm_fd, uint32_t slot, bool readonly, uint64_t gpa, uint64_t size,
                            void* host) {
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = readonly ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    int rc;
    do {
        rc = ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return ZX_OK;
    switch (errno) {
        case ENOMEM:
            return ZX_ERR_NO_MEMORY;
        case EEXIST:
            return ZX_ERR_ALREADY_EXISTS;
        case EINVAL:
            return ZX_ERR_OUT_OF_RANGE;
        default:
            return ZX_ERR_INTERNAL;
    }
}

zx_status_t kvm_vm_route_msrs(int vm_fd) {
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X86_USER_SPACE_MSR,
        // x2APIC MSRs cannot be filtered; with no in-kernel APIC KVM rejects them as invalid,
        // which this sends to user space too. TSC_DEADLINE goes through the filter.
        .args = {KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER |
                 KVM_MSR_EXIT_REASON_INVAL},
    };
    if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
        ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0 ||
        ioctl(vm_fd, KVM_ENABLE_CAP, &cap) != 0) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    // A clear bit denies the MSR to KVM, which then asks user space.
    static uint8_t deny[8];
    struct kvm_msr_filter filter = {
        .flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
        .ranges =
            {
                {.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
                 .nmsrs = 1,
                 .base = 0x6e0,
                 .bitmap = deny},
            },
    };
    return ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &filter) == 0 ? ZX_OK : ZX_ERR_NOT_SUPPORTED;
}

zx_status_t kvm_vm_ioeventfd(int vm_fd, uint64_t gpa, uint32_t size, int fd, bool assign) {
    if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0) return ZX_ERR_NOT_SUPPORTED;
    struct kvm_ioeventfd ioeventfd = {
        .addr = gpa,
        .len = size,
        .fd = fd,
        .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
    };
    if (ioctl(vm_fd, KVM_IOEVENTFD, &ioeventfd) == 0) return ZX_OK;
    switch (errno) {
        case EEXIST:
            return ZX_ERR_ALREADY_EXISTS;
        case ENOMEM:
            return ZX_ERR_NO_MEMORY;
        case ENOSPC:  // KVM's bus is full (NR_IOBUS_DEVS)
            return ZX_ERR_NO_RESOURCES;
        default:
            return ZX_ERR_INTERNAL;
    }
}
