// zxhv: x86 instruction lengths: prefixes, REX/VEX, one-, two- and three-byte opcode maps,
// ModRM/SIB/displacement and immediates.
#include "arch/x86/decode.h"

#include <stdbool.h>

#define MAX_LEN 15u

// One-byte opcodes with a ModRM byte, by explicit ranges (clearer than a bitmap to review).
static bool one_byte_has_modrm(uint8_t op) {
    if (op < 0x40) return (op & 0x07) < 0x04;  // ALU r/m forms 00-03, 08-0b, ...
    switch (op) {
        case 0x62: case 0x63: case 0x69: case 0x6b:
        case 0xc0: case 0xc1: case 0xc4: case 0xc5: case 0xc6: case 0xc7:
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        case 0xf6: case 0xf7: case 0xfe: case 0xff:
            return true;
        default:
            break;
    }
    if (op >= 0x80 && op <= 0x8f) return true;
    if (op >= 0xd8 && op <= 0xdf) return true;  // x87
    return false;
}

static bool two_byte_has_modrm(uint8_t op) {
    switch (op) {
        case 0x04: case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0a: case 0x0b:
        case 0x0c: case 0x0e:
        case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: case 0x36: case 0x37:
        case 0x77:
        case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
            return false;
        default:
            break;
    }
    if (op >= 0x80 && op <= 0x8f) return false;  // jcc rel
    if (op >= 0xc8 && op <= 0xcf) return false;  // bswap
    return true;
}

// Length of ModRM + SIB + displacement at |p|, given the address size (2, 4 or 8).
static size_t modrm_length(const uint8_t* p, size_t avail, unsigned addr_size) {
    if (avail < 1) return 0;
    uint8_t modrm = p[0];
    unsigned mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3) return 1;
    if (addr_size == 2) {
        if (mod == 0) return rm == 6 ? 3 : 1;
        return mod == 1 ? 2 : 3;
    }
    size_t len = 1;
    if (rm == 4) {
        if (avail < 2) return 0;
        len = 2;
        if (mod == 0 && (p[1] & 7) == 5) return len + 4;
    } else if (mod == 0 && rm == 5) {
        return len + 4;  // disp32 (RIP-relative in 64-bit mode)
    }
    if (mod == 1) return len + 1;
    if (mod == 2) return len + 4;
    return len;
}

size_t x86_instruction_length(const uint8_t* bytes, size_t avail, unsigned code_size) {
    struct x86_insn insn;
    return x86_decode(bytes, avail, code_size, &insn);
}

