// zxhv bench: the zxhv side's guest, built only with the public API (as a VMM would).
#ifndef ZXHV_BENCH_ZX_GUEST_H_
#define ZXHV_BENCH_ZX_GUEST_H_

#include <stdint.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zircon/types.h>

struct zx_guest {
    zx_handle_t guest, vmar, vmo;
    uint8_t* host;  // the VMO mapped into this process, if asked for; else NULL
};

// Creates a guest with GUEST_RAM_SIZE bytes of RAM at GPA 0 holding the guest image; with
// |host_view|, the RAM is also mapped here so the host can read and write the data page.
void zx_guest_make(struct zx_guest* g, bool host_view);
void zx_guest_unmake(struct zx_guest* g);

// The hypervisor resource, made once.
zx_handle_t zx_hypervisor_resource(void);

// Resumes until a packet; it must be of |type| (and for GUEST_IO, at |port|).
void zx_resume_expect(zx_handle_t vcpu, uint8_t type, uint16_t port);

#endif  // ZXHV_BENCH_ZX_GUEST_H_
