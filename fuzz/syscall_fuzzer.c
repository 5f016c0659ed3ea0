// zxhv syscall fuzzer (libFuzzer entry point; fuzz/standalone.c drives it without libFuzzer).
//
// The input is a program: each operation takes an opcode byte and then the bytes it needs, and
// calls one zxhv function with handles that are live, closed (stale), never valid, of the wrong
// type or with fewer rights, and with sizes, kinds, addresses and pointers (NULL, unmapped,
// read-only, half-mapped, into the fuzzer's own mappings) drawn from the input.
//
// It checks invariants, not just crashes (fuzz_fail aborts with the reason):
//  - every status is one that docs/syscalls/<call>.md documents (fuzz/gen-allowed.sh);
//  - the handle checks come out as the pages say: a handle the fuzzer knows to be dead gives
//    ZX_ERR_BAD_HANDLE, a live one without the needed right ZX_ERR_ACCESS_DENIED, a live one of
//    another type ZX_ERR_WRONG_TYPE (the fuzzer keeps a shadow of every handle it holds);
//  - a call that fails makes no handle, a call that succeeds makes exactly the handle it
//    reports, of the right type and rights (checked with ZX_INFO_HANDLE_BASIC), and the
//    library's count of live handles equals the shadow's after every operation;
//  - after each input, once every handle is closed and every mapping unmapped, the handle count,
//    the open descriptors and the VMO mappings are back to where they were before it.
// A VCPU resume runs under the watchdog of fuzz_common.c, so a guest cannot hang the fuzzer.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zircon/errors.h>
#include <zircon/process.h>
#include <zircon/rights.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "fuzz_common.h"
#include "object/handle.h"  // handle_table_count: the library's own count of live handles

#define PAGE 4096u
#define ROOT_VMAR_BASE 0x1000000ull
#define ROOT_VMAR_SIZE 0x7ffffefff000ull
#define ROOT_VMAR_RIGHTS (ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE)
#define VMO_MAX 0x7ffffffffffff000ull
#define MAX_OPS 96

// ---- Reading the input

// struct in and take8..take64: fuzz_common.h.

// A size, offset or address: mostly the values that sit on the edges of the checks.
static uint64_t take_size(struct in* in) {
    uint8_t k = take8(in);
    switch (k % 10) {
        case 0: return 0;
        case 1: return take8(in);
        case 2: return take16(in);
        case 3: return (uint64_t)(take8(in) % 33) * PAGE;
        case 4: return take64(in);
        case 5: return UINT64_MAX - take8(in);
        case 6: return (1ull << (take8(in) % 64)) + (uint64_t)(int64_t)(int8_t)take8(in);
        case 7: return VMO_MAX + (uint64_t)(int64_t)(int8_t)take8(in) * PAGE;
        case 8: return (uint64_t)(take16(in) % 1024) * PAGE + (take8(in) & 1 ? 1 : 0);
        default: return ((uint64_t)take8(in) << 40) | ((uint64_t)take8(in) << 21);
    }
}

// ---- Caller memory: valid, NULL, unmapped, read-only, half-mapped, misaligned, in a mapping

#define ARENA_PAGES 16u
static uint8_t* arena;       // ARENA_PAGES read-write pages, then a PROT_NONE guard page
static uint8_t* ro_page;     // PROT_READ
static uint8_t* none_page;   // PROT_NONE
static uint64_t last_map_addr;  // the last host mapping zx_vmar_map made (0: none)
static uint64_t last_map_len;

struct uptr {
    void* p;
    size_t readable;  // bytes that can be read from p
    size_t writable;  // bytes that can be written at p
    bool known;       // false: a pointer into a mapping the fuzzer made (anything may happen)
    size_t extent;    // !known: how far the mapping goes; a call must touch no more than this
};

static struct uptr take_ptr(struct in* in) {
    size_t arena_size = (size_t)ARENA_PAGES * PAGE;
    uint8_t k = take8(in);
    switch (k % 12) {
        case 0:
        case 1:
        case 2:
            return (struct uptr){arena, arena_size, arena_size, true, 0};
        case 3:
            return (struct uptr){NULL, 0, 0, true, 0};
        case 4:
            return (struct uptr){none_page, 0, 0, true, 0};
        case 5:
            return (struct uptr){ro_page, PAGE, 0, true, 0};
        case 6: {  // the last bytes before the guard page
            size_t left = 1 + take8(in) % 200;
            return (struct uptr){arena + arena_size - left, left, left, true, 0};
        }
        case 7:
            return (struct uptr){(void*)(uintptr_t)(8 + take8(in)), 0, 0, true, 0};
        case 8:
            return (struct uptr){(void*)(uintptr_t)0xffff800000001000ull, 0, 0, true, 0};
        case 9: {
            size_t off = 1 + take8(in) % 7;
            return (struct uptr){arena + off, arena_size - off, arena_size - off, true, 0};
        }
        case 10:
            if (last_map_addr != 0) {
                // Inside the mapping (which may be read-only, or past its VMO's end): a length
                // that ran beyond it would reach whatever the process has next to it.
                uint64_t off = (take8(in) % (last_map_len / PAGE)) * PAGE;
                return (struct uptr){(void*)(uintptr_t)(last_map_addr + off), 0, 0, false,
                                     (size_t)(last_map_len - off)};
            }
            return (struct uptr){arena, arena_size, arena_size, true, 0};
        default:  // a page in the middle of the arena
            return (struct uptr){arena + (take8(in) % ARENA_PAGES) * PAGE,
                                 arena_size - (k % ARENA_PAGES) * PAGE, 0, true, 0};
    }
}

// Fixes up the default case above: the page offset must match the sizes.
static struct uptr take_ptr_fixed(struct in* in) {
    struct uptr u = take_ptr(in);
    if (u.known && u.p != NULL && (uint8_t*)u.p >= arena &&
        (uint8_t*)u.p < arena + (size_t)ARENA_PAGES * PAGE) {
        size_t left = (size_t)(arena + (size_t)ARENA_PAGES * PAGE - (uint8_t*)u.p);
        u.readable = u.writable = left;
    }
    return u;
}

static bool can_write(struct uptr u, size_t n) { return u.known && u.writable >= n && (n == 0 || u.p); }
static bool cannot_write(struct uptr u, size_t n) { return u.known && u.writable < n; }
static bool can_read(struct uptr u, size_t n) { return u.known && u.readable >= n && (n == 0 || u.p); }
static bool cannot_read(struct uptr u, size_t n) { return u.known && u.readable < n; }

// Reads |n| bytes at |p| without faulting (the fuzzer's view of an out value). Returns success.
static bool safe_read(const void* p, void* dst, size_t n) {
    struct iovec local = {.iov_base = dst, .iov_len = n};
    struct iovec remote = {.iov_base = (void*)p, .iov_len = n};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
}

