// zxhv run: loading Linux. Facts from the kernel's x86 boot protocol
// (Documentation/arch/x86/boot.rst, "boot.rst" below) and zero-page layout (zero-page.rst).
//
// A bzImage's compressed payload is decompressed here, on the host, and the vmlinux inside is
// loaded as a vmlinux is: guest code runs slowly under nested virtualization, and the kernel's
// own decompressor would take minutes. The kernel's 64-bit entry point (boot.rst "64-bit Boot
// Protocol") is the fall-back when the payload cannot be decompressed here. Either way the VCPU
// starts in 64-bit mode on the identity map, with RSI = boot_params.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader_impl.h"
#include "platform.h"

// boot_params (the "zero page") offsets, zero-page.rst.
enum {
    BP_ACPI_RSDP_ADDR = 0x070,
    BP_EXT_RAMDISK_IMAGE = 0x0c0,
    BP_EXT_RAMDISK_SIZE = 0x0c4,
    BP_EXT_CMD_LINE_PTR = 0x0c8,
    BP_E820_ENTRIES = 0x1e8,
    BP_HDR = 0x1f1,      // the setup header, at the same offset in a bzImage
    BP_HDR_END = 0x290,  // edd_mbr_sig_buffer follows it
    BP_E820_TABLE = 0x2d0,
    BP_E820_MAX = 128,
    BP_SIZE = 0x1000,
};

// Setup header fields (boot.rst "The Real-Mode Kernel Header"), as offsets into the file and
// into boot_params.
enum {
    HDR_SETUP_SECTS = 0x1f1,
    HDR_BOOT_FLAG = 0x1fe,
    HDR_JUMP = 0x200,  // a short jump; its displacement (0x201) marks the header's end
    HDR_MAGIC = 0x202,
    HDR_VERSION = 0x206,
    HDR_TYPE_OF_LOADER = 0x210,
    HDR_LOADFLAGS = 0x211,
    HDR_RAMDISK_IMAGE = 0x218,
    HDR_RAMDISK_SIZE = 0x21c,
    HDR_CMD_LINE_PTR = 0x228,
    HDR_INITRD_ADDR_MAX = 0x22c,
    HDR_KERNEL_ALIGNMENT = 0x230,
    HDR_XLOADFLAGS = 0x236,
    HDR_CMDLINE_SIZE = 0x238,
    HDR_PAYLOAD_OFFSET = 0x248,
    HDR_PAYLOAD_LENGTH = 0x24c,
    HDR_PREF_ADDRESS = 0x258,
    HDR_INIT_SIZE = 0x260,
};

#define LOADED_HIGH 0x01u    // loadflags: the protected-mode code goes at 1 MiB (a bzImage)
#define KASLR_FLAG 0x02u     // loadflags: set by the kernel's decompressor if it randomized
#define XLF_KERNEL_64 0x01u  // xloadflags: the 64-bit entry at load address + 0x200 exists
#define ENTRY_64_OFFSET 0x200u
#define BOOT_FLAG 0xaa55u
#define LOADER_UNDEFINED 0xffu  // type_of_loader: a boot loader without an assigned ID

// Protocol versions that added what is used here (boot.rst).
#define PROTO_INITRD_ADDR_MAX 0x203
#define PROTO_CMDLINE_SIZE 0x206
#define PROTO_PAYLOAD 0x208
#define PROTO_PREF_ADDRESS 0x20a
#define PROTO_XLOADFLAGS 0x20c
#define PROTO_MINIMAL 0x20f  // what the header written for a vmlinux claims

#define DEFAULT_LOAD_ADDR 0x100000ull     // protocol < 2.10: the kernel goes at 1 MiB
#define OLD_INITRD_ADDR_MAX 0x37ffffffu   // protocol < 2.03
#define VMLINUX_INITRD_ADDR_MAX 0x7fffffffu
#define VMLINUX_CMDLINE_SIZE 2047u        // COMMAND_LINE_SIZE - 1 on x86
#define OLD_CMDLINE_SIZE 255u             // protocol < 2.06
#define KERNEL_ALIGNMENT 0x200000u

