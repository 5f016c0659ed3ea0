// zxhv: zx_object_get_info topics and records (spec §1.9, §2.8).
#ifndef ZIRCON_SYSCALLS_OBJECT_H_
#define ZIRCON_SYSCALLS_OBJECT_H_

#include <zircon/types.h>

__BEGIN_CDECLS

typedef enum {
    ZX_INFO_NONE = 0,
    ZX_INFO_HANDLE_VALID = 1,
    ZX_INFO_HANDLE_BASIC = 2,  // zx_info_handle_basic_t[1]
    ZX_INFO_PROCESS = 3,
    ZX_INFO_PROCESS_THREADS = 4,
    ZX_INFO_VMAR = 7,
    ZX_INFO_JOB_CHILDREN = 8,
    ZX_INFO_JOB_PROCESSES = 9,
    ZX_INFO_THREAD = 10,
    ZX_INFO_THREAD_EXCEPTION_REPORT = 11,
    ZX_INFO_TASK_STATS = 12,
    ZX_INFO_PROCESS_MAPS = 13,
    ZX_INFO_PROCESS_VMOS = 14,
    ZX_INFO_THREAD_STATS = 15,
    ZX_INFO_CPU_STATS = 16,
    ZX_INFO_KMEM_STATS = 17,
    ZX_INFO_RESOURCE = 18,
    ZX_INFO_HANDLE_COUNT = 19,
    ZX_INFO_BTI = 20,
    ZX_INFO_PROCESS_HANDLE_STATS = 21,
    ZX_INFO_LAST
} zx_object_info_topic_t;

typedef enum {
    ZX_OBJ_PROP_NONE = 0,
    ZX_OBJ_PROP_WAITABLE = 1,
} zx_obj_props_t;

typedef struct zx_info_handle_basic {
    // Kernel object id of the object the handle refers to.
    zx_koid_t koid;
    // The rights of this handle.
    zx_rights_t rights;
    // zx_obj_type_t of the object.
    uint32_t type;
    // Koid of a related object (the peer of a channel, say), or 0. Always 0 for the objects zxhv
    // implements, as on Zircon.
    zx_koid_t related_koid;
    // zx_obj_props_t: ZX_OBJ_PROP_WAITABLE if the object can be waited on.
    uint32_t props;
} zx_info_handle_basic_t;

__END_CDECLS

#endif  // ZIRCON_SYSCALLS_OBJECT_H_
