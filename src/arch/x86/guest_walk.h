// zxhv: reading guest code through the guest's own page tables, and finding where an instruction
// that KVM has already stepped over began (spec §3.5: the MEM packet's instruction bytes).
#ifndef ZXHV_ARCH_X86_GUEST_WALK_H_
#define ZXHV_ARCH_X86_GUEST_WALK_H_

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <zircon/types.h>

#include "object/vm_aspace.h"

// Guest code around an exit's RIP: the 15 bytes before it and the 15 from it (the longest x86
// instruction), read once per exit and shared by every look at the instruction.
#define GUEST_CODE_BEFORE 15
struct guest_code {
    uint8_t b[2 * GUEST_CODE_BEFORE];  // b[GUEST_CODE_BEFORE] is the byte at CS:RIP
    size_t lo, hi;                     // b[lo, hi) could be read; lo <= 15 <= hi
};

// Reads the code around CS:|rip| through the guest's page tables, one translation per page (at
// most two). Each side stops at the first byte that is not in guest RAM, at linear address 0 or
// at a 4 GiB wrap.
void guest_code_around(struct vm_aspace* gpas, const struct kvm_sregs* sregs, uint64_t rip,
                       struct guest_code* code);

// Code size of the current mode: 8 (64-bit), 4 or 2.
unsigned guest_code_size(const struct kvm_sregs* sregs);

// The access KVM reported: |size| bytes at guest physical |gpa|; for a store, the bytes stored
// (|data|), else NULL.
struct guest_access {
    uint64_t gpa;
    unsigned size;
    const uint8_t* data;
};

// Whether the instruction at |rip| (in |code|) made |access|; if so copies its bytes to |bytes| and returns
// its length, else 0.
size_t guest_instruction_at(struct vm_aspace* gpas, const struct kvm_sregs* sregs,
                            const struct kvm_regs* regs, const struct guest_code* code,
                            uint64_t rip, const struct guest_access* access, uint8_t* bytes);

// Whether the IO instruction of the last IO exit is a string one (INS/OUTS) or has a REP prefix:
// looks at RIP and, as KVM may already have stepped over it, at what ends at RIP. False when no
// IO instruction is found there.
bool guest_io_is_string(const struct guest_code* code, const struct kvm_sregs* sregs);

// Finds the instruction that ends at |end_rip| and made |access| (KVM moves RIP past a store
// before user space sees it): tries each start 1 to 15 bytes back and keeps the shortest whose
// decoded length fits exactly, whose memory operand computed from |regs| translates to the
// access's address, whose operand size matches and, for a store from a register or an immediate,
// whose source holds the stored bytes. Returns its length, or 0.
size_t guest_find_instruction_before(struct vm_aspace* gpas, const struct kvm_sregs* sregs,
                                     const struct kvm_regs* regs, const struct guest_code* code,
                                     uint64_t end_rip, const struct guest_access* access,
                                     uint8_t* bytes);

#endif  // ZXHV_ARCH_X86_GUEST_WALK_H_