// Everything below this is page tables and boot data (boot_params, command line).
#define LINUX_LOW_LIMIT (PLAT_CMDLINE + PLAT_CMDLINE_MAX)
_Static_assert(PLAT_BOOT_PARAMS >= PLAT_PAGE_TABLES_END &&
                   PLAT_BOOT_PARAMS + BP_SIZE <= PLAT_CMDLINE,
               "boot_params lies between the page tables and the command line");

// The e820 memory map (zero-page.rst: struct boot_e820_entry, 20 bytes, packed).
#define E820_RAM 1u
#define E820_RESERVED 2u
#define E820_ENTRY_SIZE 20u
#define EBDA_START 0x9fc00ull  // the last KiB below 640 KiB, as a PC BIOS keeps it
#define BIOS_AREA_START ACPI_TABLES_BASE  // 0xe0000: the ACPI tables are in it
#define HIGH_MEMORY 0x100000ull

// The map: low RAM, the EBDA and BIOS area (with the ACPI tables) reserved, RAM from 1 MiB to the
// top. The page tables and boot data are plain RAM: the kernel copies what it needs before it
// allocates.
static void write_e820(uint8_t* bp, uint64_t ram_size) {
    const struct {
        uint64_t addr, size;
        uint32_t type;
    } map[] = {
        {0, EBDA_START, E820_RAM},
        {EBDA_START, 0xa0000 - EBDA_START, E820_RESERVED},
        {BIOS_AREA_START, HIGH_MEMORY - BIOS_AREA_START, E820_RESERVED},
        {HIGH_MEMORY, ram_size - HIGH_MEMORY, E820_RAM},
    };
    _Static_assert(sizeof(map) / sizeof(map[0]) <= BP_E820_MAX, "the zero page holds 128");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        uint8_t* e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
        put64(e, map[i].addr);
        put64(e + 8, map[i].size);
        put32(e + 16, map[i].type);
    }
    bp[BP_E820_ENTRIES] = (uint8_t)(sizeof(map) / sizeof(map[0]));
}

// Reads opts->initrd into the top of RAM below |addr_max| (page-aligned, above everything loaded
// so far) and records it in boot_params.
static int load_initrd(struct loader* ld, uint8_t* bp, uint64_t addr_max) {
    ld->subject = ld->opts->initrd;
    uint64_t size;
    int fd = open_file(ld, ld->opts->initrd, &size);
    if (fd < 0)
        return -1;
    int rc = -1;
    uint64_t top = ld->ram_size;
    if (top > addr_max + 1)
        top = addr_max + 1;
    if (top > 1ull << 32)  // ramdisk_image is 32 bits
        top = 1ull << 32;
    uint64_t addr = size <= top ? (top - size) & ~0xfffull : 0;
    if (size > top || addr < ld->image_end) {
        load_fail(ld, "initrd of %llu KiB does not fit between the kernel's end (0x%llx) and "
                      "0x%llx: more --mem?",
                  (unsigned long long)(size >> 10), (unsigned long long)ld->image_end,
                  (unsigned long long)top);
        goto out;
    }
    if (ram_check(ld, "initrd", addr, size) != 0)
        goto out;
    for (uint64_t done = 0; done < size;) {
        ssize_t n = pread(fd, ld->ram + addr + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            load_fail(ld, "read: %s", n < 0 ? strerror(errno) : "the file shrank");
            goto out;
        }
        done += (uint64_t)n;
    }
    if (addr + size > ld->image_end)
        ld->image_end = addr + size;
    put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
    put32(bp + HDR_RAMDISK_SIZE, (uint32_t)size);
    put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(addr >> 32));
    put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(size >> 32));
    rc = 0;
out:
    close(fd);
    ld->subject = ld->opts->path;
    return rc;
}

