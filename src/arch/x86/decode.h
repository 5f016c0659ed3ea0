// zxhv: the x86 instruction length decoder behind the MEM packet's inst_len (spec §3.5). KVM
// decodes the faulting access but does not tell user space how long the instruction is.
#ifndef ZXHV_ARCH_X86_DECODE_H_
#define ZXHV_ARCH_X86_DECODE_H_

#include <stddef.h>
#include <stdint.h>

// What the length decoder learnt about an instruction, enough to compute its memory operand.
struct x86_insn {
    size_t len;
    uint8_t rex;        // 0 if none
    uint8_t seg;        // segment override prefix byte (0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65) or 0
    unsigned addr_size; // 2, 4 or 8
    int modrm;          // offset of the ModRM byte, or -1
    int moffs;          // offset of a moffs operand (A0-A3), or -1
    unsigned map;       // 1: one-byte opcodes, 2: 0F, 3: 0F38, 4: 0F3A
    uint8_t opcode;
    unsigned op_size;   // operand size of a plain MOV-like access: 1, 2, 4 or 8
    int imm;            // offset of the immediate, or -1
    size_t imm_size;
};

// Decodes the instruction at |bytes|; returns its length (also in out->len), or 0 if invalid or
// longer than |avail|. |code_size| is that of the mode: 2 (16-bit), 4 (32-bit) or 8 (64-bit).
size_t x86_decode(const uint8_t* bytes, size_t avail, unsigned code_size, struct x86_insn* out);

// Code size of the mode the instruction runs in: 2 (16-bit), 4 (32-bit) or 8 (64-bit).
// Returns the length of the instruction at |bytes| (at most |avail| bytes, at most 15), or 0 if it
// is not a valid instruction or is longer than |avail|.
size_t x86_instruction_length(const uint8_t* bytes, size_t avail, unsigned code_size);

#endif  // ZXHV_ARCH_X86_DECODE_H_
