// zxhv guest fuzzer (libFuzzer entry point; fuzz/standalone.c drives it without libFuzzer).
//
// Each input is one guest: code bytes at the entry point, page tables (an identity map, a 4 KiB
// one, tables drawn from a seed, or none), the general registers, interrupts raised before it
// runs, and how the VMM answers its IN and MEM loads. It runs on a fresh VCPU (64-bit for the
// first VCPU of guest A, real mode for the second VCPU of guest B, spec §3.4) for a few resumes,
// each with a time budget: the watchdog (fuzz_common.c) kicks a guest that runs past it, and a
// kick that does not end the resume within the stuck limit is a finding.
//
// Invariants: every resume ends in a packet or a status docs/syscalls/vcpu_resume.md lists;
// ZX_ERR_CANCELED only after a kick; packets describe the traps the guest has (ports, sizes,
// addresses, instruction lengths); the state calls succeed afterwards; BELL packets on the port
// are well formed; the VCPU's handle is the only one a run adds, and closing it restores the
// handle count, and (checked every 256 guests) the descriptors.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/errors.h>
#include <zircon/process.h>
#include <zircon/status.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/hypervisor.h>
#include <zircon/syscalls/port.h>
#include <zircon/syscalls/resource.h>
#include <zxhv.h>

#include "fuzz_common.h"
#include "object/handle.h"

// Guest physical layout. RAM [0, 64 KiB): page tables at 0 (PML4), 0x1000 (PDPT), 0x2000 (PD),
// 0x3000 (PT); code at ENTRY. The first RAM page again, read-only, at RO_ADDR; traps above.
#define RAM_SIZE 0x10000u
#define ENTRY 0x8000u
#define MAX_CODE 0x3000u
#define RO_ADDR 0x10000u
#define MEM_TRAP 0x20000u
#define MEM_TRAP_LEN 0x2000u
#define BELL_TRAP 0x22000u
#define BELL_TRAP_LEN 0x1000u
#define BELL_FAST_ADDR (BELL_TRAP + 0x10)
#define MAX_RESUMES 8

struct io_range {
    uint16_t port, len;
};
static const struct io_range kIoTraps[] = {{0x60, 0x20}, {0x3f8, 8}, {0xe9, 1}, {0x1000, 0x100}};

// A guest with its memory and traps. Guest A runs its VCPUs in 64-bit mode (each is the first
// VCPU); guest B keeps a parked first VCPU, so each new one is a second VCPU, in real mode.
struct world {
    zx_handle_t guest, vmar, vmo, port, parked;
    uint8_t* ram;  // the VMO, mapped in this process
    bool real_mode;
};

static struct world worlds[2];
static zx_handle_t hypervisor;
static size_t handles_between_guests;
static int fds_between_guests;

// Figures for the report (printed at exit).
static uint64_t guests, resumes, packets_io, packets_mem, packets_vcpu, bells, kicked_resumes;
static uint64_t status_counts[128];
static uint64_t world_rebuilds;

#define OK(expr)                                                                                \
    do {                                                                                        \
        zx_status_t s_ = (expr);                                                                \
        if (s_ != ZX_OK) fuzz_fail("%s: %s", #expr, zx_status_get_string(s_));                  \
    } while (0)

static void world_destroy(struct world* w) {
    if (w->guest == ZX_HANDLE_INVALID) return;
    if (w->parked != ZX_HANDLE_INVALID) OK(zx_handle_close(w->parked));
    OK(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)w->ram, RAM_SIZE));
    OK(zx_handle_close(w->vmo));
    OK(zx_handle_close(w->port));
    OK(zx_handle_close(w->vmar));
    OK(zx_handle_close(w->guest));
    memset(w, 0, sizeof(*w));
}

