// zxhv: forward declarations of the structs that system call prototypes name.
#ifndef ZIRCON_SYSCALLS_TYPES_H_
#define ZIRCON_SYSCALLS_TYPES_H_

typedef struct zx_port_packet zx_port_packet_t;

#endif  // ZIRCON_SYSCALLS_TYPES_H_
