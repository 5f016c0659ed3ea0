// zxhv: the thin layer over /dev/kvm. Every errno from KVM is turned into a zx_status_t here and
// nowhere else (../shared/STYLE.md).
#ifndef ZXHV_ARCH_X86_KVM_H_
#define ZXHV_ARCH_X86_KVM_H_

#include <stdbool.h>
#include <stdint.h>
#include <zircon/types.h>

// Opens (once per process) /dev/kvm and checks the API version and the capabilities zxhv needs.
// The path can be overridden with the ZXHV_KVM_DEVICE environment variable (for tests).
// Errors: ZX_ERR_NOT_SUPPORTED (no KVM, or one too old), ZX_ERR_ACCESS_DENIED (not permitted to
// open it), ZX_ERR_NO_RESOURCES (out of file descriptors).
zx_status_t kvm_system_fd(int* out);

// Creates a VM. Errors: as kvm_system_fd, plus ZX_ERR_NO_MEMORY and ZX_ERR_NO_RESOURCES.
zx_status_t kvm_vm_create(int* vm_fd);

// The number of VCPU ids a VM can use (KVM_CAP_MAX_VCPU_ID, else KVM_CAP_MAX_VCPUS).
uint32_t kvm_vm_max_vcpu_ids(int vm_fd);

// Sends the x2APIC MSRs (0x800-0x8FF: with no in-kernel APIC KVM rejects them, and rejected
// accesses come to user space), IA32_TSC_DEADLINE (through an MSR filter) and every MSR KVM does
// not know to user space as KVM_EXIT_X86_RDMSR/WRMSR. Errors: ZX_ERR_NOT_SUPPORTED (KVM too old: such accesses
// then #GP in the guest, docs/host-differences.md).
zx_status_t kvm_vm_route_msrs(int vm_fd);

// How many memslots a VM can have, and whether read-only ones are supported.
uint32_t kvm_vm_max_memslots(int vm_fd);
bool kvm_vm_has_readonly_mem(int vm_fd);

// Describes guest physical [gpa, gpa + size) as host memory at |host|; size 0 deletes the slot.
zx_status_t kvm_set_memslot(int vm_fd, uint32_t slot, bool readonly, uint64_t gpa, uint64_t size,
                            void* host);

// Makes |size|-byte guest writes at MMIO address |gpa| increment eventfd |fd| without an exit
// (KVM_IOEVENTFD), or undoes that (!assign). Errors: ZX_ERR_NOT_SUPPORTED (no ioeventfds),
// ZX_ERR_ALREADY_EXISTS, ZX_ERR_NO_MEMORY, ZX_ERR_NO_RESOURCES (KVM's MMIO bus is full),
// ZX_ERR_INTERNAL (any other errno).
zx_status_t kvm_vm_ioeventfd(int vm_fd, uint64_t gpa, uint32_t size, int fd, bool assign);

#endif  // ZXHV_ARCH_X86_KVM_H_