static void world_build(struct world* w, bool real_mode) {
    memset(w, 0, sizeof(*w));
    w->real_mode = real_mode;
    zx_status_t status = zx_guest_create(hypervisor, 0, &w->guest, &w->vmar);
    if (status == ZX_ERR_NOT_SUPPORTED) {
        fprintf(stderr, "guest fuzzer: no usable KVM (zx_guest_create: ZX_ERR_NOT_SUPPORTED)\n");
        exit(77);
    }
    OK(status);
    OK(zx_vmo_create(RAM_SIZE, 0, &w->vmo));
    zx_vaddr_t addr;
    OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, w->vmo, 0,
                   RAM_SIZE, &addr));
    w->ram = (uint8_t*)addr;
    OK(zx_vmar_map(w->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                   0, w->vmo, 0, RAM_SIZE, &addr));
    OK(zx_vmar_map(w->vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, RO_ADDR, w->vmo, 0, 0x1000, &addr));
    OK(zx_port_create(0, &w->port));
    OK(zx_guest_set_trap(w->guest, ZX_GUEST_TRAP_MEM, MEM_TRAP, MEM_TRAP_LEN, ZX_HANDLE_INVALID, 0x4d454d));
    OK(zx_guest_set_trap(w->guest, ZX_GUEST_TRAP_BELL, BELL_TRAP, BELL_TRAP_LEN, w->port, 0x42454c4c));
    for (size_t i = 0; i < sizeof(kIoTraps) / sizeof(kIoTraps[0]); i++) {
        OK(zx_guest_set_trap(w->guest, ZX_GUEST_TRAP_IO, kIoTraps[i].port, kIoTraps[i].len,
                             ZX_HANDLE_INVALID, 0x494f00 + i));
    }
    status = zxhv_guest_set_bell_fastpath(w->guest, BELL_FAST_ADDR, 4, ZXHV_BELL_EXACT);
    if (status != ZX_OK && status != ZX_ERR_NOT_SUPPORTED) {
        fuzz_fail("zxhv_guest_set_bell_fastpath: %s", zx_status_get_string(status));
    }
    if (real_mode) OK(zx_vcpu_create(w->guest, 0, ENTRY, &w->parked));
    world_rebuilds++;
}

static void report(void) {
    fprintf(stderr,
            "guest fuzzer: %llu guests, %llu resumes (%llu kicked by the watchdog, kick to return: "
            "mean %.1f ms, worst %.1f ms), packets: %llu IO, %llu MEM, %llu VCPU; %llu BELL packets; %llu "
            "guest rebuilds\n",
            (unsigned long long)guests, (unsigned long long)resumes,
            (unsigned long long)kicked_resumes, (double)fuzz_watch_mean_kick_latency() / 1e6,
            (double)fuzz_watch_worst_kick_latency() / 1e6,
            (unsigned long long)packets_io, (unsigned long long)packets_mem,
            (unsigned long long)packets_vcpu, (unsigned long long)bells,
            (unsigned long long)world_rebuilds);
    fprintf(stderr, "guest fuzzer: resume statuses:");
    for (int i = 0; i < 128; i++) {
        if (status_counts[i]) {
            fprintf(stderr, " %s=%llu", zx_status_get_string(-i),
                    (unsigned long long)status_counts[i]);
        }
    }
    fprintf(stderr, "\n");
}

static void init(void) {
    zx_handle_t root;
    OK(zxhv_root_resource_get(&root));
    OK(zx_resource_create(root, ZX_RSRC_KIND_HYPERVISOR, 0, 0, "guest-fuzz", 10, &hypervisor));
    OK(zx_handle_close(root));
    world_build(&worlds[0], false);
    world_build(&worlds[1], true);
    handles_between_guests = handle_table_count();
    fds_between_guests = fuzz_fd_count();
    atexit(report);
}

// ---- The input (struct in and take8..take64: fuzz_common.h)