size_t x86_decode(const uint8_t* bytes, size_t avail, unsigned code_size, struct x86_insn* out) {
    out->len = 0;
    out->rex = 0;
    out->seg = 0;
    out->modrm = -1;
    out->moffs = -1;
    out->imm = -1;
    out->imm_size = 0;
    if (avail > MAX_LEN) avail = MAX_LEN;
    const bool long_mode = code_size == 8;
    unsigned op_size = code_size == 2 ? 2 : 4;
    unsigned addr_size = code_size;
    bool rex_w = false;
    size_t i = 0;

    // Legacy prefixes.
    for (;; i++) {
        if (i >= avail) return 0;
        uint8_t b = bytes[i];
        if (b == 0x66) {
            op_size = code_size == 2 ? 4 : 2;
        } else if (b == 0x67) {
            addr_size = long_mode ? 4 : (code_size == 2 ? 4 : 2);
        } else if (b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65) {
            out->seg = b;
        } else if (b == 0xf0 || b == 0xf2 || b == 0xf3) {
            // no effect on length
        } else {
            break;
        }
    }
    if (long_mode && (bytes[i] & 0xf0) == 0x40) {
        out->rex = bytes[i];
        rex_w = bytes[i] & 0x08;
        if (++i >= avail) return 0;
    }
    unsigned map = 1;  // 1: one-byte, 2: 0F, 3: 0F38, 4: 0F3A
    uint8_t op = bytes[i];
    // VEX: always in 64-bit mode; elsewhere only when the next byte's top bits are 11.
    if ((op == 0xc4 || op == 0xc5) && i + 1 < avail && (long_mode || (bytes[i + 1] & 0xc0) == 0xc0)) {
        if (op == 0xc5) {
            map = 2;
            i += 2;
        } else {
            if (i + 2 >= avail) return 0;
            unsigned m = bytes[i + 1] & 0x1f;
            if (m < 1 || m > 3) return 0;
            map = m + 1;
            rex_w = bytes[i + 2] & 0x80;
            i += 3;
        }
        if (i >= avail) return 0;
        op = bytes[i];
    } else if (op == 0x0f) {
        if (++i >= avail) return 0;
        op = bytes[i];
        map = 2;
        if (op == 0x38 || op == 0x3a) {
            map = op == 0x38 ? 3 : 4;
            if (++i >= avail) return 0;
            op = bytes[i];
        }
    }
    i++;  // past the opcode
    if (rex_w) op_size = 8;
    unsigned z = op_size == 2 ? 2 : 4;  // imm16/32; 64-bit operands still take imm32

    bool has_modrm;
    size_t imm = 0;
    switch (map) {
        case 1:
            has_modrm = one_byte_has_modrm(op);
            if (op < 0x40 && (op & 7) == 4) imm = 1;
            else if (op < 0x40 && (op & 7) == 5) imm = z;
            else if (op == 0x68 || op == 0x69 || op == 0x81 || op == 0xa9 || op == 0xc7 ||
                     op == 0xe8 || op == 0xe9) imm = z;
            else if (op == 0x6a || op == 0x6b || op == 0x80 || op == 0x82 || op == 0x83 ||
                     op == 0xa8 || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xcd ||
                     op == 0xd4 || op == 0xd5 || op == 0xeb || (op >= 0x70 && op <= 0x7f) ||
                     (op >= 0xb0 && op <= 0xb7) || (op >= 0xe0 && op <= 0xe7)) imm = 1;
            else if (op >= 0xb8 && op <= 0xbf) imm = op_size == 8 ? 8 : z;
            else if (op == 0xc2 || op == 0xca) imm = 2;
            else if (op == 0xc8) imm = 3;
            else if (op >= 0xa0 && op <= 0xa3) {
                imm = addr_size;  // moffs
                out->moffs = (int)i;
            }
            else if (op == 0x9a || op == 0xea) {
                if (long_mode) return 0;
                imm = z + 2;
            }
            break;
        case 2:
            has_modrm = two_byte_has_modrm(op);
            if (op >= 0x80 && op <= 0x8f) imm = z;
            else if ((op >= 0x70 && op <= 0x73) || op == 0xa4 || op == 0xac || op == 0xba ||
                     op == 0xc2 || op == 0xc4 || op == 0xc5 || op == 0xc6 || op == 0x0f) imm = 1;
            break;
        case 3:
            has_modrm = true;
            break;
        default:
            has_modrm = true;
            imm = 1;
            break;
    }
    if (has_modrm) {
        if (i >= avail) return 0;
        size_t m = modrm_length(&bytes[i], avail - i, addr_size);
        if (m == 0) return 0;
        out->modrm = (int)i;
        // F6/F7 /0 and /1 (TEST) carry an immediate; the other forms do not.
        if (map == 1 && (op == 0xf6 || op == 0xf7) && ((bytes[i] >> 3) & 7) < 2) {
            imm = op == 0xf6 ? 1 : z;
        }
        i += m;
    }
    if (imm > 0) {
        out->imm = (int)i;
        out->imm_size = imm;
    }
    i += imm;
    out->addr_size = addr_size;
    out->map = map;
    out->opcode = op;
    // Byte forms: the ALU r/m8 pairs, MOV 88/8A/C6/A0/A2, group 80/82/C0/D0/D2/F6/FE, TEST/XCHG.
    bool byte_op = map == 1 && ((op < 0x40 && (op & 7) < 4 && !(op & 1)) || op == 0x88 ||
                                op == 0x8a || op == 0xc6 || op == 0xa0 || op == 0xa2 ||
                                op == 0x80 || op == 0x82 || op == 0xc0 || op == 0xd0 ||
                                op == 0xd2 || op == 0xf6 || op == 0xfe || op == 0x84 ||
                                op == 0x86);
    if (byte_op) {
        out->op_size = 1;
    } else if (map == 2 && (op == 0xb6 || op == 0xbe)) {
        out->op_size = 1;
    } else if (map == 2 && (op == 0xb7 || op == 0xbf)) {
        out->op_size = 2;
    } else {
        out->op_size = op_size;
    }
    if (i > avail) return 0;
    out->len = i;
    return i;
}
