// zxhv: the project's own additions to the Zircon API. Everything here is an extension; code that
// must also build on Zircon should keep to <zircon/...>.
#ifndef ZXHV_H_
#define ZXHV_H_

#include <zircon/types.h>

__BEGIN_CDECLS

// The library's version, "MAJOR.MINOR.PATCH".
const char* zxhv_version(void);

// Creates a new handle to the ROOT resource (rights ZX_DEFAULT_RESOURCE_RIGHTS) in *out.
// On Zircon a privileged process is handed this resource; here any process may ask. A ROOT
// resource can create resources of any kind with zx_resource_create, and zx_guest_create accepts
// it as well as a HYPERVISOR resource.
// Errors: ZX_ERR_INVALID_ARGS if out is NULL or not writable; ZX_ERR_NO_MEMORY;
// ZX_ERR_NO_RESOURCES (the handle table is full).
zx_status_t zxhv_root_resource_get(zx_handle_t* out);

// Makes the current or next zx_vcpu_resume of |vcpu| return ZX_ERR_CANCELED as soon as possible
// (later Zircon's zx_vcpu_kick, spec §1.8). Several kicks before that resume count as one. May be
// called from any thread. Rights: ZX_RIGHT_EXECUTE.
// Errors: ZX_ERR_BAD_HANDLE, ZX_ERR_ACCESS_DENIED, ZX_ERR_WRONG_TYPE.
zx_status_t zx_vcpu_kick(zx_handle_t vcpu);

// The memory access that caused the last ZX_PKT_TYPE_GUEST_MEM packet of |vcpu|, as KVM decoded
// it, so that a VMM need not decode x86 instructions itself (zxhv extension).
typedef struct zxhv_mem_access {
    zx_gpaddr_t addr;  // the guest physical address (as in the packet)
    uint8_t size;      // 1, 2, 4 or 8 bytes
    bool write;        // true for a store
    uint8_t reserved[6];
    uint64_t data;     // for a store: the value stored
} zxhv_mem_access_t;

// Reads the decoded access of the last GUEST_MEM packet returned by zx_vcpu_resume on |vcpu|.
// Call it on the VCPU's thread before the next resume. Rights: ZX_RIGHT_READ.
// Errors: ZX_ERR_BAD_HANDLE, ZX_ERR_ACCESS_DENIED, ZX_ERR_WRONG_TYPE, ZX_ERR_BAD_STATE (another
// thread, or no GUEST_MEM packet pending), ZX_ERR_INVALID_ARGS (bad pointer).
zx_status_t zxhv_vcpu_mem_access(zx_handle_t vcpu, zxhv_mem_access_t* access);

// Completes the load of the last GUEST_MEM packet of |vcpu| with |value| (its low |size| bytes):
// the destination register gets it as if memory had held it. An alternative to writing the
// register with zx_vcpu_write_state; call it before reading or writing the state. Rights:
// ZX_RIGHT_WRITE. Errors: ZX_ERR_BAD_HANDLE, ZX_ERR_ACCESS_DENIED, ZX_ERR_WRONG_TYPE,
// ZX_ERR_BAD_STATE (another thread; no load pending: the packet was a store, or the state has
// been read or written since).
zx_status_t zxhv_vcpu_mem_complete_read(zx_handle_t vcpu, uint64_t value);

// Options of zxhv_guest_set_bell_fastpath.
#define ZXHV_BELL_EXACT 0u     // one GUEST_BELL packet per guest write
#define ZXHV_BELL_COALESCE 1u  // writes made before the library catches up give one packet

// Lets the guest's |size|-byte writes at |addr| (1, 2, 4 or 8 bytes), inside a BELL trap set with
// zx_guest_set_trap, reach the trap's port without an exit to the VCPU's thread: KVM counts them
// in an ioeventfd, and a library thread queues the GUEST_BELL packets (addr = |addr|, the trap's
// key). Writes of another size, or elsewhere in the trap, still go through zx_vcpu_resume's exit
// path, and their packets never overtake earlier fast-path writes. Unlike the exit path, a fast
// path never makes the VCPU wait: beyond 256 unread packets further writes stay counted in the
// kernel until packets are read, and writes made after every handle to the port was closed are
// dropped without a ZX_ERR_BAD_STATE from resume (docs/host-differences.md §5.9). The fast path
// lasts as long as the guest. Rights: ZX_RIGHT_WRITE on the guest.
// Errors: ZX_ERR_BAD_HANDLE, ZX_ERR_ACCESS_DENIED, ZX_ERR_WRONG_TYPE; ZX_ERR_INVALID_ARGS (unknown
// options, or a size other than 1, 2, 4, 8); ZX_ERR_OUT_OF_RANGE (addr + size overflows);
// ZX_ERR_NOT_FOUND (no BELL trap holds [addr, addr + size)); ZX_ERR_ALREADY_EXISTS (a fast path
// at addr); ZX_ERR_NOT_SUPPORTED (KVM without ioeventfds); ZX_ERR_NO_RESOURCES, ZX_ERR_NO_MEMORY.
zx_status_t zxhv_guest_set_bell_fastpath(zx_handle_t guest, zx_gpaddr_t addr, uint32_t size,
                                         uint32_t options);

__END_CDECLS

#endif  // ZXHV_H_