static uint64_t rng_next(uint64_t* x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

// Page tables rooted at GPA 0, the CR3 a first VCPU starts with (spec §3.4).
static void write_page_tables(uint8_t* ram, unsigned mode, uint64_t seed) {
    uint64_t* pml4 = (uint64_t*)ram;
    uint64_t* pdpt = (uint64_t*)(ram + 0x1000);
    uint64_t* pd = (uint64_t*)(ram + 0x2000);
    uint64_t* pt = (uint64_t*)(ram + 0x3000);
    switch (mode) {
        case 0:  // identity map of the first 1 GiB with 2 MiB pages
            pml4[0] = 0x1000 | 3;
            pdpt[0] = 0x2000 | 3;
            for (uint64_t i = 0; i < 512; i++) pd[i] = (i << 21) | 0x83;
            break;
        case 1:  // the first 2 MiB with 4 KiB pages (some read-only or not present), then 2 MiB
            pml4[0] = 0x1000 | 3;
            pdpt[0] = 0x2000 | 3;
            pd[0] = 0x3000 | 3;
            for (uint64_t i = 1; i < 512; i++) pd[i] = (i << 21) | 0x83;
            for (uint64_t i = 0; i < 512; i++) {
                uint64_t r = rng_next(&seed);
                pt[i] = (i << 12) | ((r & 0xf) == 0 ? 1 : (r & 0xf) == 1 ? 0 : 3);
            }
            break;
        case 2: {  // anything: entries pointing at the tables, RAM, traps or nowhere
            uint64_t* tables[4] = {pml4, pdpt, pd, pt};
            for (int t = 0; t < 4; t++) {
                for (int i = 0; i < 8; i++) {
                    uint64_t r = rng_next(&seed);
                    uint64_t target;
                    switch (r & 3) {
                        case 0: target = (r >> 8) % 4 * 0x1000; break;
                        case 1: target = (r >> 8) % (RAM_SIZE / 0x1000) * 0x1000; break;
                        case 2: target = MEM_TRAP + (r >> 8) % 3 * 0x1000; break;
                        default: target = (r >> 12) & 0x000ffffffffff000ull; break;
                    }
                    uint64_t flags = rng_next(&seed) & 0x8000000000000fffull;
                    tables[t][i * 61 % 512] = target | flags;
                }
            }
            pml4[0] = 0x1000 | (rng_next(&seed) & 0xfff) | 1;
            break;
        }
        default:  // none: zeros
            break;
    }
}

// Code from the input: raw bytes, or (snippet mode) a sequence of instructions picked by the
// input that reach the exits a VMM sees (trapped and untrapped ports, string IO, the MEM and BELL
// traps, read-only and unmapped memory, x2APIC and TSC-deadline MSRs, HLT, interrupts, control
// registers), with raw bytes between them.
static size_t emit(uint8_t* out, size_t at, const uint8_t* bytes, size_t n) {
    if (at + n > MAX_CODE) return at;
    memcpy(out + at, bytes, n);
    return at + n;
}

static size_t build_code(uint8_t* out, struct in* in, bool snippets) {
    if (!snippets) {
        size_t n = in->n < MAX_CODE ? in->n : MAX_CODE;
        memcpy(out, in->p, n);
        in->p += n;
        in->n -= n;
        return n;
    }
    static const uint16_t kPorts[] = {0x60, 0x64, 0x3f8, 0x3fd, 0xe9, 0x1000, 0x10ff, 0x70, 0xcf8};
    static const uint32_t kAddrs[] = {MEM_TRAP, MEM_TRAP + 0x1ffc, BELL_TRAP, BELL_FAST_ADDR,
                                      RO_ADDR, 0x30000, 0x1000, 0xfee00000u};
    static const uint32_t kMsrs[] = {0x802, 0x803, 0x808, 0x80b, 0x80f, 0x830, 0x832, 0x838,
                                     0x839, 0x83e, 0x83f, 0x6e0, 0x1b, 0xc0000080u};
    size_t at = 0;
    while (in->n > 0 && at < MAX_CODE - 32) {
        uint8_t k = take8(in);
        uint8_t a = take8(in), b = take8(in);
        uint32_t imm = (uint32_t)take8(in) | (uint32_t)take8(in) << 8;
        uint16_t port = kPorts[a % (sizeof(kPorts) / sizeof(kPorts[0]))];
        uint32_t addr = kAddrs[a % (sizeof(kAddrs) / sizeof(kAddrs[0]))] + (b & 7);
        uint32_t msr = kMsrs[a % (sizeof(kMsrs) / sizeof(kMsrs[0]))];
        uint8_t c[16];
        switch (k % 20) {
            case 0:  // mov dx, port; out dx, al/ax/eax
                c[0] = 0x66, c[1] = 0xba, c[2] = (uint8_t)port, c[3] = (uint8_t)(port >> 8);
                c[4] = b & 1 ? 0xee : 0x66, c[5] = 0xef;
                at = emit(out, at, c, b & 1 ? 5 : 6);
                break;
            case 1:  // mov dx, port; in al/eax, dx
                c[0] = 0x66, c[1] = 0xba, c[2] = (uint8_t)port, c[3] = (uint8_t)(port >> 8);
                c[4] = b & 1 ? 0xec : 0xed;
                at = emit(out, at, c, 5);
                break;
            case 2:  // out imm8, al / in al, imm8
                c[0] = b & 1 ? 0xe6 : 0xe4, c[1] = (uint8_t)port;
                at = emit(out, at, c, 2);
                break;
            case 3:  // mov dword [addr], imm32
                c[0] = 0xc7, c[1] = 0x04, c[2] = 0x25;
                memcpy(c + 3, &addr, 4);
                memcpy(c + 7, &imm, 4);
                at = emit(out, at, c, 11);
                break;
            case 4: {  // mov r, [addr] (8/16/32/64-bit loads)
                static const uint8_t kPrefix[] = {0x8a, 0x8b, 0x66, 0x48};
                size_t n = 0;
                uint8_t pre = kPrefix[b % 4];
                if (pre == 0x66 || pre == 0x48) c[n++] = pre, c[n++] = 0x8b;
                else c[n++] = pre;
                c[n++] = (uint8_t)(0x04 | ((b >> 2) & 7) << 3), c[n++] = 0x25;
                memcpy(c + n, &addr, 4);
                at = emit(out, at, c, n + 4);
                break;
            }
            case 5:  // mov byte/word [addr], reg
                c[0] = b & 1 ? 0x88 : 0x89, c[1] = (uint8_t)(0x04 | ((b >> 1) & 7) << 3), c[2] = 0x25;
                memcpy(c + 3, &addr, 4);
                at = emit(out, at, c, 7);
                break;
            case 6:  // mov ecx, msr; mov eax, imm; mov edx, 0; wrmsr
                c[0] = 0xb9;
                memcpy(c + 1, &msr, 4);
                c[5] = 0xb8;
                memcpy(c + 6, &imm, 4);
                c[10] = 0x31, c[11] = 0xd2, c[12] = 0x0f, c[13] = 0x30;
                at = emit(out, at, c, 14);
                break;
            case 7:  // mov ecx, msr; rdmsr
                c[0] = 0xb9;
                memcpy(c + 1, &msr, 4);
                c[5] = 0x0f, c[6] = 0x32;
                at = emit(out, at, c, 7);
                break;
            case 8:  // hlt, sti; hlt, cli; hlt
                c[0] = 0xfb, c[1] = 0xf4;
                at = emit(out, at, b % 3 == 0 ? c + 1 : c, b % 3 == 0 ? 1 : 2);
                break;
            case 9: {  // string and REP IO, with dx at a port
                static const uint8_t kOps[][2] = {{0x6e, 0}, {0x6c, 0}, {0xf3, 0x6e}, {0xf3, 0x6c},
                                                  {0xf3, 0x6f}, {0x66, 0x6d}};
                c[0] = 0x66, c[1] = 0xba, c[2] = (uint8_t)port, c[3] = (uint8_t)(port >> 8);
                c[4] = 0xb9, c[5] = b & 7, c[6] = 0, c[7] = 0, c[8] = 0;  // mov ecx, count
                c[9] = kOps[a % 6][0], c[10] = kOps[a % 6][1];
                at = emit(out, at, c, kOps[a % 6][1] ? 11 : 10);
                break;
            }
            case 10:  // mov rdi/rsi, addr; rep stosb / movsb
                c[0] = 0xbf;
                memcpy(c + 1, &addr, 4);
                c[5] = 0xbe;
                memcpy(c + 6, &addr, 4);
                c[10] = 0xb9, c[11] = b & 15, c[12] = 0, c[13] = 0, c[14] = 0;
                c[15] = a & 1 ? 0xaa : 0xa4;
                at = emit(out, at, c, 16);
                break;
            case 11:  // int n, int3, ud2
                c[0] = 0xcd, c[1] = b;
                if (a % 3 == 1) c[0] = 0xcc;
                if (a % 3 == 2) c[0] = 0x0f, c[1] = 0x0b;
                at = emit(out, at, c, a % 3 == 1 ? 1 : 2);
                break;
            case 12:  // mov eax, imm; mov cr0/cr3/cr4, rax
                c[0] = 0xb8;
                memcpy(c + 1, &imm, 4);
                c[5] = 0x0f, c[6] = 0x22, c[7] = (uint8_t)(0xc0 | (a % 3 == 0 ? 0 : a % 3 == 1 ? 3 : 4) << 3);
                at = emit(out, at, c, 8);
                break;
            case 13:  // vmcall, cpuid, pause, xsetbv, rdtsc
                {
                    static const uint8_t kOps[][3] = {{0x0f, 0x01, 0xc1}, {0x0f, 0xa2, 0x90},
                                                      {0xf3, 0x90, 0x90}, {0x0f, 0x01, 0xd1},
                                                      {0x0f, 0x31, 0x90}};
                    at = emit(out, at, kOps[a % 5], 3);
                }
                break;
            case 14:  // xchg [addr], eax (a read-modify-write in a trap)
                c[0] = 0x87, c[1] = 0x04, c[2] = 0x25;
                memcpy(c + 3, &addr, 4);
                at = emit(out, at, c, 7);
                break;
            case 15:  // lock add [addr], imm8 / push [addr]
                c[0] = 0xf0, c[1] = 0x83, c[2] = 0x04, c[3] = 0x25;
                memcpy(c + 4, &addr, 4);
                c[8] = b;
                at = emit(out, at, c, 9);
                break;
            default: {  // raw bytes
                size_t n = 1 + b % 8;
                for (size_t i = 0; i < n; i++) c[i] = take8(in);
                at = emit(out, at, c, n);
                break;
            }
        }
    }
    return at;
}

static bool in_io_trap(uint16_t port) {
    for (size_t i = 0; i < sizeof(kIoTraps) / sizeof(kIoTraps[0]); i++) {
        if (port >= kIoTraps[i].port && port - kIoTraps[i].port < kIoTraps[i].len) return true;
    }
    return false;
}

// Checks a packet and answers it as a VMM would (or does not, as the input says).
static void handle_packet(zx_handle_t vcpu, const zx_port_packet_t* p, uint64_t* seed, bool answer) {
    switch (p->type) {
        case ZX_PKT_TYPE_GUEST_IO:
            packets_io++;
            if (!in_io_trap(p->guest_io.port)) fuzz_fail("IO packet for untrapped port %#x", p->guest_io.port);
            if (p->guest_io.access_size != 1 && p->guest_io.access_size != 2 &&
                p->guest_io.access_size != 4) {
                fuzz_fail("IO packet with access_size %u", p->guest_io.access_size);
            }
            if (p->key != 0x494f00 && p->key != 0x494f01 && p->key != 0x494f02 && p->key != 0x494f03) {
                fuzz_fail("IO packet with key %#lx", (unsigned long)p->key);
            }
            if (p->guest_io.input && answer) {
                zx_vcpu_io_t io;
                memset(&io, 0, sizeof(io));
                uint64_t r = rng_next(seed);
                io.access_size = (uint8_t)(1u << (r % 3));
                io.u32 = (uint32_t)(r >> 8);
                fuzz_check(CALL_vcpu_write_state, zx_vcpu_write_state(vcpu, ZX_VCPU_IO, &io, sizeof(io)));
            }
            break;
        case ZX_PKT_TYPE_GUEST_MEM: {
            packets_mem++;
            if (p->guest_mem.addr < MEM_TRAP || p->guest_mem.addr - MEM_TRAP >= MEM_TRAP_LEN) {
                fuzz_fail("MEM packet for %#lx, outside the trap", (unsigned long)p->guest_mem.addr);
            }
            if (p->guest_mem.inst_len == 0 || p->guest_mem.inst_len > X86_MAX_INST_LEN) {
                fuzz_fail("MEM packet with inst_len %u", p->guest_mem.inst_len);
            }
            if (p->guest_mem.default_operand_size != 2 && p->guest_mem.default_operand_size != 4) {
                fuzz_fail("MEM packet with default_operand_size %u", p->guest_mem.default_operand_size);
            }
            zxhv_mem_access_t a;
            OK(zxhv_vcpu_mem_access(vcpu, &a));
            if (a.addr != p->guest_mem.addr) fuzz_fail("mem_access address differs from the packet's");
            if (a.size != 1 && a.size != 2 && a.size != 4 && a.size != 8) {
                fuzz_fail("mem_access size %u", a.size);
            }
            zx_status_t st = zxhv_vcpu_mem_complete_read(vcpu, answer ? rng_next(seed) : 0);
            fuzz_check(CALL_zxhv_vcpu_mem_complete_read, st);
            if (st != (a.write ? ZX_ERR_BAD_STATE : ZX_OK)) {
                fuzz_fail("mem_complete_read gave %s for a %s", zx_status_get_string(st),
                          a.write ? "store" : "load");
            }
            break;
        }
        case ZX_PKT_TYPE_GUEST_VCPU:
            packets_vcpu++;
            if (p->guest_vcpu.type != ZX_PKT_GUEST_VCPU_INTERRUPT &&
                p->guest_vcpu.type != ZX_PKT_GUEST_VCPU_STARTUP) {
                fuzz_fail("VCPU packet of type %u", p->guest_vcpu.type);
            }
            break;
        default:
            fuzz_fail("resume gave a packet of type %u", p->type);
    }
}

static void drain_port(struct world* w) {
    for (;;) {
        zx_port_packet_t p;
        zx_status_t st = fuzz_check(CALL_port_wait, zx_port_wait(w->port, 0, &p));
        if (st == ZX_ERR_TIMED_OUT) return;
        if (st != ZX_OK) fuzz_fail("draining the BELL port: %s", zx_status_get_string(st));
        if (p.type != ZX_PKT_TYPE_GUEST_BELL || p.key != 0x42454c4c ||
            p.guest_bell.addr < BELL_TRAP || p.guest_bell.addr - BELL_TRAP >= BELL_TRAP_LEN) {
            fuzz_fail("BELL port gave type %u key %#lx addr %#lx", p.type, (unsigned long)p.key,
                      (unsigned long)p.guest_bell.addr);
        }
        bells++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool initialized;
    if (!initialized) {
        init();
        initialized = true;
    }
    struct in in = {data, size};
    uint8_t flags = take8(&in);
    uint64_t seed = take64(&in) | 1;
    bool real_mode = flags & 1;
    unsigned tables = (flags >> 1) & 3;
    bool set_regs = flags & 8;
    bool interrupts = flags & 16;
    bool answer = flags & 32;
    unsigned max_resumes = 1u << ((flags >> 6) & 3);
    zx_vcpu_state_t regs;
    memset(&regs, 0, sizeof(regs));
    if (set_regs) {
        uint64_t* r = (uint64_t*)&regs;
        for (size_t i = 0; i < sizeof(regs) / 8; i++) r[i] = take64(&in);
    }

    static uint8_t code[MAX_CODE];
    size_t code_len = build_code(code, &in, (seed & 6) != 0);
    struct world* w = &worlds[real_mode];
    memset(w->ram, 0, RAM_SIZE);
    write_page_tables(w->ram, tables, seed);
    memcpy(w->ram + ENTRY, code, code_len);

    zx_handle_t vcpu;
    zx_status_t st = fuzz_check(CALL_vcpu_create, zx_vcpu_create(w->guest, 0, ENTRY, &vcpu));
    if (st == ZX_ERR_NO_RESOURCES) {
        // KVM never reuses a VCPU id: a guest lasts for as many VCPUs as KVM allows.
        world_destroy(w);
        world_build(w, real_mode);
        memset(w->ram, 0, RAM_SIZE);
        write_page_tables(w->ram, tables, seed);
        memcpy(w->ram + ENTRY, code, code_len);
        st = fuzz_check(CALL_vcpu_create, zx_vcpu_create(w->guest, 0, ENTRY, &vcpu));
    }
    if (st != ZX_OK) fuzz_fail("vcpu_create: %s", zx_status_get_string(st));
    guests++;
    if (set_regs) fuzz_check(CALL_vcpu_write_state, zx_vcpu_write_state(vcpu, ZX_VCPU_STATE, &regs, sizeof(regs)));
    if (interrupts) {
        for (uint64_t n = rng_next(&seed) % 3 + 1; n > 0; n--) {
            OK(zx_vcpu_interrupt(vcpu, (uint32_t)(rng_next(&seed) % 256)));
        }
    }

    int64_t scale = fuzz_time_scale();
    bool kick_pending = false;  // a kick that came after its resume had already returned
    for (unsigned i = 0; i < max_resumes; i++) {
        zx_port_packet_t p;
        fuzz_watch_begin(vcpu, ZX_MSEC(2) * scale, ZX_SEC(10) * scale);
        st = fuzz_check(CALL_vcpu_resume, zx_vcpu_resume(vcpu, &p));
        bool kicked = fuzz_watch_end();
        resumes++;
        status_counts[-st]++;
        if (st == ZX_ERR_CANCELED) {
            if (!kicked && !kick_pending) fuzz_fail("resume gave ZX_ERR_CANCELED without a kick");
            kicked_resumes++;
            break;  // the guest ran past its budget: it would only go on doing so
        }
        kick_pending = kick_pending || kicked;
        if (st == ZX_OK) handle_packet(vcpu, &p, &seed, answer);
        if (i + 1 < max_resumes && answer && (rng_next(&seed) & 3) == 0) {
            OK(zx_vcpu_interrupt(vcpu, (uint32_t)(rng_next(&seed) % 256)));
        }
    }
    if (getenv("ZXHV_FUZZ_TRACE")) {
        fprintf(stderr, "guest %llu: last resume %s after %u resumes\n", (unsigned long long)guests,
                zx_status_get_string(st), max_resumes);
    }
    zx_vcpu_state_t after;
    st = fuzz_check(CALL_vcpu_read_state, zx_vcpu_read_state(vcpu, ZX_VCPU_STATE, &after, sizeof(after)));
    if (st != ZX_OK && st != ZX_ERR_INTERNAL) fuzz_fail("read_state: %s", zx_status_get_string(st));
    OK(zx_handle_close(vcpu));
    drain_port(w);

    if (handle_table_count() != handles_between_guests) {
        fuzz_fail("after the guest %zu handles are live, %zu before", handle_table_count(),
                  handles_between_guests);
    }
    if (guests % 256 == 0 && fuzz_fd_count() != fds_between_guests) {
        fuzz_print_fds();
        fuzz_fail("after %llu guests %d descriptors are open, %d after the first",
                  (unsigned long long)guests, fuzz_fd_count(), fds_between_guests);
    }
    if (getenv("ZXHV_FUZZ_REPORT_EVERY") && guests % (uint64_t)atoll(getenv("ZXHV_FUZZ_REPORT_EVERY")) == 0) {
        report();
    }
    return 0;
}