// Writes boot_params at PLAT_BOOT_PARAMS: the kernel's setup header (|hdr|, |hdr_len| bytes
// from a bzImage) or, for a vmlinux (hdr NULL), a minimal one; then the loader's fields, the
// command line, the initrd, the e820 map and the ACPI tables. Call after the kernel is loaded
// (the initrd goes above it).
static int write_boot_params(struct loader* ld, const uint8_t* hdr, size_t hdr_len) {
    uint8_t* bp = ld->ram + PLAT_BOOT_PARAMS;
    memset(bp, 0, BP_SIZE);
    if (hdr != NULL) {
        memcpy(bp + BP_HDR, hdr, hdr_len);
    } else {
        put16(bp + HDR_BOOT_FLAG, BOOT_FLAG);
        memcpy(bp + HDR_MAGIC, "HdrS", 4);
        put16(bp + HDR_VERSION, PROTO_MINIMAL);
        bp[HDR_LOADFLAGS] = LOADED_HIGH;
        put32(bp + HDR_INITRD_ADDR_MAX, VMLINUX_INITRD_ADDR_MAX);
        put32(bp + HDR_KERNEL_ALIGNMENT, KERNEL_ALIGNMENT);
        put16(bp + HDR_XLOADFLAGS, XLF_KERNEL_64);
        put32(bp + HDR_CMDLINE_SIZE, VMLINUX_CMDLINE_SIZE);
    }
    uint16_t version = get16(bp + HDR_VERSION);
    bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
    bp[HDR_LOADFLAGS] &= (uint8_t)~KASLR_FLAG;  // the kernel runs where it was linked

    uint64_t cmdline_max = version >= PROTO_CMDLINE_SIZE ? get32(bp + HDR_CMDLINE_SIZE)
                                                         : OLD_CMDLINE_SIZE;
    if (cmdline_max > PLAT_CMDLINE_MAX - 1)
        cmdline_max = PLAT_CMDLINE_MAX - 1;
    const char* cmdline = ld->opts->cmdline ? ld->opts->cmdline : "";
    size_t len = strlen(cmdline);
    if (len > cmdline_max)
        return load_fail(ld, "the command line is %zu bytes; this kernel takes at most %llu", len,
                         (unsigned long long)cmdline_max);
    memcpy(ld->ram + PLAT_CMDLINE, cmdline, len + 1);
    put32(bp + HDR_CMD_LINE_PTR, (uint32_t)PLAT_CMDLINE);
    put32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(PLAT_CMDLINE >> 32));

    if (ld->opts->initrd != NULL) {
        uint64_t addr_max = version >= PROTO_INITRD_ADDR_MAX ? get32(bp + HDR_INITRD_ADDR_MAX)
                                                             : OLD_INITRD_ADDR_MAX;
        if (load_initrd(ld, bp, addr_max) != 0)
            return -1;
    }
    write_e820(bp, ld->ram_size);
    // Protocol 2.14 added acpi_rsdp_addr; older kernels find the RSDP by scanning the BIOS area.
    put64(bp + BP_ACPI_RSDP_ADDR, acpi_write_tables(ld->ram, ld->opts->cpus ? ld->opts->cpus : 1));
    return 0;
}

static void linux_result(struct load_result* out, enum image_format format, uint64_t entry) {
    out->format = format;
    out->entry = entry;
    out->regs.rsi = PLAT_BOOT_PARAMS;  // boot.rst: %rsi holds the base address of boot_params
}

int load_vmlinux(struct loader* ld, const struct blob* image, struct load_result* out) {
    ld->low_limit = LINUX_LOW_LIMIT;
    uint64_t entry;
    if (elf_validate(ld, image, &entry) != 0)
        return -1;
    elf_load(ld, image);
    if (write_boot_params(ld, NULL, 0) != 0)
        return -1;
    linux_result(out, IMAGE_VMLINUX, entry);
    return 0;
}

bool bzimage_has_magic(const struct blob* b) {
    return b->size >= HDR_MAGIC + 4 && memcmp(b->data + HDR_MAGIC, "HdrS", 4) == 0;
}

