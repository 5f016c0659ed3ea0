// zxhv tests: the ABI. Struct sizes and offsets are checked at compile time, so a layout that
// differs from Zircon's 2018 ABI (spec §2.1, §2.2, §1.9) makes this file fail to build. Constant
// values (spec §2.3-§2.8, notes §8) are checked at run time, one table per header, so a failure
// names the constant. zx_status_get_string is checked here too, against the same error table.
#include "helpers.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zircon/syscalls/hypervisor.h>

#define SIZE(type, n) _Static_assert(sizeof(type) == (n), "sizeof(" #type ") != " #n)
#define ALIGN(type, n) _Static_assert(_Alignof(type) == (n), "_Alignof(" #type ") != " #n)
#define FIELD(type, field, off, size)                                                     \
    _Static_assert(offsetof(type, field) == (off), "offsetof(" #type ", " #field ") != " #off); \
    _Static_assert(sizeof(((type*)0)->field) == (size), "sizeof(" #type "." #field ") != " #size)
#define IS_TYPE(expr, type) _Static_assert(_Generic((expr), type: 1, default: 0), #expr " is not " #type)

// spec §2.3: the basic types.
IS_TYPE((zx_handle_t)0, uint32_t);
IS_TYPE((zx_status_t)0, int32_t);
IS_TYPE((zx_time_t)0, int64_t);
IS_TYPE((zx_duration_t)0, int64_t);
IS_TYPE((zx_ticks_t)0, uint64_t);
IS_TYPE((zx_rights_t)0, uint32_t);
IS_TYPE((zx_koid_t)0, uint64_t);
IS_TYPE((zx_vaddr_t)0, uintptr_t);
IS_TYPE((zx_paddr_t)0, uintptr_t);
IS_TYPE((zx_gpaddr_t)0, uintptr_t);
IS_TYPE((zx_off_t)0, uint64_t);
IS_TYPE((zx_vm_option_t)0, uint32_t);
IS_TYPE((zx_obj_type_t)0, uint32_t);
IS_TYPE((zx_guest_trap_t)0, uint32_t);
IS_TYPE((zx_vcpu_t)0, uint32_t);
// notes §8: the error codes are plain ints, and the handle constant is a zx_handle_t.
IS_TYPE(ZX_OK, int);
IS_TYPE(ZX_ERR_INVALID_ARGS, int);
IS_TYPE(ZX_ERR_CONNECTION_ABORTED, int);
IS_TYPE(ZX_HANDLE_INVALID, zx_handle_t);
IS_TYPE(ZX_TIME_INFINITE, int64_t);

// spec §2.1: hypervisor.h.
#if defined(__x86_64__)
SIZE(zx_vcpu_state_t, 136);
ALIGN(zx_vcpu_state_t, 8);
FIELD(zx_vcpu_state_t, rax, 0, 8);
FIELD(zx_vcpu_state_t, rcx, 8, 8);
FIELD(zx_vcpu_state_t, rdx, 16, 8);
FIELD(zx_vcpu_state_t, rbx, 24, 8);
FIELD(zx_vcpu_state_t, rsp, 32, 8);
FIELD(zx_vcpu_state_t, rbp, 40, 8);
FIELD(zx_vcpu_state_t, rsi, 48, 8);
FIELD(zx_vcpu_state_t, rdi, 56, 8);
FIELD(zx_vcpu_state_t, r8, 64, 8);
FIELD(zx_vcpu_state_t, r9, 72, 8);
FIELD(zx_vcpu_state_t, r10, 80, 8);
FIELD(zx_vcpu_state_t, r11, 88, 8);
FIELD(zx_vcpu_state_t, r12, 96, 8);
FIELD(zx_vcpu_state_t, r13, 104, 8);
FIELD(zx_vcpu_state_t, r14, 112, 8);
FIELD(zx_vcpu_state_t, r15, 120, 8);
FIELD(zx_vcpu_state_t, rflags, 128, 8);
#elif defined(__aarch64__)
SIZE(zx_vcpu_state_t, 264);
FIELD(zx_vcpu_state_t, x, 0, 248);
FIELD(zx_vcpu_state_t, sp, 248, 8);
FIELD(zx_vcpu_state_t, cpsr, 256, 4);
#endif
SIZE(zx_vcpu_io_t, 8);
ALIGN(zx_vcpu_io_t, 4);
FIELD(zx_vcpu_io_t, access_size, 0, 1);
FIELD(zx_vcpu_io_t, u8, 4, 1);
FIELD(zx_vcpu_io_t, u16, 4, 2);
FIELD(zx_vcpu_io_t, u32, 4, 4);
FIELD(zx_vcpu_io_t, data, 4, 4);

// spec §2.2: port.h.
SIZE(zx_port_packet_t, 48);
FIELD(zx_port_packet_t, key, 0, 8);
FIELD(zx_port_packet_t, type, 8, 4);
FIELD(zx_port_packet_t, status, 12, 4);
FIELD(zx_port_packet_t, user, 16, 32);
FIELD(zx_port_packet_t, signal, 16, 32);
FIELD(zx_port_packet_t, exception, 16, 32);
FIELD(zx_port_packet_t, guest_bell, 16, 32);
FIELD(zx_port_packet_t, guest_mem, 16, 32);
FIELD(zx_port_packet_t, guest_io, 16, 32);
FIELD(zx_port_packet_t, guest_vcpu, 16, 32);
FIELD(zx_port_packet_t, interrupt, 16, 8);
IS_TYPE(((zx_port_packet_t*)0)->status, int32_t);

SIZE(zx_packet_user_t, 32);
FIELD(zx_packet_user_t, u64, 0, 32);
FIELD(zx_packet_user_t, u32, 0, 32);
FIELD(zx_packet_user_t, u16, 0, 32);
FIELD(zx_packet_user_t, c8, 0, 32);

SIZE(zx_packet_signal_t, 32);
FIELD(zx_packet_signal_t, trigger, 0, 4);
FIELD(zx_packet_signal_t, observed, 4, 4);
FIELD(zx_packet_signal_t, count, 8, 8);
FIELD(zx_packet_signal_t, reserved0, 16, 8);
FIELD(zx_packet_signal_t, reserved1, 24, 8);

SIZE(zx_packet_exception_t, 32);
FIELD(zx_packet_exception_t, pid, 0, 8);
FIELD(zx_packet_exception_t, tid, 8, 8);
FIELD(zx_packet_exception_t, reserved0, 16, 8);
FIELD(zx_packet_exception_t, reserved1, 24, 8);

SIZE(zx_packet_guest_bell_t, 32);
FIELD(zx_packet_guest_bell_t, addr, 0, 8);
FIELD(zx_packet_guest_bell_t, reserved0, 8, 8);
FIELD(zx_packet_guest_bell_t, reserved1, 16, 8);
FIELD(zx_packet_guest_bell_t, reserved2, 24, 8);

SIZE(zx_packet_guest_mem_t, 32);
FIELD(zx_packet_guest_mem_t, addr, 0, 8);
#if defined(__x86_64__)
_Static_assert(X86_MAX_INST_LEN == 15u, "X86_MAX_INST_LEN != 15");
FIELD(zx_packet_guest_mem_t, inst_len, 8, 1);
FIELD(zx_packet_guest_mem_t, inst_buf, 9, 15);
FIELD(zx_packet_guest_mem_t, default_operand_size, 24, 1);
FIELD(zx_packet_guest_mem_t, reserved, 25, 7);
#elif defined(__aarch64__)
FIELD(zx_packet_guest_mem_t, access_size, 8, 1);
FIELD(zx_packet_guest_mem_t, sign_extend, 9, 1);
FIELD(zx_packet_guest_mem_t, xt, 10, 1);
FIELD(zx_packet_guest_mem_t, read, 11, 1);
FIELD(zx_packet_guest_mem_t, data, 16, 8);
FIELD(zx_packet_guest_mem_t, reserved, 24, 8);
#endif

SIZE(zx_packet_guest_io_t, 32);
FIELD(zx_packet_guest_io_t, port, 0, 2);
FIELD(zx_packet_guest_io_t, access_size, 2, 1);
FIELD(zx_packet_guest_io_t, input, 3, 1);
FIELD(zx_packet_guest_io_t, u8, 4, 1);
FIELD(zx_packet_guest_io_t, u16, 4, 2);
FIELD(zx_packet_guest_io_t, u32, 4, 4);
FIELD(zx_packet_guest_io_t, data, 4, 4);
FIELD(zx_packet_guest_io_t, reserved0, 8, 8);
FIELD(zx_packet_guest_io_t, reserved1, 16, 8);
FIELD(zx_packet_guest_io_t, reserved2, 24, 8);

SIZE(zx_packet_guest_vcpu_t, 32);
FIELD(zx_packet_guest_vcpu_t, interrupt.mask, 0, 8);
FIELD(zx_packet_guest_vcpu_t, interrupt.vector, 8, 1);
FIELD(zx_packet_guest_vcpu_t, startup.id, 0, 8);
FIELD(zx_packet_guest_vcpu_t, startup.entry, 8, 8);
FIELD(zx_packet_guest_vcpu_t, type, 16, 1);
FIELD(zx_packet_guest_vcpu_t, reserved, 24, 8);

SIZE(zx_packet_interrupt_t, 8);
FIELD(zx_packet_interrupt_t, timestamp, 0, 8);

// spec §1.9 and notes §8: the ZX_INFO_HANDLE_BASIC record (4 bytes of tail padding).
SIZE(zx_info_handle_basic_t, 32);
FIELD(zx_info_handle_basic_t, koid, 0, 8);
FIELD(zx_info_handle_basic_t, rights, 8, 4);
FIELD(zx_info_handle_basic_t, type, 12, 4);
FIELD(zx_info_handle_basic_t, related_koid, 16, 8);
FIELD(zx_info_handle_basic_t, props, 24, 4);

struct constant {
    const char* name;
    int64_t value;
    int64_t want;
};

#define C(name, want) {#name, (int64_t)(name), (int64_t)(want)}

static void check_constants(const struct constant* table, size_t n) {
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq(table[i].value, table[i].want, "%s is %#llx, want %#llx", table[i].name,
                     (unsigned long long)table[i].value, (unsigned long long)table[i].want);
    }
}

#define CHECK(table) check_constants(table, sizeof(table) / sizeof(table[0]))

// spec §2.5 (errors.h), in the order of the header.
static const struct constant kErrors[] = {
    C(ZX_OK, 0),
    C(ZX_ERR_INTERNAL, -1),
    C(ZX_ERR_NOT_SUPPORTED, -2),
    C(ZX_ERR_NO_RESOURCES, -3),
    C(ZX_ERR_NO_MEMORY, -4),
    C(ZX_ERR_INTERNAL_INTR_RETRY, -6),
    C(ZX_ERR_INVALID_ARGS, -10),
    C(ZX_ERR_BAD_HANDLE, -11),
    C(ZX_ERR_WRONG_TYPE, -12),
    C(ZX_ERR_BAD_SYSCALL, -13),
    C(ZX_ERR_OUT_OF_RANGE, -14),
    C(ZX_ERR_BUFFER_TOO_SMALL, -15),
    C(ZX_ERR_BAD_STATE, -20),
    C(ZX_ERR_TIMED_OUT, -21),
    C(ZX_ERR_SHOULD_WAIT, -22),
    C(ZX_ERR_CANCELED, -23),
    C(ZX_ERR_PEER_CLOSED, -24),
    C(ZX_ERR_NOT_FOUND, -25),
    C(ZX_ERR_ALREADY_EXISTS, -26),
    C(ZX_ERR_ALREADY_BOUND, -27),
    C(ZX_ERR_UNAVAILABLE, -28),
    C(ZX_ERR_ACCESS_DENIED, -30),
    C(ZX_ERR_IO, -40),
    C(ZX_ERR_IO_REFUSED, -41),
    C(ZX_ERR_IO_DATA_INTEGRITY, -42),
    C(ZX_ERR_IO_DATA_LOSS, -43),
    C(ZX_ERR_IO_NOT_PRESENT, -44),
    C(ZX_ERR_IO_OVERRUN, -45),
    C(ZX_ERR_IO_MISSED_DEADLINE, -46),
    C(ZX_ERR_IO_INVALID, -47),
    C(ZX_ERR_BAD_PATH, -50),
    C(ZX_ERR_NOT_DIR, -51),
    C(ZX_ERR_NOT_FILE, -52),
    C(ZX_ERR_FILE_BIG, -53),
    C(ZX_ERR_NO_SPACE, -54),
    C(ZX_ERR_NOT_EMPTY, -55),
    C(ZX_ERR_STOP, -60),
    C(ZX_ERR_NEXT, -61),
    C(ZX_ERR_ASYNC, -62),
    C(ZX_ERR_PROTOCOL_NOT_SUPPORTED, -70),
    C(ZX_ERR_ADDRESS_UNREACHABLE, -71),
    C(ZX_ERR_ADDRESS_IN_USE, -72),
    C(ZX_ERR_NOT_CONNECTED, -73),
    C(ZX_ERR_CONNECTION_REFUSED, -74),
    C(ZX_ERR_CONNECTION_RESET, -75),
    C(ZX_ERR_CONNECTION_ABORTED, -76),
};

Test(abi, error_codes_have_zircon_values) { CHECK(kErrors); }

// spec §2.4: single rights, groups, and the default rights of <zircon/rights.h>.
Test(abi, rights_have_zircon_values) {
    static const struct constant kRights[] = {
        C(ZX_RIGHT_NONE, 0),
        C(ZX_RIGHT_DUPLICATE, 0x1),
        C(ZX_RIGHT_TRANSFER, 0x2),
        C(ZX_RIGHT_READ, 0x4),
        C(ZX_RIGHT_WRITE, 0x8),
        C(ZX_RIGHT_EXECUTE, 0x10),
        C(ZX_RIGHT_MAP, 0x20),
        C(ZX_RIGHT_GET_PROPERTY, 0x40),
        C(ZX_RIGHT_SET_PROPERTY, 0x80),
        C(ZX_RIGHT_ENUMERATE, 0x100),
        C(ZX_RIGHT_DESTROY, 0x200),
        C(ZX_RIGHT_SET_POLICY, 0x400),
        C(ZX_RIGHT_GET_POLICY, 0x800),
        C(ZX_RIGHT_SIGNAL, 0x1000),
        C(ZX_RIGHT_SIGNAL_PEER, 0x2000),
        C(ZX_RIGHT_WAIT, 0x4000),
        C(ZX_RIGHT_INSPECT, 0x8000),
        C(ZX_RIGHT_MANAGE_JOB, 0x10000),
        C(ZX_RIGHT_MANAGE_PROCESS, 0x20000),
        C(ZX_RIGHT_MANAGE_THREAD, 0x40000),
        C(ZX_RIGHT_APPLY_PROFILE, 0x80000),
        C(ZX_RIGHT_SAME_RIGHTS, 0x80000000u),
        C(ZX_RIGHTS_BASIC, 0xc003),
        C(ZX_RIGHTS_IO, 0xc),
        C(ZX_RIGHTS_PROPERTY, 0xc0),
    };
    CHECK(kRights);
}

Test(abi, default_rights_have_zircon_values) {
    static const struct constant kDefaults[] = {
        C(ZX_DEFAULT_GUEST_RIGHTS, 0x2000b),
        C(ZX_DEFAULT_VCPU_RIGHTS, 0xd01f),
        C(ZX_DEFAULT_VMAR_RIGHTS, 0x8003),
        C(ZX_DEFAULT_PORT_RIGHTS, 0x800f),
        C(ZX_DEFAULT_VMO_RIGHTS, 0xd0ff),
        C(ZX_DEFAULT_RESOURCE_RIGHTS, 0x800b),
    };
    CHECK(kDefaults);
}

// spec §2.3 and notes §8: handles, time, koids, names, clocks.
Test(abi, basic_constants_have_zircon_values) {
    static const struct constant kBasics[] = {
        C(ZX_HANDLE_INVALID, 0),
        C(ZX_HANDLE_FIXED_BITS_MASK, 0x3),
        C(ZX_TIME_INFINITE, INT64_MAX),
        C(ZX_TIME_INFINITE_PAST, INT64_MIN),
        C(ZX_NSEC(7), 7),
        C(ZX_USEC(7), 7000),
        C(ZX_MSEC(7), 7000000),
        C(ZX_SEC(7), 7000000000LL),
        C(ZX_MIN(7), 420000000000LL),
        C(ZX_HOUR(7), 25200000000000LL),
        C(ZX_CLOCK_MONOTONIC, 0),
        C(ZX_CLOCK_UTC, 1),
        C(ZX_CLOCK_THREAD, 2),
        C(ZX_KOID_INVALID, 0),
        C(ZX_KOID_KERNEL, 1),
        C(ZX_MAX_NAME_LEN, 32),
        C(ZX_VMO_NON_RESIZABLE, 1),
    };
    CHECK(kBasics);
}

// spec §2.6: ZX_VM_* and the deprecated ZX_VM_FLAG_* share their bit values.
Test(abi, vm_options_have_zircon_values) {
    static const struct constant kVmOptions[] = {
        C(ZX_VM_PERM_READ, 1u << 0),
        C(ZX_VM_PERM_WRITE, 1u << 1),
        C(ZX_VM_PERM_EXECUTE, 1u << 2),
        C(ZX_VM_COMPACT, 1u << 3),
        C(ZX_VM_SPECIFIC, 1u << 4),
        C(ZX_VM_SPECIFIC_OVERWRITE, 1u << 5),
        C(ZX_VM_CAN_MAP_SPECIFIC, 1u << 6),
        C(ZX_VM_CAN_MAP_READ, 1u << 7),
        C(ZX_VM_CAN_MAP_WRITE, 1u << 8),
        C(ZX_VM_CAN_MAP_EXECUTE, 1u << 9),
        C(ZX_VM_MAP_RANGE, 1u << 10),
        C(ZX_VM_REQUIRE_NON_RESIZABLE, 1u << 11),
        C(ZX_VM_FLAG_PERM_READ, 1u << 0),
        C(ZX_VM_FLAG_PERM_WRITE, 1u << 1),
        C(ZX_VM_FLAG_PERM_EXECUTE, 1u << 2),
        C(ZX_VM_FLAG_COMPACT, 1u << 3),
        C(ZX_VM_FLAG_SPECIFIC, 1u << 4),
        C(ZX_VM_FLAG_SPECIFIC_OVERWRITE, 1u << 5),
        C(ZX_VM_FLAG_CAN_MAP_SPECIFIC, 1u << 6),
        C(ZX_VM_FLAG_CAN_MAP_READ, 1u << 7),
        C(ZX_VM_FLAG_CAN_MAP_WRITE, 1u << 8),
        C(ZX_VM_FLAG_CAN_MAP_EXECUTE, 1u << 9),
        C(ZX_VM_FLAG_MAP_RANGE, 1u << 10),
        C(ZX_VM_FLAG_REQUIRE_NON_RESIZABLE, 1u << 11),
    };
    CHECK(kVmOptions);
}

// spec §2.7: resource kinds and flags.
Test(abi, resource_constants_have_zircon_values) {
    static const struct constant kResources[] = {
        C(ZX_RSRC_KIND_MMIO, 0),
        C(ZX_RSRC_KIND_IRQ, 1),
        C(ZX_RSRC_KIND_IOPORT, 2),
        C(ZX_RSRC_KIND_HYPERVISOR, 3),
        C(ZX_RSRC_KIND_ROOT, 4),
        C(ZX_RSRC_KIND_VMEX, 5),
        C(ZX_RSRC_KIND_COUNT, 6),
        C(ZX_RSRC_FLAG_EXCLUSIVE, 0x10000),
        C(ZX_RSRC_FLAGS_MASK, 0x10000),
        C(ZX_RSRC_EXTRACT_KIND(0x12345678u), 0x5678),
        C(ZX_RSRC_EXTRACT_FLAGS(0x12345678u), 0x12340000),
    };
    CHECK(kResources);
}

// spec §2.8 and notes §8: object types, info topics and properties.
Test(abi, object_constants_have_zircon_values) {
    static const struct constant kObjects[] = {
        C(ZX_OBJ_TYPE_NONE, 0),
        C(ZX_OBJ_TYPE_PROCESS, 1),
        C(ZX_OBJ_TYPE_THREAD, 2),
        C(ZX_OBJ_TYPE_VMO, 3),
        C(ZX_OBJ_TYPE_CHANNEL, 4),
        C(ZX_OBJ_TYPE_EVENT, 5),
        C(ZX_OBJ_TYPE_PORT, 6),
        C(ZX_OBJ_TYPE_INTERRUPT, 9),
        C(ZX_OBJ_TYPE_PCI_DEVICE, 11),
        C(ZX_OBJ_TYPE_LOG, 12),
        C(ZX_OBJ_TYPE_SOCKET, 14),
        C(ZX_OBJ_TYPE_RESOURCE, 15),
        C(ZX_OBJ_TYPE_EVENTPAIR, 16),
        C(ZX_OBJ_TYPE_JOB, 17),
        C(ZX_OBJ_TYPE_VMAR, 18),
        C(ZX_OBJ_TYPE_FIFO, 19),
        C(ZX_OBJ_TYPE_GUEST, 20),
        C(ZX_OBJ_TYPE_VCPU, 21),
        C(ZX_OBJ_TYPE_TIMER, 22),
        C(ZX_OBJ_TYPE_IOMMU, 23),
        C(ZX_OBJ_TYPE_BTI, 24),
        C(ZX_OBJ_TYPE_PROFILE, 25),
        C(ZX_OBJ_TYPE_PMT, 26),
        C(ZX_OBJ_TYPE_SUSPEND_TOKEN, 27),
        C(ZX_OBJ_TYPE_LAST, 28),
        C(ZX_INFO_NONE, 0),
        C(ZX_INFO_HANDLE_VALID, 1),
        C(ZX_INFO_HANDLE_BASIC, 2),
        C(ZX_INFO_PROCESS, 3),
        C(ZX_INFO_PROCESS_THREADS, 4),
        C(ZX_INFO_VMAR, 7),
        C(ZX_INFO_JOB_CHILDREN, 8),
        C(ZX_INFO_JOB_PROCESSES, 9),
        C(ZX_INFO_THREAD, 10),
        C(ZX_INFO_THREAD_EXCEPTION_REPORT, 11),
        C(ZX_INFO_TASK_STATS, 12),
        C(ZX_INFO_PROCESS_MAPS, 13),
        C(ZX_INFO_PROCESS_VMOS, 14),
        C(ZX_INFO_THREAD_STATS, 15),
        C(ZX_INFO_CPU_STATS, 16),
        C(ZX_INFO_KMEM_STATS, 17),
        C(ZX_INFO_RESOURCE, 18),
        C(ZX_INFO_HANDLE_COUNT, 19),
        C(ZX_INFO_BTI, 20),
        C(ZX_INFO_PROCESS_HANDLE_STATS, 21),
        C(ZX_INFO_LAST, 22),
        C(ZX_OBJ_PROP_NONE, 0),
        C(ZX_OBJ_PROP_WAITABLE, 1),
    };
    CHECK(kObjects);
}

// spec §2.2: packet types and port options; spec §2.1: trap and VCPU state kinds.
Test(abi, packet_and_hypervisor_constants_have_zircon_values) {
    static const struct constant kPackets[] = {
        C(ZX_PKT_TYPE_USER, 0x00),
        C(ZX_PKT_TYPE_SIGNAL_ONE, 0x01),
        C(ZX_PKT_TYPE_SIGNAL_REP, 0x02),
        C(ZX_PKT_TYPE_GUEST_BELL, 0x03),
        C(ZX_PKT_TYPE_GUEST_MEM, 0x04),
        C(ZX_PKT_TYPE_GUEST_IO, 0x05),
        C(ZX_PKT_TYPE_GUEST_VCPU, 0x06),
        C(ZX_PKT_TYPE_INTERRUPT, 0x07),
        C(ZX_PKT_TYPE_EXCEPTION(0), 0x08),
        C(ZX_PKT_TYPE_EXCEPTION(0x1ab), 0xab08),
        C(ZX_PKT_TYPE_MASK, 0xff),
        C(ZX_PORT_BIND_TO_INTERRUPT, 0x1),
        C(ZX_PKT_GUEST_VCPU_INTERRUPT, 0),
        C(ZX_PKT_GUEST_VCPU_STARTUP, 1),
        C(ZX_WAIT_ASYNC_ONCE, 0),
        C(ZX_WAIT_ASYNC_REPEATING, 1),
        C(ZX_GUEST_TRAP_BELL, 0),
        C(ZX_GUEST_TRAP_MEM, 1),
        C(ZX_GUEST_TRAP_IO, 2),
        C(ZX_VCPU_STATE, 0),
        C(ZX_VCPU_IO, 1),
    };
    CHECK(kPackets);
}

// zxhv deviation from Zircon's 2018 table: every code of errors.h has its own macro name,
// including ZX_ERR_INTERNAL_INTR_RETRY, IO_OVERRUN, IO_MISSED_DEADLINE, NOT_EMPTY and ASYNC.
Test(abi, status_get_string_names_every_error_code) {
    for (size_t i = 0; i < sizeof(kErrors) / sizeof(kErrors[0]); i++) {
        const char* got = zx_status_get_string((zx_status_t)kErrors[i].value);
        cr_assert_not_null(got, "%s has no name", kErrors[i].name);
        cr_expect_str_eq(got, kErrors[i].name, "zx_status_get_string(%lld)",
                         (long long)kErrors[i].value);
    }
}

Test(abi, status_get_string_gives_unknown_for_other_values) {
    static const zx_status_t kOthers[] = {1,   -5,  -7,   -9,        -16,      -29,      -31,
                                          -48, -56, -63,  -69,       -77,      -100,     42,
                                          INT32_MIN, INT32_MAX, -1000, INT32_MIN + 1};
    for (size_t i = 0; i < sizeof(kOthers) / sizeof(kOthers[0]); i++) {
        const char* got = zx_status_get_string(kOthers[i]);
        cr_assert_not_null(got);
        cr_expect_str_eq(got, "(UNKNOWN)", "zx_status_get_string(%d)", kOthers[i]);
    }
}
