// zxhv tests: synthetic images for tests/loader_test.c: ELF64 guests and kernels, bzImages with
// payloads compressed as the kernel's build compresses them. Offsets of the setup header: the
// kernel's Documentation/arch/x86/boot.rst.
#ifndef ZXHV_TESTS_LOADER_IMAGES_H_
#define ZXHV_TESTS_LOADER_IMAGES_H_

#include <criterion/criterion.h>
#include <elf.h>
#include <lzma.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define KERNEL_PADDR 0x1000000ull          // where the synthetic kernels are linked (16 MiB)
#define KERNEL_VADDR 0xffffffff81000000ull  // ... in __START_KERNEL_map
#define MAX_IMAGE (1u << 20)                // the largest image built here

static inline void wr16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
static inline void wr32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wr64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }

// An ELF64 image under construction: program headers, then each segment's bytes at a 4 KiB
// aligned offset, then (optionally) section headers with one named section.
struct seg {
    uint32_t type;
    uint64_t paddr, vaddr, filesz, memsz;
    uint8_t fill;  // the segment's bytes
};

static inline size_t build_elf(uint8_t* buf, uint64_t entry, const struct seg* segs, unsigned n,
                        const char* section) {
    memset(buf, 0, MAX_IMAGE);
    Elf64_Ehdr eh = {
        .e_type = ET_EXEC,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_entry = entry,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = (uint16_t)n,
    };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    size_t off = 0x1000;
    for (unsigned i = 0; i < n; i++) {
        Elf64_Phdr ph = {.p_type = segs[i].type, .p_flags = PF_R | PF_X, .p_offset = off,
                         .p_vaddr = segs[i].vaddr, .p_paddr = segs[i].paddr,
                         .p_filesz = segs[i].filesz, .p_memsz = segs[i].memsz, .p_align = 0x1000};
        memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
        cr_assert(off + segs[i].filesz <= MAX_IMAGE);
        memset(buf + off, segs[i].fill, segs[i].filesz);
        off = (off + segs[i].filesz + 0xfff) & ~0xfffull;
    }
    if (section != NULL) {
        char names[64] = "\0.shstrtab";
        size_t names_len = sizeof("\0.shstrtab");
        strcpy(names + names_len, section);
        names_len += strlen(section) + 1;
        memcpy(buf + off, names, names_len);
        Elf64_Shdr sh[3] = {
            {0},
            {.sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = off, .sh_size = names_len},
            {.sh_name = sizeof("\0.shstrtab"), .sh_type = SHT_PROGBITS, .sh_addr = entry},
        };
        off = (off + names_len + 7) & ~7ull;
        eh.e_shoff = off;
        eh.e_shentsize = sizeof(Elf64_Shdr);
        eh.e_shnum = 3;
        eh.e_shstrndx = 1;
        memcpy(buf + off, sh, sizeof(sh));
        off += sizeof(sh);
    }
    memcpy(buf, &eh, sizeof(eh));
    return off;
}

// A freestanding guest: code at 1 MiB, data with bss at 2 MiB.
static const struct seg kGuestSegs[] = {
    {PT_LOAD, 0x100000, 0x100000, 0x1234, 0x1234, 0xc3},
    {PT_LOAD, 0x200000, 0x200000, 0x100, 0x3000, 0xd4},
};

// A kernel: text at 16 MiB (linked in __START_KERNEL_map, entered at its physical address as a
// real vmlinux's e_entry is), data with bss after it.
static inline size_t build_vmlinux(uint8_t* buf, uint64_t entry) {
    static const struct seg segs[] = {
        {PT_LOAD, KERNEL_PADDR, KERNEL_VADDR, 0x3000, 0x3000, 0x90},
        {PT_LOAD, KERNEL_PADDR + 0x4000, KERNEL_VADDR + 0x4000, 0x1000, 0x9000, 0x5a},
    };
    return build_elf(buf, entry, segs, 2, ".head.text");
}

static inline size_t gzip_buf(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef*)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    deflateEnd(&z);
    return z.total_out;
}