// Decompresses the payload of the protected-mode part |pm| on the host and loads the vmlinux
// it holds. On failure nothing is written to RAM, and |why| says what went wrong.
static int load_payload(struct loader* ld, const uint8_t* hdr_file, const struct blob* pm,
                        uint64_t* entry, char* why, size_t why_size) {
    uint64_t off = get32(hdr_file + HDR_PAYLOAD_OFFSET);
    uint64_t len = get32(hdr_file + HDR_PAYLOAD_LENGTH);
    if (off > pm->size || len > pm->size - off || len < 4) {
        snprintf(why, why_size, "payload outside the file");
        return -1;
    }
    const uint8_t* payload = pm->data + off;
    // The build appends the decompressed size (boot.rst: payload_length includes it).
    uint64_t size = get32(payload + len - 4);
    if (size == 0 || size > ld->ram_size)
        size = ld->ram_size;
    struct blob elf;
    const char* reason;
    if (decompress(payload, len, size, &elf, &reason) != 0) {
        snprintf(why, why_size, "%s", reason);
        return -1;
    }
    int rc = -1;
    if (!elf_has_magic(&elf) || !elf_is_linux(&elf)) {
        snprintf(why, why_size, "the decompressed payload is not a vmlinux");
    } else {
        // elf_validate's reason goes to |why|, not to the caller's error buffer: the fall-back
        // may still load.
        char* err = ld->err;
        size_t err_size = ld->err_size;
        ld->err = why;
        ld->err_size = why_size;
        ld->subject = "its vmlinux";
        rc = elf_validate(ld, &elf, entry);
        ld->err = err;
        ld->err_size = err_size;
        ld->subject = ld->opts->path;
        if (rc == 0)
            elf_load(ld, &elf);
    }
    free((void*)elf.data);
    return rc;
}

int load_bzimage(struct loader* ld, const struct blob* image, struct load_result* out) {
    ld->low_limit = LINUX_LOW_LIMIT;
    const uint8_t* f = image->data;
    uint64_t setup_sects = f[HDR_SETUP_SECTS] ? f[HDR_SETUP_SECTS] : 4;  // boot.rst: 0 means 4
    uint64_t pm_offset = (setup_sects + 1) * 512;  // boot sector + setup code
    _Static_assert((4 + 1) * 512 >= BP_HDR_END, "the whole setup header lies inside the file");
    if (pm_offset >= image->size)
        return load_fail(ld, "truncated bzImage (setup code of %llu sectors, file of %zu bytes)",
                         (unsigned long long)setup_sects, image->size);
    uint16_t version = get16(f + HDR_VERSION);
    if (!(f[HDR_LOADFLAGS] & LOADED_HIGH))
        return load_fail(ld, "a zImage (loaded below 1 MiB); only bzImages load");
    size_t hdr_len = (size_t)HDR_JUMP + 2 + f[HDR_JUMP + 1] - BP_HDR;
    if (hdr_len > BP_HDR_END - BP_HDR)
        hdr_len = BP_HDR_END - BP_HDR;
    struct blob pm = {f + pm_offset, image->size - pm_offset};

    uint64_t entry;
    char why[160] = "boot protocol before 2.08: no payload fields";
    if (version < PROTO_PAYLOAD || load_payload(ld, f, &pm, &entry, why, sizeof(why)) != 0) {
        // The kernel's own 64-bit entry: it decompresses itself in the guest.
        if (version < PROTO_XLOADFLAGS || !(get16(f + HDR_XLOADFLAGS) & XLF_KERNEL_64))
            return load_fail(ld, "boot protocol %u.%02u has no 64-bit entry point (2.12 and "
                                 "XLF_KERNEL_64 needed), and its payload does not load here "
                                 "(%s)",
                             version >> 8, version & 0xff, why);
        uint64_t addr = version >= PROTO_PREF_ADDRESS ? get64(f + HDR_PREF_ADDRESS)
                                                      : DEFAULT_LOAD_ADDR;
        uint64_t span = version >= PROTO_PREF_ADDRESS ? get32(f + HDR_INIT_SIZE) : 0;
        if (span < pm.size)
            span = pm.size;
        if (ram_check(ld, "the kernel (with room to decompress itself)", addr, span) != 0)
            return -1;
        ram_write(ld, addr, pm.data, pm.size, 0);
        if (addr + span > ld->image_end)  // the decompressor works up to addr + init_size
            ld->image_end = addr + span;
        entry = addr + ENTRY_64_OFFSET;
    }
    if (write_boot_params(ld, f + BP_HDR, hdr_len) != 0)
        return -1;
    linux_result(out, IMAGE_BZIMAGE, entry);
    return 0;
}
