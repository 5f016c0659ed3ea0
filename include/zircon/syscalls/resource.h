// zxhv: resource kinds (spec §2.7).
#ifndef ZIRCON_SYSCALLS_RESOURCE_H_
#define ZIRCON_SYSCALLS_RESOURCE_H_

#include <zircon/types.h>

#define ZX_RSRC_KIND_MMIO ((uint32_t)0u)
#define ZX_RSRC_KIND_IRQ ((uint32_t)1u)
#define ZX_RSRC_KIND_IOPORT ((uint32_t)2u)
#define ZX_RSRC_KIND_HYPERVISOR ((uint32_t)3u)
#define ZX_RSRC_KIND_ROOT ((uint32_t)4u)
#define ZX_RSRC_KIND_VMEX ((uint32_t)5u)
#define ZX_RSRC_KIND_COUNT ((uint32_t)6u)

#define ZX_RSRC_FLAG_EXCLUSIVE ((uint32_t)0x00010000u)
#define ZX_RSRC_FLAGS_MASK (ZX_RSRC_FLAG_EXCLUSIVE)

#define ZX_RSRC_EXTRACT_KIND(x) ((x) & 0x0000FFFF)
#define ZX_RSRC_EXTRACT_FLAGS(x) ((x) & 0xFFFF0000)

#endif  // ZIRCON_SYSCALLS_RESOURCE_H_