static inline size_t xz_buf(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
    size_t pos = 0;
    cr_assert_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, n, out, &pos, cap),
                 LZMA_OK);
    return pos;
}

static inline size_t lzma_buf(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
    lzma_options_lzma opt;
    cr_assert(!lzma_lzma_preset(&opt, 6));
    lzma_stream s = LZMA_STREAM_INIT;
    cr_assert_eq(lzma_alone_encoder(&s, &opt), LZMA_OK);
    s.next_in = in;
    s.avail_in = n;
    s.next_out = out;
    s.avail_out = cap;
    cr_assert_eq(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
    size_t size = s.total_out;
    lzma_end(&s);
    return size;
}

static inline size_t zstd_buf(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
    size_t size = ZSTD_compress(out, cap, in, n, 19);
    cr_assert(!ZSTD_isError(size));
    return size;
}

// The setup header of the synthetic bzImages (offsets: the kernel's boot.rst).
#define SETUP_SECTS 4
#define PM_OFFSET ((SETUP_SECTS + 1) * 512)  // the protected-mode kernel in the file
#define PAYLOAD_OFFSET 0x400                 // the payload in the protected-mode kernel
#define PREF_ADDRESS 0x1000000ull
#define INIT_SIZE 0x800000u
#define INITRD_ADDR_MAX 0x37ffffffu

struct bz {
    uint16_t version;
    uint16_t xloadflags;
    uint8_t loadflags;
    uint32_t init_size;
};
static const struct bz kModern = {.version = 0x20f, .xloadflags = 0x7f, .loadflags = 0x03,
                                  .init_size = INIT_SIZE};

// A bzImage whose payload is |payload| followed by its decompressed size, as the kernel's build
// appends it. The protected-mode part starts with 0xe8 bytes ("stub code").
static inline size_t build_bzimage(uint8_t* buf, struct bz bz, const uint8_t* payload, size_t len,
                            uint32_t decompressed) {
    memset(buf, 0, MAX_IMAGE);
    buf[0x1f1] = SETUP_SECTS;
    wr16(buf + 0x1fe, 0xaa55);
    buf[0x200] = 0xeb;
    buf[0x201] = 0x6a;  // the header ends at 0x26c
    memcpy(buf + 0x202, "HdrS", 4);
    wr16(buf + 0x206, bz.version);
    buf[0x211] = bz.loadflags;
    wr32(buf + 0x22c, INITRD_ADDR_MAX);
    wr32(buf + 0x230, 0x200000);
    buf[0x234] = 1;
    wr16(buf + 0x236, bz.xloadflags);
    wr32(buf + 0x238, 2047);
    wr32(buf + 0x248, PAYLOAD_OFFSET);
    wr32(buf + 0x24c, (uint32_t)len + 4);
    wr64(buf + 0x258, PREF_ADDRESS);
    wr32(buf + 0x260, bz.init_size);
    memset(buf + PM_OFFSET, 0xe8, PAYLOAD_OFFSET);
    cr_assert(PM_OFFSET + PAYLOAD_OFFSET + len + 4 <= MAX_IMAGE);
    memcpy(buf + PM_OFFSET + PAYLOAD_OFFSET, payload, len);
    wr32(buf + PM_OFFSET + PAYLOAD_OFFSET + len, decompressed);
    return PM_OFFSET + PAYLOAD_OFFSET + len + 4;
}

typedef size_t (*compressor)(const uint8_t*, size_t, uint8_t*, size_t);

// A bzImage holding the synthetic vmlinux, compressed with |compress|.
static inline size_t build_kernel_bzimage(uint8_t* buf, struct bz bz, compressor compress) {
    static uint8_t elf[MAX_IMAGE], packed[MAX_IMAGE];
    size_t elf_size = build_vmlinux(elf, KERNEL_PADDR);
    size_t packed_size = compress(elf, elf_size, packed, sizeof(packed));
    return build_bzimage(buf, bz, packed, packed_size, (uint32_t)elf_size);
}

#endif  // ZXHV_TESTS_LOADER_IMAGES_H_