// ---- The shadow of every handle the fuzzer holds

struct shadow {
    zx_handle_t value;
    zx_obj_type_t type;
    zx_rights_t rights;
    uint32_t flags;  // SH_*
};

#define SH_HOST_VMAR 1u  // a duplicate of the root VMAR (not a guest's)
#define SH_FOREIGN 2u    // a VCPU made on another thread: every thread-bound call is BAD_STATE

#define MAX_LIVE 384
static struct shadow live[MAX_LIVE];
static size_t nlive;
static zx_handle_t stale[32];
static size_t nstale;
static zx_handle_t root_vmar;  // zx_vmar_root_self(): never closed by the fuzzer
static size_t baseline_handles;
static int baseline_fds;
static int baseline_maps;
static bool have_kvm;
// Whether this input called something that can open a descriptor or map memory (the /proc
// census at its end is skipped otherwise: it costs more than the rest of a short input).
static bool touched_fds;

static struct shadow* shadow_find(zx_handle_t value) {
    if (value == ZX_HANDLE_INVALID) return NULL;
    for (size_t i = 0; i < nlive; i++) {
        if (live[i].value == value) return &live[i];
    }
    return NULL;
}

static void shadow_remove(zx_handle_t value) {
    for (size_t i = 0; i < nlive; i++) {
        if (live[i].value == value) {
            stale[nstale++ % 32] = value;
            live[i] = live[--nlive];
            return;
        }
    }
}

static bool room(void) { return nlive + 2 < MAX_LIVE; }

static void check_count(const char* after) {
    size_t n = handle_table_count();
    if (n != baseline_handles + nlive) {
        fuzz_fail("after %s the library holds %zu handles, the fuzzer %zu (+%zu baseline)", after,
                  n, nlive, baseline_handles);
    }
}

