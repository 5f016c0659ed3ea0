// zxhv: guest page-table walks and instruction recovery.
#include "arch/x86/guest_walk.h"

#include <string.h>
#include <zircon/errors.h>

#include "arch/x86/decode.h"
#include "hv/gpas.h"

#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PSE (1ull << 4)
#define EFER_LMA (1ull << 10)
#define PTE_P 1ull
#define PTE_PS (1ull << 7)
#define ADDR_MASK 0x000ffffffffff000ull

// Everything below reads guest memory with the aspace's lock held, taken once per public call:
// a page walk and the code it leads to cost one lock, not one per table entry.
static zx_status_t read_entry(struct vm_aspace* gpas, uint64_t gpa, size_t size, uint64_t* out) {
    *out = 0;
    return gpas_access_locked(gpas, gpa, out, size, false);
}

// Translates the linear address |la| with the paging mode of |sregs| (none, 32-bit, PAE or
// 4-level). Errors: ZX_ERR_NOT_FOUND (not present, or a table outside guest RAM).
static zx_status_t translate_locked(struct vm_aspace* gpas, const struct kvm_sregs* sregs,
                                   uint64_t la, uint64_t* gpa) {
    if (!(sregs->cr0 & CR0_PG)) {
        *gpa = la & 0xffffffffull;
        return ZX_OK;
    }
    uint64_t entry;
    if (!(sregs->cr4 & CR4_PAE)) {  // 32-bit paging
        la &= 0xffffffffull;
        uint64_t pde_addr = (sregs->cr3 & 0xfffff000ull) + ((la >> 22) & 0x3ff) * 4;
        if (read_entry(gpas, pde_addr, 4, &entry) != ZX_OK || !(entry & PTE_P)) {
            return ZX_ERR_NOT_FOUND;
        }
        if ((entry & PTE_PS) && (sregs->cr4 & CR4_PSE)) {
            *gpa = (entry & 0xffc00000ull) | (la & 0x3fffff);
            return ZX_OK;
        }
        uint64_t pte_addr = (entry & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4;
        if (read_entry(gpas, pte_addr, 4, &entry) != ZX_OK || !(entry & PTE_P)) {
            return ZX_ERR_NOT_FOUND;
        }
        *gpa = (entry & 0xfffff000ull) | (la & 0xfff);
        return ZX_OK;
    }
    int levels = (sregs->efer & EFER_LMA) ? 4 : 3;
    uint64_t table = levels == 4 ? (sregs->cr3 & ADDR_MASK) : (sregs->cr3 & 0xffffffe0ull);
    for (int level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t index = levels == 3 && level == 3 ? (la >> 30) & 3 : (la >> shift) & 0x1ff;
        if (read_entry(gpas, table + index * 8, 8, &entry) != ZX_OK || !(entry & PTE_P)) {
            return ZX_ERR_NOT_FOUND;
        }
        if (level == 1 || ((level == 2 || level == 3) && (entry & PTE_PS) && !(levels == 3 && level == 3))) {
            uint64_t page_mask = (1ull << shift) - 1;
            *gpa = ((entry & ADDR_MASK) & ~page_mask) | (la & page_mask);
            return ZX_OK;
        }
        table = entry & ADDR_MASK;
    }
    return ZX_ERR_NOT_FOUND;
}

unsigned guest_code_size(const struct kvm_sregs* sregs) {
    if ((sregs->efer & EFER_LMA) && sregs->cs.l) return 8;
    return sregs->cs.db ? 4 : 2;
}

static uint64_t linear(const struct kvm_sregs* sregs, const struct kvm_segment* seg, uint64_t off) {
    if (guest_code_size(sregs) == 8) {
        // In 64-bit mode only FS and GS have a base.
        return (seg == &sregs->fs || seg == &sregs->gs) ? seg->base + off : off;
    }
    return (seg->base + off) & 0xffffffffull;
}

// Reads |n| bytes of code at linear |la| (all in one page) into |dst|, translating the page
// unless it is the one translated last (|*page_la|, |*page_gpa|; ~0 when none).
static bool read_code(struct vm_aspace* gpas, const struct kvm_sregs* sregs, uint64_t la,
                      uint8_t* dst, size_t n, uint64_t* page_la, uint64_t* page_gpa) {
    if ((la & ~4095ull) != *page_la) {
        uint64_t gpa;
        if (translate_locked(gpas, sregs, la, &gpa) != ZX_OK) return false;
        *page_la = la & ~4095ull;
        *page_gpa = gpa & ~4095ull;
    }
    return gpas_access_locked(gpas, *page_gpa | (la & 4095), dst, n, false) == ZX_OK;
}

void guest_code_around(struct vm_aspace* gpas, const struct kvm_sregs* sregs, uint64_t rip,
                       struct guest_code* code) {
    const size_t at_rip = GUEST_CODE_BEFORE, end = sizeof(code->b);
    uint64_t page_la = ~0ull, page_gpa = 0;
    gpas_lock(gpas);
    // Forwards from RIP, a page's worth at a time, stopping at the first page that cannot be read.
    size_t hi = at_rip;
    while (hi < end) {
        uint64_t la = linear(sregs, &sregs->cs, rip + (hi - at_rip));
        size_t n = 4096 - (la & 4095);
        if (n > end - hi) n = end - hi;
        if (!read_code(gpas, sregs, la, &code->b[hi], n, &page_la, &page_gpa)) break;
        hi += n;
    }
    // Backwards from RIP the same way, never below offset 0 of the code segment.
    size_t lo = at_rip, floor = rip < at_rip ? at_rip - rip : 0;
    while (lo > floor) {
        uint64_t last = linear(sregs, &sregs->cs, rip - (at_rip - lo) - 1);
        size_t n = (last & 4095) + 1;
        if (n > lo - floor) n = lo - floor;
        if (!read_code(gpas, sregs, last - (n - 1), &code->b[lo - n], n, &page_la, &page_gpa)) {
            break;
        }
        lo -= n;
    }
    gpas_unlock(gpas);
    code->lo = lo;
    code->hi = hi;
}

static uint64_t gpr(const struct kvm_regs* regs, unsigned n) {
    const uint64_t all[16] = {regs->rax, regs->rcx, regs->rdx, regs->rbx, regs->rsp, regs->rbp,
                              regs->rsi, regs->rdi, regs->r8,  regs->r9,  regs->r10, regs->r11,
                              regs->r12, regs->r13, regs->r14, regs->r15};
    return all[n & 15];
}

static int64_t read_disp(const uint8_t* p, size_t size) {
    switch (size) {
        case 1: return (int8_t)p[0];
        case 2: { int16_t v; memcpy(&v, p, 2); return v; }
        case 4: { int32_t v; memcpy(&v, p, 4); return v; }
        default: { int64_t v; memcpy(&v, p, 8); return v; }
    }
}

static const struct kvm_segment* segment_for(const struct kvm_sregs* sregs, uint8_t prefix,
                                             bool stack) {
    switch (prefix) {
        case 0x2e: return &sregs->cs;
        case 0x36: return &sregs->ss;
        case 0x26: return &sregs->es;
        case 0x64: return &sregs->fs;
        case 0x65: return &sregs->gs;
        case 0x3e: return &sregs->ds;
        default: return stack ? &sregs->ss : &sregs->ds;
    }
}

// The linear address of the memory operand of |insn| (which ends at |end_rip|), or false if it
// has none.
static bool operand_address(const struct kvm_sregs* sregs, const struct kvm_regs* regs,
                            const uint8_t* b, const struct x86_insn* insn, uint64_t end_rip,
                            uint64_t* la) {
    uint64_t mask = insn->addr_size == 8 ? UINT64_MAX
                    : insn->addr_size == 4 ? 0xffffffffull : 0xffffull;
    if (insn->moffs >= 0) {
        uint64_t off = (uint64_t)read_disp(&b[insn->moffs], insn->addr_size) & mask;
        *la = linear(sregs, segment_for(sregs, insn->seg, false), off);
        return true;
    }
    if (insn->modrm < 0) return false;
    uint8_t modrm = b[insn->modrm];
    unsigned mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3) return false;
    const uint8_t* p = &b[insn->modrm + 1];
    uint64_t ea = 0;
    bool stack = false;
    if (insn->addr_size == 2) {
        static const uint8_t base16[8][2] = {{3, 6}, {3, 7}, {5, 6}, {5, 7},
                                             {6, 16}, {7, 16}, {5, 16}, {3, 16}};
        if (mod == 0 && rm == 6) {
            ea = (uint64_t)read_disp(p, 2);
        } else {
            ea = gpr(regs, base16[rm][0]);
            if (base16[rm][1] != 16) ea += gpr(regs, base16[rm][1]);
            stack = rm == 2 || rm == 3 || rm == 6;
            if (mod == 1) ea += (uint64_t)read_disp(p, 1);
            if (mod == 2) ea += (uint64_t)read_disp(p, 2);
        }
    } else {
        unsigned rex_b = (insn->rex & 1) ? 8 : 0, rex_x = (insn->rex & 2) ? 8 : 0;
        if (rm == 4) {
            uint8_t sib = *p++;
            unsigned scale = sib >> 6, index = ((sib >> 3) & 7) | rex_x, base = sib & 7;
            if (index != 4) ea += gpr(regs, index) << scale;
            if (base == 5 && mod == 0) {
                ea += (uint64_t)read_disp(p, 4);
            } else {
                ea += gpr(regs, base | rex_b);
                stack = base == 4 || base == 5;
            }
        } else if (rm == 5 && mod == 0) {
            ea = (uint64_t)read_disp(p, 4);
            if (insn->addr_size == 8 || guest_code_size(sregs) == 8) ea += end_rip;  // RIP-relative
        } else {
            ea = gpr(regs, rm | rex_b);
            stack = rm == 5;
        }
        if (mod == 1) ea += (uint64_t)read_disp(p, 1);
        if (mod == 2) ea += (uint64_t)read_disp(p, 4);
    }
    *la = linear(sregs, segment_for(sregs, insn->seg, stack), ea & mask);
    return true;
}

