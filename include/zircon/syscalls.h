// zxhv: the Zircon system calls that zxhv implements, with Zircon's 2018 signatures.
#ifndef ZIRCON_SYSCALLS_H_
#define ZIRCON_SYSCALLS_H_

#include <zircon/errors.h>
#include <zircon/types.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/types.h>

__BEGIN_CDECLS

// Time.
zx_time_t zx_clock_get_monotonic(void);
zx_time_t zx_deadline_after(zx_duration_t nanoseconds);
zx_status_t zx_nanosleep(zx_time_t deadline);

// Handles.
zx_status_t zx_handle_close(zx_handle_t handle);
zx_status_t zx_handle_duplicate(zx_handle_t handle, zx_rights_t rights, zx_handle_t* out);
zx_status_t zx_handle_replace(zx_handle_t handle, zx_rights_t rights, zx_handle_t* out);

// Objects.
zx_status_t zx_object_get_info(zx_handle_t handle, uint32_t topic, void* buffer,
                               size_t buffer_size, size_t* actual, size_t* avail);

// Resources.
zx_status_t zx_resource_create(zx_handle_t parent_rsrc, uint32_t options, uint64_t base,
                               size_t size, const char* name, size_t name_size,
                               zx_handle_t* resource_out);

// Virtual memory objects.
zx_status_t zx_vmo_create(uint64_t size, uint32_t options, zx_handle_t* out);
zx_status_t zx_vmo_read(zx_handle_t handle, void* buffer, uint64_t offset, size_t buffer_size);
zx_status_t zx_vmo_write(zx_handle_t handle, const void* buffer, uint64_t offset,
                         size_t buffer_size);
zx_status_t zx_vmo_get_size(zx_handle_t handle, uint64_t* size);
zx_status_t zx_vmo_set_size(zx_handle_t handle, uint64_t size);

// Virtual memory address regions.
zx_status_t zx_vmar_map(zx_handle_t handle, zx_vm_option_t options, uint64_t vmar_offset,
                        zx_handle_t vmo, uint64_t vmo_offset, uint64_t len,
                        zx_vaddr_t* mapped_addr);
zx_status_t zx_vmar_unmap(zx_handle_t handle, zx_vaddr_t addr, uint64_t len);

// Ports.
zx_status_t zx_port_create(uint32_t options, zx_handle_t* out);
zx_status_t zx_port_queue(zx_handle_t handle, const zx_port_packet_t* packet);
zx_status_t zx_port_wait(zx_handle_t handle, zx_time_t deadline, zx_port_packet_t* packet);

// Hypervisor.
zx_status_t zx_guest_create(zx_handle_t resource, uint32_t options, zx_handle_t* guest_handle,
                            zx_handle_t* vmar_handle);
zx_status_t zx_guest_set_trap(zx_handle_t guest, uint32_t kind, zx_vaddr_t addr, size_t len,
                              zx_handle_t port, uint64_t key);
zx_status_t zx_vcpu_create(zx_handle_t guest, uint32_t options, zx_vaddr_t entry,
                           zx_handle_t* out);
zx_status_t zx_vcpu_resume(zx_handle_t vcpu, zx_port_packet_t* packet);
zx_status_t zx_vcpu_interrupt(zx_handle_t vcpu, uint32_t vector);
zx_status_t zx_vcpu_read_state(zx_handle_t vcpu, uint32_t kind, void* buffer, size_t buffer_size);
zx_status_t zx_vcpu_write_state(zx_handle_t vcpu, uint32_t kind, const void* buffer,
                                size_t buffer_size);

__END_CDECLS

#endif  // ZIRCON_SYSCALLS_H_