// Adds a handle a call reported, after checking it is what the call should have made.
static void shadow_add(zx_handle_t value, zx_obj_type_t type, zx_rights_t rights, uint32_t flags,
                       const char* call) {
    zx_info_handle_basic_t info;
    zx_status_t status =
        zx_object_get_info(value, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
    if (status != ZX_OK) {
        fuzz_fail("%s reported handle %#x, which ZX_INFO_HANDLE_BASIC refuses: %s", call, value,
                  zx_status_get_string(status));
    }
    if (info.type != type || info.rights != rights) {
        fuzz_fail("%s made handle %#x of type %u rights %#x; expected type %u rights %#x", call,
                  value, info.type, info.rights, type, rights);
    }
    if (shadow_find(value) != NULL || value == root_vmar) {
        fuzz_fail("%s reported handle %#x, which is already live", call, value);
    }
    live[nlive++] = (struct shadow){value, type, rights, flags};
}

// A handle argument: mostly a live handle of the type the call wants, else any live one, a
// closed one, ZX_HANDLE_INVALID, the root VMAR, or any value at all.
static zx_handle_t take_handle(struct in* in, zx_obj_type_t want) {
    uint8_t k = take8(in);
    uint8_t i = take8(in);
    size_t typed[MAX_LIVE];
    size_t ntyped = 0;
    for (size_t j = 0; j < nlive; j++) {
        if (live[j].type == want) typed[ntyped++] = j;
    }
    switch (k % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
            if (ntyped > 0) return live[typed[i % ntyped]].value;
            // fall through
        case 4:
        case 5:
            if (nlive > 0) return live[i % nlive].value;
            return ZX_HANDLE_INVALID;
        case 6:
            if (nstale > 0) return stale[i % (nstale < 32 ? nstale : 32)];
            return ZX_HANDLE_INVALID;
        case 7:
            return ZX_HANDLE_INVALID;
        case 8:
            return root_vmar;
        default: {
            zx_handle_t v = take32(in);
            if (k & 0x80) v |= 3;  // looks like a handle
            return v;
        }
    }
}

// A handle that may be closed or consumed: never the root VMAR (whose loss would be forever).
static zx_handle_t take_closable(struct in* in, zx_obj_type_t want) {
    zx_handle_t h = take_handle(in, want);
    return h == root_vmar ? ZX_HANDLE_INVALID : h;
}

// What the lookup of |value| with |rights| and |type| must give (ZX_OK if it passes), from the
// shadow, in the order of docs/syscalls/README.md: live, rights, type.
static zx_status_t expected_lookup(zx_handle_t value, zx_rights_t rights, zx_obj_type_t type) {
    zx_obj_type_t t;
    zx_rights_t r;
    if (value == root_vmar) {
        t = ZX_OBJ_TYPE_VMAR;
        r = ROOT_VMAR_RIGHTS;
    } else {
        struct shadow* s = shadow_find(value);
        if (s == NULL) return ZX_ERR_BAD_HANDLE;
        t = s->type;
        r = s->rights;
    }
    if ((r & rights) != rights) return ZX_ERR_ACCESS_DENIED;
    if (type != ZX_OBJ_TYPE_NONE && t != type) return ZX_ERR_WRONG_TYPE;
    return ZX_OK;
}

static void expect(enum fuzz_call call, zx_status_t got, zx_status_t want, const char* why) {
    if (got != want) {
        fuzz_fail("%s returned %s (%d), expected %s (%d): %s", fuzz_call_name(call),
                  zx_status_get_string(got), got, zx_status_get_string(want), want, why);
    }
}

// The first check of a call that starts with a handle lookup: a failed lookup must give exactly
// its status; a passed one must not give BAD_HANDLE or WRONG_TYPE for that handle. Returns
// whether the lookup passed.
static bool expect_lookup_first(enum fuzz_call call, zx_status_t got, zx_handle_t value,
                                zx_rights_t rights, zx_obj_type_t type) {
    zx_status_t want = expected_lookup(value, rights, type);
    if (want != ZX_OK) {
        expect(call, got, want, "the handle check comes first");
        return false;
    }
    return true;
}

// After a call that may make one handle at |out|: either exactly one new handle of |type| with
// |rights| (status ZX_OK), or none.
static void expect_made(enum fuzz_call call, zx_status_t status, struct uptr out, size_t before,
                        zx_obj_type_t type, zx_rights_t rights, uint32_t flags) {
    if (status == ZX_OK) {
        if (cannot_write(out, sizeof(zx_handle_t))) {
            fuzz_fail("%s succeeded with an output pointer %p that cannot be written",
                      fuzz_call_name(call), out.p);
        }
        zx_handle_t value;
        if (!safe_read(out.p, &value, sizeof(value))) {
            fuzz_fail("%s succeeded but its output %p cannot be read back", fuzz_call_name(call),
                      out.p);
        }
        shadow_add(value, type, rights, flags, fuzz_call_name(call));
    } else if (handle_table_count() != before) {
        fuzz_fail("%s failed with %s but the handle count went from %zu to %zu",
                  fuzz_call_name(call), zx_status_get_string(status), before,
                  handle_table_count());
    }
}

// ---- Operations

static void op_vmo_create(struct in* in) {
    if (!room()) return;
    uint64_t size = take_size(in);
    uint8_t o = take8(in);
    uint32_t options = o < 100 ? 0 : o < 200 ? ZX_VMO_NON_RESIZABLE : take32(in);
    struct uptr out = take_ptr_fixed(in);
    size_t before = handle_table_count();
    zx_status_t st = fuzz_check(CALL_vmo_create, zx_vmo_create(size, options, out.p));
    if (options > 1) {
        expect(CALL_vmo_create, st, ZX_ERR_INVALID_ARGS, "unknown options");
    } else if (size > VMO_MAX) {
        expect(CALL_vmo_create, st, ZX_ERR_OUT_OF_RANGE, "size above the maximum");
    } else if (cannot_write(out, 4)) {
        expect(CALL_vmo_create, st, ZX_ERR_INVALID_ARGS, "bad out pointer");
    } else if (can_write(out, 4)) {
        expect(CALL_vmo_create, st, ZX_OK, "a valid VMO");
    }
    expect_made(CALL_vmo_create, st, out, before, ZX_OBJ_TYPE_VMO, ZX_DEFAULT_VMO_RIGHTS, 0);
}

static void op_vmo_rw(struct in* in, bool write) {
    enum fuzz_call call = write ? CALL_vmo_write : CALL_vmo_read;
    zx_handle_t h = take_handle(in, ZX_OBJ_TYPE_VMO);
    struct uptr buf = take_ptr_fixed(in);
    uint64_t offset = take_size(in);
    uint64_t len = take8(in) & 1 ? take_size(in) : take16(in) % (ARENA_PAGES * PAGE + 1);
    if (!buf.known && len > buf.extent) len = buf.extent;
    uint64_t vmo_size = 0;
    bool sized = zx_vmo_get_size(h, &vmo_size) == ZX_OK;
    zx_status_t st = fuzz_check(call, write ? zx_vmo_write(h, buf.p, offset, len)
                                            : zx_vmo_read(h, buf.p, offset, len));
    if (!expect_lookup_first(call, st, h, write ? ZX_RIGHT_WRITE : ZX_RIGHT_READ,
                             ZX_OBJ_TYPE_VMO) ||
        !sized) {
        return;
    }
    uint64_t end;
    bool in_range = !__builtin_add_overflow(offset, len, &end) && end <= vmo_size;
    bool good = write ? can_read(buf, len) : can_write(buf, len);
    bool bad = write ? cannot_read(buf, len) : cannot_write(buf, len);
    if (bad) {
        expect(call, st, ZX_ERR_INVALID_ARGS, "a bad buffer wins over the range");
    } else if (good && !in_range) {
        expect(call, st, ZX_ERR_OUT_OF_RANGE, "range beyond the VMO");
    } else if (good) {
        expect(call, st, ZX_OK, "a good buffer inside the VMO");
    }
}

static void op_vmo_get_size(struct in* in) {
    zx_handle_t h = take_handle(in, ZX_OBJ_TYPE_VMO);
    struct uptr out = take_ptr_fixed(in);
    zx_status_t st = fuzz_check(CALL_vmo_get_size, zx_vmo_get_size(h, out.p));
    if (!expect_lookup_first(CALL_vmo_get_size, st, h, 0, ZX_OBJ_TYPE_VMO)) return;
    if (cannot_write(out, 8)) expect(CALL_vmo_get_size, st, ZX_ERR_INVALID_ARGS, "bad pointer");
    if (can_write(out, 8)) {
        expect(CALL_vmo_get_size, st, ZX_OK, "good pointer");
        uint64_t size;
        memcpy(&size, out.p, sizeof(size));
        if (size % PAGE != 0 || size > VMO_MAX) fuzz_fail("vmo_get_size gave %#lx", (unsigned long)size);
    }
}

static void op_vmo_set_size(struct in* in) {
    zx_handle_t h = take_handle(in, ZX_OBJ_TYPE_VMO);
    uint64_t size = take_size(in);
    zx_status_t st = fuzz_check(CALL_vmo_set_size, zx_vmo_set_size(h, size));
    expect_lookup_first(CALL_vmo_set_size, st, h, ZX_RIGHT_WRITE, ZX_OBJ_TYPE_VMO);
}

static void op_vmar_map(struct in* in) {
    zx_handle_t vmar = take_handle(in, ZX_OBJ_TYPE_VMAR);
    zx_handle_t vmo = take_handle(in, ZX_OBJ_TYPE_VMO);
    uint32_t options = take16(in);
    if (take8(in) < 16) options |= take32(in);
    uint64_t vmar_offset = take8(in) & 1 ? take_size(in) : 0;
    uint64_t vmo_offset = take8(in) < 200 ? 0 : take_size(in);
    uint64_t len = take_size(in);
    struct uptr out = take_ptr_fixed(in);
    bool host = vmar == root_vmar;
    struct shadow* s = shadow_find(vmar);
    if (s != NULL && s->type == ZX_OBJ_TYPE_VMAR) host = (s->flags & SH_HOST_VMAR) != 0;
    // A guest memslot's metadata grows with its size: keep guest mappings to 1 GiB, so that the
    // kernel hosting the nested VM is not the thing under test.
    if (!host && len > (1ull << 30)) len &= (1ull << 30) - 1;
    zx_status_t st = fuzz_check(CALL_vmar_map, zx_vmar_map(vmar, options, vmar_offset, vmo,
                                                           vmo_offset, len, out.p));
    if (!expect_lookup_first(CALL_vmar_map, st, vmar, 0, ZX_OBJ_TYPE_VMAR)) return;
    if (!expect_lookup_first(CALL_vmar_map, st, vmo, 0, ZX_OBJ_TYPE_VMO)) return;
    if (st == ZX_OK) {
        if (cannot_write(out, 8)) fuzz_fail("vmar_map succeeded with a bad out pointer");
        uint64_t addr;
        if (!safe_read(out.p, &addr, sizeof(addr))) fuzz_fail("vmar_map: out unreadable");
        if (addr % PAGE != 0) fuzz_fail("vmar_map gave unaligned %#lx", (unsigned long)addr);
        if (host && (options & ZX_VM_SPECIFIC_OVERWRITE)) last_map_addr = 0;
        if (host) {
            if (addr < ROOT_VMAR_BASE || addr - ROOT_VMAR_BASE >= ROOT_VMAR_SIZE) {
                fuzz_fail("vmar_map gave %#lx outside the root VMAR", (unsigned long)addr);
            }
            last_map_addr = addr;
            last_map_len = (len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
        }
    }
}

static void op_vmar_unmap(struct in* in) {
    zx_handle_t vmar = take_handle(in, ZX_OBJ_TYPE_VMAR);
    uint64_t addr;
    if (last_map_addr != 0 && take8(in) < 128) {
        addr = last_map_addr + (uint64_t)(int64_t)(int8_t)take8(in) * PAGE;
    } else {
        addr = take_size(in);
    }
    uint64_t len = take_size(in);
    zx_status_t st = fuzz_check(CALL_vmar_unmap, zx_vmar_unmap(vmar, addr, len));
    expect_lookup_first(CALL_vmar_unmap, st, vmar, 0, ZX_OBJ_TYPE_VMAR);
    // Part of the last mapping may be gone, and its addresses reused by anyone: stop using it.
    if (st != ZX_ERR_BAD_HANDLE && st != ZX_ERR_WRONG_TYPE) last_map_addr = 0;
}

static void op_port_create(struct in* in) {
    if (!room()) return;
    uint8_t o = take8(in);
    uint32_t options = o < 120 ? 0 : o < 200 ? ZX_PORT_BIND_TO_INTERRUPT : take32(in);
    struct uptr out = take_ptr_fixed(in);
    size_t before = handle_table_count();
    zx_status_t st = fuzz_check(CALL_port_create, zx_port_create(options, out.p));
    if (options > 1) expect(CALL_port_create, st, ZX_ERR_INVALID_ARGS, "unknown options");
    else if (cannot_write(out, 4)) expect(CALL_port_create, st, ZX_ERR_INVALID_ARGS, "bad out");
    else if (can_write(out, 4)) expect(CALL_port_create, st, ZX_OK, "valid");
    expect_made(CALL_port_create, st, out, before, ZX_OBJ_TYPE_PORT, ZX_DEFAULT_PORT_RIGHTS, 0);
}

static void op_port_queue(struct in* in) {
    zx_handle_t h = take_handle(in, ZX_OBJ_TYPE_PORT);
    struct uptr pkt = take_ptr_fixed(in);
    unsigned count = take8(in) < 16 ? 1 + take16(in) % 2100 : 1;
    for (unsigned i = 0; i < count; i++) {
        zx_status_t st = fuzz_check(CALL_port_queue, zx_port_queue(h, pkt.p));
        if (!expect_lookup_first(CALL_port_queue, st, h, ZX_RIGHT_WRITE, ZX_OBJ_TYPE_PORT)) return;
        if (cannot_read(pkt, sizeof(zx_port_packet_t))) {
            expect(CALL_port_queue, st, ZX_ERR_INVALID_ARGS, "unreadable packet");
        }
        if (st != ZX_OK) return;
    }
}

static void op_port_wait(struct in* in) {
    zx_handle_t h = take_handle(in, ZX_OBJ_TYPE_PORT);
    uint8_t d = take8(in);
    zx_time_t deadline;
    switch (d % 4) {
        case 0: deadline = 0; break;
        case 1: deadline = ZX_TIME_INFINITE_PAST; break;
        case 2: deadline = zx_deadline_after(ZX_USEC(take8(in) % 200)); break;
        default: deadline = -(zx_time_t)take16(in); break;
    }
    struct uptr pkt = take_ptr_fixed(in);
    zx_status_t st = fuzz_check(CALL_port_wait, zx_port_wait(h, deadline, pkt.p));
    if (!expect_lookup_first(CALL_port_wait, st, h, ZX_RIGHT_READ, ZX_OBJ_TYPE_PORT)) return;
    if (pkt.p == NULL) expect(CALL_port_wait, st, ZX_ERR_INVALID_ARGS, "NULL packet");
    if (st == ZX_OK && cannot_write(pkt, sizeof(zx_port_packet_t))) {
        fuzz_fail("port_wait succeeded into an unwritable packet");
    }
}

static void op_resource_create(struct in* in) {
    if (!room()) return;
    zx_handle_t parent = take_handle(in, ZX_OBJ_TYPE_RESOURCE);
    uint32_t kind = take8(in) % 8;
    uint8_t f = take8(in);
    uint32_t flags = f < 128 ? 0 : f < 240 ? ZX_RSRC_FLAG_EXCLUSIVE : (uint32_t)take16(in) << 16;
    uint32_t options = kind | flags;
    uint64_t base = take8(in) < 128 ? 0 : take_size(in);
    uint64_t size = take8(in) < 128 ? 0 : take_size(in);
    struct uptr name = take_ptr_fixed(in);
    size_t name_size = take8(in) < 240 ? take8(in) % 40 : take_size(in);
    struct uptr out = take_ptr_fixed(in);
    size_t before = handle_table_count();
    zx_status_t st = fuzz_check(CALL_resource_create,
                                zx_resource_create(parent, options, base, size, name.p, name_size,
                                                   out.p));
    if (expect_lookup_first(CALL_resource_create, st, parent, ZX_RIGHT_WRITE,
                            ZX_OBJ_TYPE_RESOURCE)) {
        if (kind >= ZX_RSRC_KIND_COUNT || (flags & ~ZX_RSRC_FLAG_EXCLUSIVE)) {
            // (unless the parent is not ROOT: ACCESS_DENIED comes first)
            if (st != ZX_ERR_ACCESS_DENIED) {
                expect(CALL_resource_create, st, ZX_ERR_INVALID_ARGS, "bad kind or flags");
            }
        }
    }
    expect_made(CALL_resource_create, st, out, before, ZX_OBJ_TYPE_RESOURCE,
                ZX_DEFAULT_RESOURCE_RIGHTS, 0);
}

static void op_root_resource(struct in* in) {
    if (!room()) return;
    struct uptr out = take_ptr_fixed(in);
    size_t before = handle_table_count();
    zx_status_t st = fuzz_check(CALL_zxhv_root_resource_get, zxhv_root_resource_get(out.p));
    if (cannot_write(out, 4)) expect(CALL_zxhv_root_resource_get, st, ZX_ERR_INVALID_ARGS, "bad out");
    if (can_write(out, 4)) expect(CALL_zxhv_root_resource_get, st, ZX_OK, "good out");
    expect_made(CALL_zxhv_root_resource_get, st, out, before, ZX_OBJ_TYPE_RESOURCE,
                ZX_DEFAULT_RESOURCE_RIGHTS, 0);
}

static void op_close(struct in* in) {
    zx_handle_t h = take_closable(in, ZX_OBJ_TYPE_NONE);
    zx_status_t st = fuzz_check(CALL_handle_close, zx_handle_close(h));
    if (h == ZX_HANDLE_INVALID) {
        expect(CALL_handle_close, st, ZX_OK, "closing ZX_HANDLE_INVALID");
    } else if (shadow_find(h) != NULL) {
        expect(CALL_handle_close, st, ZX_OK, "a live handle");
        shadow_remove(h);
    } else {
        expect(CALL_handle_close, st, ZX_ERR_BAD_HANDLE, "not a live handle");
    }
}

static zx_rights_t take_rights(struct in* in, zx_rights_t have) {
    uint8_t k = take8(in);
    if (k < 80) return ZX_RIGHT_SAME_RIGHTS;
    if (k < 220) return have & take32(in);
    return take32(in);
}

static void op_dup_replace(struct in* in, bool replace) {
    if (!room()) return;
    enum fuzz_call call = replace ? CALL_handle_replace : CALL_handle_duplicate;
    zx_handle_t h = replace ? take_closable(in, ZX_OBJ_TYPE_NONE) : take_handle(in, ZX_OBJ_TYPE_NONE);
    struct shadow* s = shadow_find(h);
    struct shadow src = s ? *s
                          : (h == root_vmar ? (struct shadow){root_vmar, ZX_OBJ_TYPE_VMAR,
                                                              ROOT_VMAR_RIGHTS, SH_HOST_VMAR}
                                            : (struct shadow){0, 0, 0, 0});
    bool is_live = s != NULL || (h == root_vmar && h != ZX_HANDLE_INVALID);
    zx_rights_t rights = take_rights(in, src.rights);
    struct uptr out = take_ptr_fixed(in);
    size_t before = handle_table_count();
    zx_status_t st = fuzz_check(call, replace ? zx_handle_replace(h, rights, out.p)
                                              : zx_handle_duplicate(h, rights, out.p));
    zx_rights_t want_rights = rights == ZX_RIGHT_SAME_RIGHTS ? src.rights : rights;
    if (!is_live) {
        expect(call, st, ZX_ERR_BAD_HANDLE, "not a live handle");
        return;
    }
    if (replace) {
        // The old handle is gone whatever happens next.
        shadow_remove(h);
        before--;
    }
    if (!replace && !(src.rights & ZX_RIGHT_DUPLICATE)) {
        expect(call, st, ZX_ERR_ACCESS_DENIED, "no DUPLICATE right");
    } else if ((src.rights & want_rights) != want_rights) {
        expect(call, st, ZX_ERR_INVALID_ARGS, "rights not a subset");
    } else if (cannot_write(out, 4)) {
        expect(call, st, ZX_ERR_INVALID_ARGS, "bad out pointer");
    } else if (can_write(out, 4)) {
        expect(call, st, ZX_OK, "valid");
    }
    expect_made(call, st, out, before, src.type, want_rights, src.flags);
}

static void op_get_info(struct in* in) {
    zx_handle_t h = take_handle(in, ZX_OBJ_TYPE_NONE);
    uint8_t t = take8(in);
    uint32_t topic = t < 100 ? ZX_INFO_HANDLE_BASIC : t < 180 ? ZX_INFO_HANDLE_VALID
                     : t < 250 ? t % 24 : take32(in);
    struct uptr buf = take_ptr_fixed(in);
    static const size_t kSizes[] = {0, 1, 31, 32, 33, 4096};
    uint8_t z = take8(in);
    size_t size = z < 240 ? kSizes[z % 6] : take_size(in);
    struct uptr actual = take8(in) < 128 ? (struct uptr){NULL, 0, 0, true, 0} : take_ptr_fixed(in);
    struct uptr avail = take8(in) < 128 ? (struct uptr){NULL, 0, 0, true, 0} : take_ptr_fixed(in);
    zx_status_t st = fuzz_check(CALL_object_get_info,
                                zx_object_get_info(h, topic, buf.p, size, actual.p, avail.p));
    if (topic != ZX_INFO_HANDLE_VALID && topic != ZX_INFO_HANDLE_BASIC) {
        expect(CALL_object_get_info, st, ZX_ERR_NOT_SUPPORTED, "unknown topic");
        return;
    }
    if (!expect_lookup_first(CALL_object_get_info, st, h, 0, ZX_OBJ_TYPE_NONE)) return;
    if (topic == ZX_INFO_HANDLE_VALID) {
        expect(CALL_object_get_info, st, ZX_OK, "a live handle is valid");
        return;
    }
    size_t rec = sizeof(zx_info_handle_basic_t);
    if (size >= rec && cannot_write(buf, rec)) {
        expect(CALL_object_get_info, st, ZX_ERR_INVALID_ARGS, "bad buffer");
    } else if ((actual.p && cannot_write(actual, 8)) || (avail.p && cannot_write(avail, 8))) {
        if (size >= rec && !can_write(buf, rec)) return;
        expect(CALL_object_get_info, st, ZX_ERR_INVALID_ARGS, "bad actual/avail");
    } else if (size < rec && (!actual.p || can_write(actual, 8)) && (!avail.p || can_write(avail, 8))) {
        expect(CALL_object_get_info, st, ZX_ERR_BUFFER_TOO_SMALL, "small buffer");
    } else if (can_write(buf, rec) && (!actual.p || can_write(actual, 8)) &&
               (!avail.p || can_write(avail, 8))) {
        expect(CALL_object_get_info, st, ZX_OK, "all good");
    }
}

// ---- Guests and VCPUs

static void op_guest_create(struct in* in) {
    if (!room()) return;
    zx_handle_t rsrc = take_handle(in, ZX_OBJ_TYPE_RESOURCE);
    uint32_t options = take8(in) < 240 ? 0 : take32(in);
    struct uptr g = take_ptr_fixed(in);
    struct uptr v = take8(in) < 200 ? (struct uptr){arena + 64, 1024, 1024, true, 0} : take_ptr_fixed(in);
    // Overlapping outputs would make the second handle overwrite the first (the caller's error,
    // and the first handle would be lost to it): keep them 8 bytes apart.
    intptr_t gap = (intptr_t)((uint8_t*)v.p - (uint8_t*)g.p);
    if (g.p != NULL && v.p != NULL && gap > -8 && gap < 8) {
        v = g;
        v.p = (uint8_t*)g.p + 8;
        if (v.known) v.writable = v.writable > 8 ? v.writable - 8 : 0, v.readable = v.writable;
        if (!v.known) v.extent = v.extent > 8 ? v.extent - 8 : 0;
    }
    size_t before = handle_table_count();
    zx_status_t st = fuzz_check(CALL_guest_create, zx_guest_create(rsrc, options, g.p, v.p));
    if (getenv("ZXHV_FUZZ_TRACE")) {
        fprintf(stderr, "guest_create(%#x, %u, %p%s, %p%s) = %s\n", rsrc, options, g.p,
                g.known ? "" : " (mapping)", v.p, v.known ? "" : " (mapping)",
                zx_status_get_string(st));
    }
    if (options != 0) {
        expect(CALL_guest_create, st, ZX_ERR_INVALID_ARGS, "options first");
        return;
    }
    if (!expect_lookup_first(CALL_guest_create, st, rsrc, 0, ZX_OBJ_TYPE_RESOURCE)) return;
    if (cannot_write(g, 4) || cannot_write(v, 4)) {
        if (st != ZX_ERR_ACCESS_DENIED) expect(CALL_guest_create, st, ZX_ERR_INVALID_ARGS, "bad out");
    }
    if (st == ZX_OK) {
        expect_made(CALL_guest_create, st, g, before, ZX_OBJ_TYPE_GUEST, ZX_DEFAULT_GUEST_RIGHTS, 0);
        expect_made(CALL_guest_create, st, v, before + 1, ZX_OBJ_TYPE_VMAR,
                    ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE, 0);
    } else if (handle_table_count() != before) {
        fuzz_fail("guest_create failed (%s) and left a handle", zx_status_get_string(st));
    }
}

static void op_set_trap(struct in* in) {
    zx_handle_t g = take_handle(in, ZX_OBJ_TYPE_GUEST);
    uint8_t k = take8(in);
    uint32_t kind = k < 250 ? k % 3 : take32(in);
    uint64_t addr, len;
    if (take8(in) < 200) {
        addr = kind == ZX_GUEST_TRAP_IO ? take16(in) : (uint64_t)take16(in) * PAGE;
        len = kind == ZX_GUEST_TRAP_IO ? take8(in) : (uint64_t)(take8(in) % 8) * PAGE;
    } else {
        addr = take_size(in);
        len = take_size(in);
    }
    zx_handle_t port = take8(in) < 100 ? ZX_HANDLE_INVALID : take_handle(in, ZX_OBJ_TYPE_PORT);
    uint64_t key = take64(in);
    zx_status_t st = fuzz_check(CALL_guest_set_trap, zx_guest_set_trap(g, kind, addr, len, port, key));
    if (!expect_lookup_first(CALL_guest_set_trap, st, g, ZX_RIGHT_WRITE, ZX_OBJ_TYPE_GUEST)) return;
    if (port != ZX_HANDLE_INVALID &&
        !expect_lookup_first(CALL_guest_set_trap, st, port, ZX_RIGHT_WRITE, ZX_OBJ_TYPE_PORT)) {
        return;
    }
    if (len == 0) expect(CALL_guest_set_trap, st, ZX_ERR_INVALID_ARGS, "len 0");
    else if (SIZE_MAX - len < addr) expect(CALL_guest_set_trap, st, ZX_ERR_OUT_OF_RANGE, "overflow");
    else if (kind > 2) expect(CALL_guest_set_trap, st, ZX_ERR_INVALID_ARGS, "unknown kind");
}

static void op_bell_fastpath(struct in* in) {
    zx_handle_t g = take_handle(in, ZX_OBJ_TYPE_GUEST);
    uint64_t addr = take8(in) < 200 ? (uint64_t)take16(in) * PAGE + take8(in) % 16 : take_size(in);
    uint32_t size = take8(in) < 200 ? 1u << (take8(in) % 5) : take32(in);
    uint32_t options = take8(in) < 240 ? take8(in) % 3 : take32(in);
    zx_status_t st = fuzz_check(CALL_zxhv_guest_set_bell_fastpath,
                                zxhv_guest_set_bell_fastpath(g, addr, size, options));
    if (!expect_lookup_first(CALL_zxhv_guest_set_bell_fastpath, st, g, ZX_RIGHT_WRITE,
                             ZX_OBJ_TYPE_GUEST)) {
        return;
    }
    if (options > 1 || (size != 1 && size != 2 && size != 4 && size != 8)) {
        expect(CALL_zxhv_guest_set_bell_fastpath, st, ZX_ERR_INVALID_ARGS, "options or size");
    }
}

// A VCPU handle made on another thread (its resume then gives BAD_STATE on this one).
struct vcpu_create_args {
    zx_handle_t guest;
    uint32_t options;
    uint64_t entry;
    void* out;
    zx_status_t status;
};

static void* vcpu_create_thread(void* arg) {
    struct vcpu_create_args* a = arg;
    a->status = zx_vcpu_create(a->guest, a->options, a->entry, a->out);
    return NULL;
}

static void op_vcpu_create(struct in* in) {
    if (!room()) return;
    zx_handle_t g = take_handle(in, ZX_OBJ_TYPE_GUEST);
    uint32_t options = take8(in) < 240 ? 0 : take32(in);
    uint64_t entry = take8(in) < 200 ? (uint64_t)take16(in) * 16 : take_size(in);
    struct uptr out = take_ptr_fixed(in);
    bool other_thread = take8(in) >= 224;
    size_t before = handle_table_count();
    zx_status_t st;
    if (other_thread) {
        struct vcpu_create_args a = {g, options, entry, out.p, ZX_ERR_INTERNAL};
        pthread_t t;
        if (pthread_create(&t, NULL, vcpu_create_thread, &a) != 0) return;
        pthread_join(t, NULL);
        st = a.status;
    } else {
        st = zx_vcpu_create(g, options, entry, out.p);
    }
    fuzz_check(CALL_vcpu_create, st);
    if (options != 0) {
        expect(CALL_vcpu_create, st, ZX_ERR_INVALID_ARGS, "options first");
        return;
    }
    if (!expect_lookup_first(CALL_vcpu_create, st, g, ZX_RIGHT_MANAGE_PROCESS, ZX_OBJ_TYPE_GUEST)) {
        return;
    }
    if (entry >= (1ull << 48)) expect(CALL_vcpu_create, st, ZX_ERR_INVALID_ARGS, "entry >= 2^48");
    else if (cannot_write(out, 4)) expect(CALL_vcpu_create, st, ZX_ERR_INVALID_ARGS, "bad out");
    expect_made(CALL_vcpu_create, st, out, before, ZX_OBJ_TYPE_VCPU, ZX_DEFAULT_VCPU_RIGHTS,
                other_thread ? SH_FOREIGN : 0);
}

// zx_vcpu_resume and the calls bound to the VCPU's thread, on this thread or another one.
enum vcpu_call { V_RESUME, V_READ, V_WRITE, V_MEM_ACCESS, V_COMPLETE_READ, V_COUNT };

struct vcpu_call_args {
    enum vcpu_call which;
    zx_handle_t vcpu;
    uint32_t kind;
    struct uptr buf;
    size_t size;
    uint64_t value;
    zx_status_t status;
};

static void* vcpu_call(void* arg) {
    struct vcpu_call_args* a = arg;
    switch (a->which) {
        case V_RESUME: {
            fuzz_watch_begin(a->vcpu, ZX_MSEC(20) * fuzz_time_scale(), ZX_SEC(20) * fuzz_time_scale());
            a->status = zx_vcpu_resume(a->vcpu, a->buf.p);
            fuzz_watch_end();
            break;
        }
        case V_READ:
            a->status = zx_vcpu_read_state(a->vcpu, a->kind, a->buf.p, a->size);
            break;
        case V_WRITE:
            a->status = zx_vcpu_write_state(a->vcpu, a->kind, a->buf.p, a->size);
            break;
        case V_MEM_ACCESS:
            a->status = zxhv_vcpu_mem_access(a->vcpu, a->buf.p);
            break;
        default:
            a->status = zxhv_vcpu_mem_complete_read(a->vcpu, a->value);
            break;
    }
    return NULL;
}

static void op_vcpu_thread_call(struct in* in) {
    struct vcpu_call_args a;
    memset(&a, 0, sizeof(a));
    a.which = (enum vcpu_call)(take8(in) % V_COUNT);
    a.vcpu = take_handle(in, ZX_OBJ_TYPE_VCPU);
    uint8_t k = take8(in);
    a.kind = k < 200 ? k % 2 : take32(in);
    a.buf = take_ptr_fixed(in);
    uint8_t z = take8(in);
    static const size_t kSizes[] = {sizeof(zx_vcpu_state_t), sizeof(zx_vcpu_io_t), 0, 1, 135, 137};
    a.size = z < 240 ? kSizes[z % 6] : take_size(in);
    a.value = take64(in);
    if (a.buf.known && a.buf.p == arena && take8(in) < 128) {
        // Plausible state: registers from the input, sometimes RFLAGS with bit 1.
        for (size_t i = 0; i < sizeof(zx_vcpu_state_t); i++) arena[i] = take8(in);
    }
    bool other_thread = take8(in) >= 232;
    if (other_thread) {
        pthread_t t;
        if (pthread_create(&t, NULL, vcpu_call, &a) != 0) return;
        pthread_join(t, NULL);
    } else {
        vcpu_call(&a);
    }
    static const enum fuzz_call kCalls[] = {CALL_vcpu_resume, CALL_vcpu_read_state,
                                            CALL_vcpu_write_state, CALL_zxhv_vcpu_mem_access,
                                            CALL_zxhv_vcpu_mem_complete_read};
    static const zx_rights_t kRights[] = {ZX_RIGHT_EXECUTE, ZX_RIGHT_READ, ZX_RIGHT_WRITE,
                                          ZX_RIGHT_READ, ZX_RIGHT_WRITE};
    enum fuzz_call call = kCalls[a.which];
    zx_status_t st = fuzz_check(call, a.status);
    if (!expect_lookup_first(call, st, a.vcpu, kRights[a.which], ZX_OBJ_TYPE_VCPU)) return;
    bool size_first = (a.which == V_READ || a.which == V_WRITE) && a.size > sizeof(zx_vcpu_state_t);
    if (size_first) {
        expect(call, st, ZX_ERR_INVALID_ARGS, "buffer_size > 136 comes before the thread");
        return;
    }
    if (a.which == V_WRITE && !can_read(a.buf, a.size)) {
        if (cannot_read(a.buf, a.size)) {
            expect(call, st, ZX_ERR_INVALID_ARGS, "unreadable buffer comes before the thread");
        }
        return;
    }
    struct shadow* s = shadow_find(a.vcpu);
    if (other_thread || (s != NULL && (s->flags & SH_FOREIGN))) {
        expect(call, st, ZX_ERR_BAD_STATE, "called from another thread");
        return;
    }
    if (a.which == V_RESUME && a.buf.p == NULL) expect(call, st, ZX_ERR_INVALID_ARGS, "NULL packet");
    if (a.which == V_READ && (a.kind != ZX_VCPU_STATE || a.size != sizeof(zx_vcpu_state_t))) {
        expect(call, st, ZX_ERR_INVALID_ARGS, "kind or size");
    }
    if (a.which == V_RESUME && st == ZX_OK) {
        zx_port_packet_t p;
        if (!safe_read(a.buf.p, &p, sizeof(p))) fuzz_fail("resume: packet unreadable after ZX_OK");
        if (p.type != ZX_PKT_TYPE_GUEST_IO && p.type != ZX_PKT_TYPE_GUEST_MEM &&
            p.type != ZX_PKT_TYPE_GUEST_VCPU) {
            fuzz_fail("resume gave a packet of type %u", p.type);
        }
    }
}

static void op_vcpu_interrupt(struct in* in) {
    zx_handle_t v = take_handle(in, ZX_OBJ_TYPE_VCPU);
    uint32_t vector = take8(in) < 240 ? take8(in) : take32(in);
    zx_status_t st = fuzz_check(CALL_vcpu_interrupt, zx_vcpu_interrupt(v, vector));
    if (!expect_lookup_first(CALL_vcpu_interrupt, st, v, ZX_RIGHT_SIGNAL, ZX_OBJ_TYPE_VCPU)) return;
    expect(CALL_vcpu_interrupt, st, vector >= 256 ? ZX_ERR_OUT_OF_RANGE : ZX_OK, "vector range");
}

static void op_vcpu_kick(struct in* in) {
    zx_handle_t v = take_handle(in, ZX_OBJ_TYPE_VCPU);
    zx_status_t st = fuzz_check(CALL_vcpu_kick, zx_vcpu_kick(v));
    if (!expect_lookup_first(CALL_vcpu_kick, st, v, ZX_RIGHT_EXECUTE, ZX_OBJ_TYPE_VCPU)) return;
    expect(CALL_vcpu_kick, st, ZX_OK, "kick");
}

static void op_misc(struct in* in) {
    switch (take8(in) % 5) {
        case 0: {
            zx_handle_t h = zx_vmar_root_self();
            if (h != root_vmar) fuzz_fail("zx_vmar_root_self changed from %#x to %#x", root_vmar, h);
            break;
        }
        case 1: {
            zx_time_t d = take8(in) < 128 ? -(zx_time_t)take32(in) : zx_deadline_after(ZX_USEC(take8(in) % 50));
            fuzz_check(CALL_nanosleep, zx_nanosleep(d));
            break;
        }
        case 2: {
            zx_duration_t d = (zx_duration_t)take64(in);
            zx_time_t before = zx_clock_get_monotonic();
            zx_time_t t = zx_deadline_after(d);
            zx_time_t after = zx_clock_get_monotonic();
            if (d >= 0 && t < before) fuzz_fail("zx_deadline_after(%ld) went backwards", (long)d);
            if (d <= 0 && t > after) fuzz_fail("zx_deadline_after(%ld) went forwards", (long)d);
            break;
        }
        case 3: {
            const char* s = zx_status_get_string((zx_status_t)take32(in));
            if (s == NULL || s[0] == '\0') fuzz_fail("zx_status_get_string gave no name");
            break;
        }
        default:
            // Fill the start of the arena from the input (packets, names, register state).
            for (size_t i = 0; i < 64; i++) arena[i] = take8(in);
            break;
    }
}

// ---- Each input

static void fuzz_init(void) {
    size_t arena_size = (size_t)ARENA_PAGES * PAGE;
    uint8_t* m = mmap(NULL, arena_size + 3 * PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) fuzz_fail("mmap for the arena");
    arena = m;
    mprotect(m + arena_size, PAGE, PROT_NONE);
    ro_page = m + arena_size + PAGE;
    mprotect(ro_page, PAGE, PROT_READ);
    none_page = m + arena_size + 2 * PAGE;
    mprotect(none_page, PAGE, PROT_NONE);

    root_vmar = zx_vmar_root_self();
    // Open what the library keeps open for the process (the KVM device, the kick signal), so the
    // census below counts only what an input leaves behind.
    zx_handle_t root, guest, vmar;
    if (zxhv_root_resource_get(&root) == ZX_OK) {
        if (zx_guest_create(root, 0, &guest, &vmar) == ZX_OK) {
            have_kvm = true;
            zx_handle_t vcpu;
            if (zx_vcpu_create(guest, 0, 0, &vcpu) == ZX_OK) zx_handle_close(vcpu);
            zx_handle_close(vmar);
            zx_handle_close(guest);
        }
        zx_handle_close(root);
    }
    baseline_handles = handle_table_count();
    baseline_fds = fuzz_fd_count();
    if (getenv("ZXHV_FUZZ_VERBOSE")) fuzz_print_fds();
    baseline_maps = fuzz_vmo_mapping_count();
    if (getenv("ZXHV_FUZZ_VERBOSE")) {
        fprintf(stderr, "syscall fuzzer: KVM %s, baseline %zu handles, %d fds\n",
                have_kvm ? "available" : "not available", baseline_handles, baseline_fds);
    }
}

static void cleanup(void) {
    while (nlive > 0) {
        zx_handle_t h = live[nlive - 1].value;
        zx_status_t st = zx_handle_close(h);
        if (st != ZX_OK) fuzz_fail("closing live handle %#x at the end gave %s", h, zx_status_get_string(st));
        nlive--;
    }
    // Everything the fuzzer mapped in the host: the root VMAR only ever unmaps its own mappings.
    zx_status_t st = zx_vmar_unmap(root_vmar, ROOT_VMAR_BASE, ROOT_VMAR_SIZE);
    if (st != ZX_OK) fuzz_fail("unmapping the root VMAR at the end gave %s", zx_status_get_string(st));
    last_map_addr = 0;
    last_map_len = 0;
    nstale = 0;
    size_t handles = handle_table_count();
    int fds = touched_fds ? fuzz_fd_count() : baseline_fds;
    // Reading /proc/self/maps is most of an input's time in a long campaign (ASan leaves the
    // process with thousands of mappings): ZXHV_FUZZ_MAPS_EVERY=N counts the VMO mappings only
    // every Nth input that could have changed them. A leak stays visible until then, so it is
    // still found, but the input saved is one of the last N.
    static unsigned maps_every, maps_pending;
    if (maps_every == 0) {
        const char* e = getenv("ZXHV_FUZZ_MAPS_EVERY");
        maps_every = (e != NULL && atoi(e) > 0) ? (unsigned)atoi(e) : 1;
    }
    if (touched_fds) maps_pending++;
    int maps = baseline_maps;
    if (maps_pending >= maps_every) {
        maps = fuzz_vmo_mapping_count();
        maps_pending = 0;
    }
    touched_fds = false;
    if (handles != baseline_handles) {
        fuzz_fail("after closing everything %zu handles are live; %zu before the input", handles,
                  baseline_handles);
    }
    if (fds != baseline_fds) {
        fuzz_print_fds();
        fuzz_fail("after closing everything %d descriptors are open; %d before the input", fds,
                  baseline_fds);
    }
    if (maps != baseline_maps) {
        fuzz_fail("after closing everything %d VMO mappings remain; %d before the input (or, with "
                  "ZXHV_FUZZ_MAPS_EVERY=%u, before one of the last %u inputs)", maps, baseline_maps,
                  maps_every, maps_every);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool initialized;
    if (!initialized) {
        fuzz_init();
        initialized = true;
    }
    struct in in = {data, size};
    memset(arena, 0, (size_t)ARENA_PAGES * PAGE);
    for (int ops = 0; ops < MAX_OPS && in.n > 0; ops++) {
        uint8_t op = take8(&in);
        if (getenv("ZXHV_FUZZ_TRACE")) fprintf(stderr, "op %u\n", op % 26);
        switch (op % 26) {
            case 0: case 1: touched_fds = true, op_vmo_create(&in); break;
            case 2: touched_fds = true, op_vmo_rw(&in, false); break;
            case 3: touched_fds = true, op_vmo_rw(&in, true); break;
            case 4: op_vmo_get_size(&in); break;
            case 5: touched_fds = true, op_vmo_set_size(&in); break;
            case 6: case 7: touched_fds = true, op_vmar_map(&in); break;
            case 8: touched_fds = true, op_vmar_unmap(&in); break;
            case 9: op_port_create(&in); break;
            case 10: op_port_queue(&in); break;
            case 11: op_port_wait(&in); break;
            case 12: op_resource_create(&in); break;
            case 13: op_root_resource(&in); break;
            case 14: op_close(&in); break;
            case 15: op_dup_replace(&in, false); break;
            case 16: op_dup_replace(&in, true); break;
            case 17: op_get_info(&in); break;
            case 18: touched_fds = true, op_guest_create(&in); break;
            case 19: touched_fds = true, op_set_trap(&in); break;
            case 20: touched_fds = true, op_vcpu_create(&in); break;
            case 21: touched_fds = true, op_vcpu_thread_call(&in); break;
            case 22: op_vcpu_interrupt(&in); break;
            case 23: op_vcpu_kick(&in); break;
            case 24: touched_fds = true, op_bell_fastpath(&in); break;
            default: op_misc(&in); break;
        }
        check_count("an operation");
    }
    cleanup();
    return 0;
}