// The value a store writes, when its source is a register or an immediate.
static bool store_source(const struct kvm_regs* regs, const uint8_t* b, const struct x86_insn* insn,
                         uint64_t* value) {
    if (insn->map != 1) return false;
    switch (insn->opcode) {
        case 0x88:
        case 0x89: {
            unsigned reg = (b[insn->modrm] >> 3) & 7;
            if (insn->rex & 4) reg |= 8;
            if (insn->op_size == 1 && insn->rex == 0 && reg >= 4) {
                *value = gpr(regs, reg - 4) >> 8;  // AH, CH, DH, BH
            } else {
                *value = gpr(regs, reg);
            }
            return true;
        }
        case 0xc6:
        case 0xc7:
            *value = (uint64_t)read_disp(&b[insn->imm], insn->imm_size);
            return true;
        case 0xa2:
        case 0xa3:
            *value = regs->rax;
            return true;
        default:
            return false;
    }
}

static bool matches(struct vm_aspace* gpas, const struct kvm_sregs* sregs,
                    const struct kvm_regs* regs, const uint8_t* b, const struct x86_insn* insn,
                    uint64_t end_rip, const struct guest_access* access) {
    uint64_t la, target;
    if (!operand_address(sregs, regs, b, insn, end_rip, &la)) return false;
    if (translate_locked(gpas, sregs, la, &target) != ZX_OK || target != access->gpa) return false;
    if (insn->op_size != access->size) return false;
    uint64_t value;
    if (access->data != NULL && store_source(regs, b, insn, &value)) {
        return memcmp(&value, access->data, access->size) == 0;
    }
    return true;
}

size_t guest_instruction_at(struct vm_aspace* gpas, const struct kvm_sregs* sregs,
                            const struct kvm_regs* regs, const struct guest_code* code,
                            uint64_t rip, const struct guest_access* access, uint8_t* bytes) {
    const uint8_t* b = &code->b[GUEST_CODE_BEFORE];
    size_t got = code->hi - GUEST_CODE_BEFORE;
    struct x86_insn insn;
    size_t len = x86_decode(b, got, guest_code_size(sregs), &insn);
    if (len == 0) return 0;
    gpas_lock(gpas);
    bool match = matches(gpas, sregs, regs, b, &insn, rip + len, access);
    gpas_unlock(gpas);
    if (!match) return 0;
    memcpy(bytes, b, len);
    return len;
}

size_t guest_find_instruction_before(struct vm_aspace* gpas, const struct kvm_sregs* sregs,
                                     const struct kvm_regs* regs, const struct guest_code* code,
                                     uint64_t end_rip, const struct guest_access* access,
                                     uint8_t* bytes) {
    unsigned code_size = guest_code_size(sregs);
    size_t found = 0;
    gpas_lock(gpas);
    for (size_t len = 1; len <= GUEST_CODE_BEFORE && GUEST_CODE_BEFORE - len >= code->lo; len++) {
        const uint8_t* b = &code->b[GUEST_CODE_BEFORE - len];
        struct x86_insn insn;
        if (x86_decode(b, len, code_size, &insn) != len) continue;
        if (!matches(gpas, sregs, regs, b, &insn, end_rip, access)) continue;
        memcpy(bytes, b, len);
        found = len;
        break;
    }
    gpas_unlock(gpas);
    return found;
}

// 0: not an IO instruction; 1: IN/OUT; 2: string or REP. Sets *len to its length.
static int classify_io(const uint8_t* b, size_t avail, bool long_mode, size_t* len) {
    bool rep = false;
    size_t i = 0;
    while (i < avail && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf2 || b[i] == 0xf3 ||
                         b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e || b[i] == 0x26 ||
                         b[i] == 0x64 || b[i] == 0x65 || (long_mode && (b[i] & 0xf0) == 0x40))) {
        if (b[i] == 0xf2 || b[i] == 0xf3) rep = true;
        i++;
    }
    if (i >= avail) return 0;
    uint8_t op = b[i];
    if (op >= 0xe4 && op <= 0xe7) {
        *len = i + 2;
        return rep ? 2 : 1;
    }
    if (op >= 0xec && op <= 0xef) {
        *len = i + 1;
        return rep ? 2 : 1;
    }
    if (op >= 0x6c && op <= 0x6f) {
        *len = i + 1;
        return 2;
    }
    return 0;
}

bool guest_io_is_string(const struct guest_code* code, const struct kvm_sregs* sregs) {
    bool long_mode = guest_code_size(sregs) == 8;
    size_t len;
    size_t got = code->hi - GUEST_CODE_BEFORE;
    int kind = classify_io(&code->b[GUEST_CODE_BEFORE], got, long_mode, &len);
    if (kind != 0 && len <= got) return kind == 2;
    for (size_t back = 1; back <= GUEST_CODE_BEFORE && GUEST_CODE_BEFORE - back >= code->lo; back++) {
        kind = classify_io(&code->b[GUEST_CODE_BEFORE - back], back, long_mode, &len);
        if (kind != 0 && len == back) return kind == 2;
    }
    return false;
}
