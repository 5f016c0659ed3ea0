// zxhv tests: the image loaders of `zxhv run` (tools/zxhv/loader.h): formats, page tables, Linux
// boot_params, and hostile images. No KVM: guest RAM is a plain mapping here. The loader sources
// are compiled into this test (tools/zxhv/loader.cmake), so asan:loader checks them under
// ASan+UBSan.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loader.h"
#include "loader_images.h"
#include "platform.h"

#define RAM_SIZE (64ull << 20)

static uint8_t* ram;
static char dir[] = "/tmp/zxhv-loader-test-XXXXXX";
static char err[256];
static struct load_result res;
static uint8_t image[MAX_IMAGE];

static void setup(void) {
    ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(ram != MAP_FAILED);
    strcpy(dir, "/tmp/zxhv-loader-test-XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
}

static void teardown(void) {
    munmap(ram, RAM_SIZE);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(loader, .init = setup, .fini = teardown);

// --- helpers -------------------------------------------------------------------------------------

static uint16_t rd16(uint64_t gpa) { uint16_t v; memcpy(&v, ram + gpa, 2); return v; }
static uint32_t rd32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }
static uint64_t rd64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }

// Writes |size| bytes to a new file in the test's directory; returns its path (static).
static const char* write_file(const char* name, const void* data, size_t size) {
    static char path[4][128];
    static int next;
    char* p = path[next++ % 4];
    snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
    FILE* f = fopen(p, "wb");
    cr_assert(f != NULL);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
    return p;
}

// Loads |path| into 64 MiB of RAM with |opts| (path filled in); returns load_image's result.
static int load(const char* path, struct load_options opts) {
    opts.path = path;
    memset(err, 0, sizeof(err));
    return load_image(&opts, ram, RAM_SIZE, &res, err, sizeof(err));
}

#define ASSERT_LOADS(call) cr_assert_eq((call), 0, "load failed: %s", err)
#define ASSERT_REFUSED(call, why)                                                      \
    do {                                                                               \
        cr_assert_eq((call), -1, "loaded, but should fail with \"%s\"", why);           \
        cr_assert(strstr(err, why) != NULL, "error \"%s\" does not say \"%s\"", err, why); \
        cr_assert(strchr(err, '\n') == NULL, "error has a newline: \"%s\"", err);       \
    } while (0)

// Only rflags (and, for Linux, rsi) are set in the first VCPU's registers.
static void assert_regs(uint64_t rsi) {
    zx_vcpu_state_t want = {.rsi = rsi, .rflags = 0x2};
    cr_assert(memcmp(&res.regs, &want, sizeof(want)) == 0,
              "regs: rsi 0x%llx rflags 0x%llx (others must be 0)",
              (unsigned long long)res.regs.rsi, (unsigned long long)res.regs.rflags);
}

// boot_params fields (offsets from zero-page.rst and boot.rst).
#define BP(off) (PLAT_BOOT_PARAMS + (off))

// The e820 map every Linux load writes.
static void assert_e820(void) {
    static const struct {
        uint64_t addr, size;
        uint32_t type;
    } want[] = {{0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0xe0000, 0x20000, 2},
                {0x100000, RAM_SIZE - 0x100000, 1}};
    cr_assert_eq(ram[BP(0x1e8)], 4, "e820_entries");
    for (unsigned i = 0; i < 4; i++) {
        uint64_t e = BP(0x2d0) + 20 * i;
        cr_assert_eq(rd64(e), want[i].addr, "e820[%u].addr", i);
        cr_assert_eq(rd64(e + 8), want[i].size, "e820[%u].size", i);
        cr_assert_eq(rd32(e + 16), want[i].type, "e820[%u].type", i);
    }
}

static void assert_vmlinux_loaded(void) {
    for (uint64_t i = 0; i < 0x3000; i++)
        cr_assert_eq(ram[KERNEL_PADDR + i], 0x90, "text byte 0x%llx", (unsigned long long)i);
    cr_assert_eq(ram[KERNEL_PADDR + 0x4000], 0x5a);
    cr_assert_eq(ram[KERNEL_PADDR + 0x4fff], 0x5a);
    for (uint64_t i = 0x5000; i < 0xd000; i++)
        cr_assert_eq(ram[KERNEL_PADDR + i], 0, "bss byte 0x%llx", (unsigned long long)i);
    cr_assert_eq(res.image_end, KERNEL_PADDR + 0xd000);
}

// --- page tables ---------------------------------------------------------------------------------

Test(loader, page_tables_identity_map_the_low_4gib_with_2mib_pages) {
    memset(ram, 0xff, PLAT_PAGE_TABLES_END);
    write_page_tables(ram);
    cr_assert_eq(rd64(0x0), 0x1000 | 0x3, "PML4[0] -> PDPT");
    for (uint64_t i = 1; i < 512; i++)
        cr_assert_eq(rd64(8 * i), 0, "PML4[%llu]", (unsigned long long)i);
    for (uint64_t g = 0; g < 512; g++) {
        uint64_t want = g < 4 ? (0x2000 + 0x1000 * g) | 0x3 : 0;
        cr_assert_eq(rd64(0x1000 + 8 * g), want, "PDPT[%llu]", (unsigned long long)g);
    }
    for (uint64_t g = 0; g < 4; g++)
        for (uint64_t i = 0; i < 512; i++)
            cr_assert_eq(rd64(0x2000 + 0x1000 * g + 8 * i), (g << 30) + (i << 21) + 0x83,
                         "PD%llu[%llu]", (unsigned long long)g, (unsigned long long)i);
    for (uint64_t a = 0x6000; a < PLAT_PAGE_TABLES_END; a++)
        cr_assert_eq(ram[a], 0, "spare byte 0x%llx", (unsigned long long)a);
}

Test(loader, every_load_writes_the_page_tables) {
    static const uint8_t code[] = {0xf4};
    ASSERT_LOADS(load(write_file("flat", code, 1), (struct load_options){.flat = true,
                                                                         .flat_addr = 0x100000}));
    cr_assert_eq(rd64(0x0), 0x1003);
    cr_assert_eq(rd64(0x5000 + 8 * 511), (3ull << 30) + (511ull << 21) + 0x83);
}

// --- flat ----------------------------------------------------------------------------------------

Test(loader, flat_image_loads_at_its_address_and_starts_there) {
    uint8_t code[300];
    for (size_t i = 0; i < sizeof(code); i++)
        code[i] = (uint8_t)(i * 7 + 1);
    ASSERT_LOADS(load(write_file("flat", code, sizeof(code)),
                      (struct load_options){.flat = true, .flat_addr = 0x345000}));
    cr_assert_eq(res.format, IMAGE_FLAT);
    cr_assert_eq(res.entry, 0x345000);
    cr_assert_eq(res.image_end, 0x345000 + sizeof(code));
    cr_assert(memcmp(ram + 0x345000, code, sizeof(code)) == 0);
    assert_regs(0);
}

Test(loader, flat_wins_over_the_format_of_the_bytes) {
    size_t n = build_elf(image, 0x100000, kGuestSegs, 2, NULL);
    ASSERT_LOADS(load(write_file("elf", image, n),
                      (struct load_options){.flat = true, .flat_addr = 0x400000}));
    cr_assert_eq(res.format, IMAGE_FLAT);
    cr_assert(memcmp(ram + 0x400000, image, n) == 0);
}

Test(loader, flat_image_may_not_overwrite_the_page_tables) {
    static const uint8_t code[16];
    const char* p = write_file("flat", code, sizeof(code));
    ASSERT_REFUSED(load(p, (struct load_options){.flat = true, .flat_addr = 0x7ff8}),
                   "kept for the page tables");
    ASSERT_REFUSED(load(p, (struct load_options){.flat = true, .flat_addr = 0}),
                   "kept for the page tables");
    ASSERT_LOADS(load(p, (struct load_options){.flat = true, .flat_addr = 0x8000}));
}

Test(loader, flat_image_must_fit_in_ram) {
    static const uint8_t code[0x2000];
    const char* p = write_file("flat", code, sizeof(code));
    ASSERT_REFUSED(load(p, (struct load_options){.flat = true, .flat_addr = RAM_SIZE - 0x1000}),
                   "does not fit in 64 MiB of RAM");
    ASSERT_REFUSED(load(p, (struct load_options){.flat = true, .flat_addr = UINT64_MAX - 8}),
                   "does not fit");
    ASSERT_LOADS(load(p, (struct load_options){.flat = true, .flat_addr = RAM_SIZE - 0x2000}));
}

// --- ELF64 ---------------------------------------------------------------------------------------

Test(loader, elf64_segments_load_at_their_physical_addresses_with_bss_zeroed) {
    memset(ram, 0xee, RAM_SIZE);
    size_t n = build_elf(image, 0x100010, kGuestSegs, 2, NULL);
    ASSERT_LOADS(load(write_file("guest.elf", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_ELF64);
    cr_assert_eq(res.entry, 0x100010);
    for (uint64_t i = 0; i < 0x1234; i++)
        cr_assert_eq(ram[0x100000 + i], 0xc3);
    cr_assert_eq(ram[0x100000 + 0x1234], 0xee, "past the segment: untouched");
    for (uint64_t i = 0; i < 0x100; i++)
        cr_assert_eq(ram[0x200000 + i], 0xd4);
    for (uint64_t i = 0x100; i < 0x3000; i++)
        cr_assert_eq(ram[0x200000 + i], 0, "bss byte 0x%llx", (unsigned long long)i);
    cr_assert_eq(res.image_end, 0x203000);
    assert_regs(0);
}

Test(loader, elf64_entry_in_a_virtual_range_is_translated_to_physical) {
    static const struct seg segs[] = {{PT_LOAD, 0x300000, 0xffff800000000000, 0x100, 0x100, 1}};
    size_t n = build_elf(image, 0xffff800000000040, segs, 1, NULL);
    ASSERT_LOADS(load(write_file("high.elf", image, n), (struct load_options){0}));
    cr_assert_eq(res.entry, 0x300040);
    cr_assert_eq(ram[0x300000], 1);
}

Test(loader, elf64_ignores_other_segments_and_empty_loads) {
    static const struct seg segs[] = {
        {PT_NOTE, 0, 0, 0x10, 0x10, 9},
        {PT_LOAD, 0x5000, 0x5000, 0, 0, 0},  // empty: neither loaded nor checked
        {PT_LOAD, 0x100000, 0x100000, 0x10, 0x10, 7},
    };
    size_t n = build_elf(image, 0x100000, segs, 3, NULL);
    ASSERT_LOADS(load(write_file("notes.elf", image, n), (struct load_options){0}));
    cr_assert_eq(ram[0x100000], 7);
    cr_assert_eq(res.image_end, 0x100010);
}

// Each case breaks one thing in a good guest image.
Test(loader, elf64_bad_images_are_refused_with_the_reason) {
    Elf64_Ehdr* eh = (Elf64_Ehdr*)image;
    Elf64_Phdr* ph = (Elf64_Phdr*)(image + sizeof(Elf64_Ehdr));
    size_t n;
#define BAD(edit, why)                                                     \
    do {                                                                   \
        n = build_elf(image, 0x100000, kGuestSegs, 2, NULL);               \
        edit;                                                              \
        ASSERT_REFUSED(load(write_file("bad", image, n), (struct load_options){0}), why); \
    } while (0)
    BAD(n = 40, "truncated ELF header");
    BAD(eh->e_ident[EI_CLASS] = ELFCLASS32, "not a little-endian 64-bit ELF");
    BAD(eh->e_ident[EI_DATA] = ELFDATA2MSB, "not a little-endian 64-bit ELF");
    BAD(eh->e_machine = EM_AARCH64, "not an x86-64 ELF");
    BAD(eh->e_type = ET_DYN, "not an executable ELF");
    BAD(eh->e_phnum = 0, "without program headers");
    BAD(eh->e_phentsize = 48, "beyond the end of the file");
    BAD(eh->e_phoff = n - 8, "beyond the end of the file");
    BAD(eh->e_phoff = UINT64_MAX - 8, "beyond the end of the file");
    BAD(eh->e_phnum = 0xfffe, "beyond the end of the file");
    BAD(ph[1].p_offset = n, "segment 1: bytes");
    BAD(ph[1].p_offset = UINT64_MAX, "segment 1: bytes");
    BAD(ph[0].p_filesz = UINT64_MAX; ph[0].p_memsz = UINT64_MAX, "beyond the end of the file");
    BAD(ph[1].p_filesz = ph[1].p_memsz + 1, "exceeds p_memsz");
    BAD(ph[1].p_memsz = RAM_SIZE, "does not fit in 64 MiB of RAM");
    BAD(ph[1].p_paddr = UINT64_MAX - 0x10, "does not fit");
    BAD(ph[0].p_paddr = 0x7000, "kept for the page tables");
    BAD(ph[0].p_type = PT_NULL; ph[1].p_type = PT_NOTE, "without a loadable segment");
    BAD(eh->e_entry = 0x150000, "outside every loadable segment");
#undef BAD
}

// The loader must never crash: every truncation and many corruptions of a good image either
// load or fail with a reason (asan:loader checks that nothing is read or written out of bounds).
Test(loader, elf64_truncated_or_corrupted_images_never_crash) {
    static uint8_t good[MAX_IMAGE];
    size_t n = build_elf(good, 0x100000, kGuestSegs, 2, ".text");
    for (size_t len = 1; len < n; len += len < 0x200 ? 1 : 0x1ff) {
        const char* p = write_file("cut", good, len);
        int rc = load(p, (struct load_options){0});
        cr_assert(rc == 0 || (rc == -1 && err[0] != '\0'), "len %zu", len);
    }
    srandom(1);
    for (int round = 0; round < 500; round++) {
        memcpy(image, good, n);
        for (int k = 0; k < 4; k++) {  // corrupt bytes of the headers
            size_t at = (size_t)random() % 0x200;
            image[at] = (uint8_t)random();
        }
        int rc = load(write_file("bent", image, n), (struct load_options){0});
        cr_assert(rc == 0 || (rc == -1 && err[0] != '\0'), "round %d", round);
    }
}

// --- format detection ----------------------------------------------------------------------------

Test(loader, unknown_format_is_refused) {
    static const char text[] = "#!/bin/sh\necho not a kernel\n";
    const char* p = write_file("script", text, sizeof(text));
    ASSERT_REFUSED(load(p, (struct load_options){0}), "unknown image format");
    cr_assert(strncmp(err, p, strlen(p)) == 0, "the error names the image: %s", err);
}

Test(loader, empty_missing_and_non_regular_files_are_refused) {
    ASSERT_REFUSED(load(write_file("empty", "", 0), (struct load_options){0}), "empty file");
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/none", dir);
    ASSERT_REFUSED(load(missing, (struct load_options){0}), "No such file or directory");
    ASSERT_REFUSED(load(dir, (struct load_options){0}), "not a regular file");
}

Test(loader, ram_below_the_board_minimum_is_refused) {
    static const uint8_t code[16];
    struct load_options o = {.path = write_file("flat", code, sizeof(code)), .flat = true,
                             .flat_addr = 0x100000};
    cr_assert_eq(load_image(&o, ram, PLAT_MEM_MIN - 4096, &res, err, sizeof(err)), -1);
    cr_assert(strstr(err, "less than the board's minimum of 4 MiB") != NULL, "%s", err);
    cr_assert_eq(load_image(&o, ram, PLAT_MEM_MIN, &res, err, sizeof(err)), 0, "%s", err);
}

Test(loader, a_small_error_buffer_is_never_overrun) {
    char small[8];
    memset(small, 'x', sizeof(small));
    struct load_options o = {.path = write_file("script", "#!", 2)};
    cr_assert_eq(load_image(&o, ram, RAM_SIZE, &res, small, 5), -1);
    cr_assert_eq(small[4], '\0');
    cr_assert_eq(small[5], 'x');
    cr_assert_eq(load_image(&o, ram, RAM_SIZE, &res, NULL, 0), -1);
}

Test(loader, too_small_ram_for_the_image_is_refused) {
    static const struct seg segs[] = {{PT_LOAD, 0x800000, 0x800000, 0x10, 0x10, 1}};
    size_t n = build_elf(image, 0x800000, segs, 1, NULL);
    struct load_options o = {.path = write_file("big.elf", image, n)};
    cr_assert_eq(load_image(&o, ram, PLAT_MEM_MIN, &res, err, sizeof(err)), -1);
    cr_assert(strstr(err, "does not fit in 4 MiB of RAM") != NULL, "%s", err);
}

// --- vmlinux -------------------------------------------------------------------------------------

Test(loader, vmlinux_is_told_from_a_plain_elf_by_its_sections) {
    size_t n = build_vmlinux(image, KERNEL_PADDR);
    ASSERT_LOADS(load(write_file("vmlinux", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_VMLINUX);
    n = build_elf(image, KERNEL_PADDR, (struct seg[]){{PT_LOAD, KERNEL_PADDR, KERNEL_VADDR,
                                                        0x10, 0x10, 1}}, 1, "__ksymtab");
    ASSERT_LOADS(load(write_file("vmlinux2", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_VMLINUX);
    n = build_elf(image, KERNEL_PADDR, (struct seg[]){{PT_LOAD, KERNEL_PADDR, KERNEL_VADDR,
                                                        0x10, 0x10, 1}}, 1, ".text");
    ASSERT_LOADS(load(write_file("plain", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_ELF64);
}

Test(loader, vmlinux_is_told_by_a_linux_elf_note) {
    static const struct seg segs[] = {
        {PT_LOAD, KERNEL_PADDR, KERNEL_VADDR, 0x100, 0x100, 1},
        {PT_NOTE, 0, 0, 0x18, 0x18, 0},
    };
    size_t n = build_elf(image, KERNEL_PADDR, segs, 2, NULL);
    Elf64_Phdr note;
    memcpy(&note, image + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), sizeof(note));
    uint8_t* p = image + note.p_offset;
    wr32(p, 6);       // namesz: "Linux\0"
    wr32(p + 4, 4);   // descsz
    wr32(p + 8, 0x100);
    memcpy(p + 12, "Linux\0\0", 8);
    ASSERT_LOADS(load(write_file("vmlinux", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_VMLINUX);
    memcpy(p + 12, "Linuz\0\0", 8);
    ASSERT_LOADS(load(write_file("other", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_ELF64);
}

Test(loader, vmlinux_loads_at_physical_addresses_with_boot_params) {
    size_t n = build_vmlinux(image, KERNEL_VADDR + 0x40);  // a virtual e_entry
    ASSERT_LOADS(load(write_file("vmlinux", image, n),
                      (struct load_options){.cmdline = "console=ttyS0 quiet"}));
    cr_assert_eq(res.format, IMAGE_VMLINUX);
    cr_assert_eq(res.entry, KERNEL_PADDR + 0x40, "entry 0x%llx", (unsigned long long)res.entry);
    assert_vmlinux_loaded();
    assert_regs(PLAT_BOOT_PARAMS);
    // A minimal setup header: what the kernel reads of it.
    cr_assert_eq(rd16(BP(0x1fe)), 0xaa55, "boot_flag");
    cr_assert(memcmp(ram + BP(0x202), "HdrS", 4) == 0);
    cr_assert_eq(rd16(BP(0x206)), 0x20f, "version");
    cr_assert_eq(ram[BP(0x210)], 0xff, "type_of_loader");
    cr_assert_eq(ram[BP(0x211)] & 0x1, 0x1, "loadflags: LOADED_HIGH");
    cr_assert_eq(rd32(BP(0x230)), 0x200000, "kernel_alignment");
    cr_assert_eq(rd32(BP(0x228)), PLAT_CMDLINE, "cmd_line_ptr");
    cr_assert_str_eq((char*)ram + PLAT_CMDLINE, "console=ttyS0 quiet");
    cr_assert_eq(rd32(BP(0x218)), 0, "no ramdisk");
    assert_e820();
}

Test(loader, vmlinux_may_not_overwrite_the_boot_data) {
    static const struct seg segs[] = {{PT_LOAD, 0x20000, KERNEL_VADDR, 0x10, 0x10, 1}};
    size_t n = build_elf(image, 0x20000, segs, 1, ".head.text");
    ASSERT_REFUSED(load(write_file("vmlinux", image, n), (struct load_options){0}),
                   "kept for the page tables and the boot data");
}

// The ACPI tables every Linux load writes: found through boot_params and by a scan of the BIOS
// area, checksummed, a hardware-reduced FADT (no PIC, no PIT), a MADT with the boot CPU's APIC.
static uint8_t sum(uint64_t gpa, size_t len) {
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + ram[gpa + i]);
    return s;
}

static uint64_t xsdt_find(uint64_t xsdt, const char* sig) {
    for (uint32_t off = 36; off < rd32(xsdt + 4); off += 8)
        if (memcmp(ram + rd64(xsdt + off), sig, 4) == 0)
            return rd64(xsdt + off);
    cr_assert_fail("no %s table in the XSDT", sig);
    return 0;
}

Test(loader, linux_gets_acpi_tables_describing_the_board) {
    size_t n = build_vmlinux(image, KERNEL_PADDR);
    ASSERT_LOADS(load(write_file("vmlinux", image, n), (struct load_options){0}));
    uint64_t rsdp = rd64(BP(0x070));
    cr_assert(rsdp >= 0xe0000 && rsdp < 0x100000 && rsdp % 16 == 0, "acpi_rsdp_addr 0x%llx",
              (unsigned long long)rsdp);
    cr_assert(memcmp(ram + rsdp, "RSD PTR ", 8) == 0);
    cr_assert_eq(sum(rsdp, 20), 0, "RSDP checksum");
    cr_assert_eq(sum(rsdp, 36), 0, "RSDP extended checksum");
    cr_assert_eq(ram[rsdp + 15], 2, "RSDP revision");
    uint64_t xsdt = rd64(rsdp + 24);
    cr_assert(memcmp(ram + xsdt, "XSDT", 4) == 0);
    cr_assert_eq(sum(xsdt, rd32(xsdt + 4)), 0, "XSDT checksum");
    uint64_t fadt = xsdt_find(xsdt, "FACP"), madt = xsdt_find(xsdt, "APIC");
    cr_assert_eq(sum(fadt, rd32(fadt + 4)), 0, "FADT checksum");
    cr_assert_eq(rd32(fadt + 4), 276, "FADT length (ACPI 6)");
    cr_assert_eq(rd32(fadt + 112) & (1u << 20), 1u << 20, "FADT: HW_REDUCED_ACPI");
    cr_assert_eq(rd16(fadt + 109) & 0x3, 0, "IAPC_BOOT_ARCH: no legacy devices, no 8042");
    uint64_t dsdt = rd64(fadt + 140);
    cr_assert_eq(rd32(fadt + 40), dsdt);
    cr_assert(memcmp(ram + dsdt, "DSDT", 4) == 0);
    cr_assert_eq(sum(dsdt, rd32(dsdt + 4)), 0, "DSDT checksum");
    cr_assert_eq(sum(madt, rd32(madt + 4)), 0, "MADT checksum");
    cr_assert_eq(rd32(madt + 36), 0xfee00000);
    cr_assert_eq(rd32(madt + 40), 0, "MADT flags: no PCAT_COMPAT");
    cr_assert_eq(rd32(madt + 4), 36 + 8 + 8, "one local APIC structure");
    static const uint8_t lapic0[] = {0, 8, 0, 0, 1, 0, 0, 0};
    cr_assert(memcmp(ram + madt + 44, lapic0, 8) == 0, "local APIC 0, enabled");
    // Inside a reserved e820 range.
    cr_assert_eq(rd64(BP(0x2d0) + 2 * 20), 0xe0000);
    cr_assert_eq(rd32(BP(0x2d0) + 2 * 20 + 16), 2);
}

// --- bzImage -------------------------------------------------------------------------------------

static void assert_host_decompressed(const char* name, compressor compress) {
    size_t n = build_kernel_bzimage(image, kModern, compress);
    ASSERT_LOADS(load(write_file(name, image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_BZIMAGE);
    cr_assert_eq(res.entry, KERNEL_PADDR, "%s: entered at 0x%llx, not the vmlinux's entry", name,
                 (unsigned long long)res.entry);
    assert_vmlinux_loaded();
    assert_regs(PLAT_BOOT_PARAMS);
}

Test(loader, bzimage_gzip_payload_is_decompressed_on_the_host) {
    assert_host_decompressed("gzip", gzip_buf);
}
Test(loader, bzimage_xz_payload_is_decompressed_on_the_host) {
    assert_host_decompressed("xz", xz_buf);
}
Test(loader, bzimage_lzma_payload_is_decompressed_on_the_host) {
    assert_host_decompressed("lzma", lzma_buf);
}
Test(loader, bzimage_zstd_payload_is_decompressed_on_the_host) {
    assert_host_decompressed("zstd", zstd_buf);
}

Test(loader, bzimage_boot_params_hold_its_header_cmdline_initrd_and_e820) {
    uint8_t initrd[10000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i ^ (i >> 8));
    size_t n = build_kernel_bzimage(image, kModern, xz_buf);
    memset(ram, 0xee, RAM_SIZE);
    ASSERT_LOADS(load(write_file("bzImage", image, n),
                      (struct load_options){.cmdline = "console=ttyS0",
                                            .initrd = write_file("initrd", initrd,
                                                                 sizeof(initrd))}));
    // The kernel's setup header is copied, up to its end (0x202 + the jump's displacement).
    cr_assert(memcmp(ram + BP(0x1f1), image + 0x1f1, 0x210 - 0x1f1) == 0);
    cr_assert_eq(rd64(BP(0x258)), PREF_ADDRESS, "pref_address");
    cr_assert_eq(rd32(BP(0x260)), INIT_SIZE, "init_size");
    cr_assert_eq(rd32(BP(0x268)), 0, "past the header's end: zero");
    cr_assert_eq(rd64(BP(0)), 0, "before the header: zero (screen_info...)");
    // The loader's fields.
    cr_assert_eq(ram[BP(0x210)], 0xff, "type_of_loader");
    cr_assert_eq(ram[BP(0x211)], 0x01, "loadflags: LOADED_HIGH, KASLR_FLAG cleared");
    cr_assert_eq(rd32(BP(0x228)), PLAT_CMDLINE);
    cr_assert_str_eq((char*)ram + PLAT_CMDLINE, "console=ttyS0");
    // The initrd: at the top of RAM, page-aligned, above the kernel.
    uint32_t at = rd32(BP(0x218));
    cr_assert_eq(rd32(BP(0x21c)), sizeof(initrd), "ramdisk_size");
    cr_assert_eq(at % 4096, 0, "ramdisk_image 0x%x page-aligned", at);
    cr_assert(at + sizeof(initrd) <= RAM_SIZE && at + sizeof(initrd) > RAM_SIZE - 4096,
              "ramdisk_image 0x%x: at the top of RAM", at);
    cr_assert(memcmp(ram + at, initrd, sizeof(initrd)) == 0);
    cr_assert_eq(rd32(BP(0xc0)), 0, "ext_ramdisk_image");
    cr_assert_eq(res.image_end, at + sizeof(initrd));
    assert_e820();
}

Test(loader, initrd_stays_below_initrd_addr_max) {
    static const uint8_t initrd[5000] = {1};
    size_t n = build_kernel_bzimage(image, kModern, gzip_buf);
    wr32(image + 0x22c, 0x2000000 - 1);  // initrd_addr_max: 32 MiB
    ASSERT_LOADS(load(write_file("bzImage", image, n),
                      (struct load_options){.initrd = write_file("i", initrd, sizeof(initrd))}));
    cr_assert_eq(rd32(BP(0x218)), (0x2000000 - sizeof(initrd)) & ~0xfffu);
}

Test(loader, initrd_that_does_not_fit_is_refused) {
    static uint8_t initrd[MAX_IMAGE];
    size_t n = build_kernel_bzimage(image, kModern, gzip_buf);
    wr32(image + 0x22c, KERNEL_PADDR + 0xd000 + 0x1000);  // room for 4 KiB above the kernel
    const char* p = write_file("initrd.big", initrd, sizeof(initrd));
    ASSERT_REFUSED(load(write_file("bzImage", image, n), (struct load_options){.initrd = p}),
                   "does not fit between the kernel's end");
    cr_assert(strncmp(err, p, strlen(p)) == 0, "the error names the initrd: %s", err);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-initrd", dir);
    ASSERT_REFUSED(load(write_file("bzImage", image, n), (struct load_options){.initrd = missing}),
                   "No such file or directory");
}

Test(loader, command_line_longer_than_the_kernel_takes_is_refused) {
    static char cmdline[3000];
    memset(cmdline, 'a', 2047);
    size_t n = build_kernel_bzimage(image, kModern, gzip_buf);
    const char* p = write_file("bzImage", image, n);
    ASSERT_LOADS(load(p, (struct load_options){.cmdline = cmdline}));
    cmdline[2047] = 'b';
    ASSERT_REFUSED(load(p, (struct load_options){.cmdline = cmdline}), "at most 2047");
}

Test(loader, bzimage_falls_back_to_the_64bit_entry_when_the_payload_cannot_be_decompressed) {
    static const uint8_t junk[64] = {0x42, 0x5a, 0x68};  // "BZh": bzip2, left to the kernel
    size_t n = build_bzimage(image, kModern, junk, sizeof(junk), 0x1000000);
    ASSERT_LOADS(load(write_file("bzImage", image, n), (struct load_options){0}));
    cr_assert_eq(res.format, IMAGE_BZIMAGE);
    cr_assert_eq(res.entry, PREF_ADDRESS + 0x200);
    cr_assert(memcmp(ram + PREF_ADDRESS, image + PM_OFFSET, n - PM_OFFSET) == 0);
    cr_assert_eq(res.image_end, PREF_ADDRESS + INIT_SIZE, "room to decompress itself");
    cr_assert_eq(err[0], '\0', "no error left behind: %s", err);
    assert_regs(PLAT_BOOT_PARAMS);
    // A payload that decompresses to something other than a kernel.
    static uint8_t packed[4096];
    static const uint8_t text[] = "not an ELF";
    size_t len = gzip_buf(text, sizeof(text), packed, sizeof(packed));
    n = build_bzimage(image, kModern, packed, len, sizeof(text));
    ASSERT_LOADS(load(write_file("bzImage2", image, n), (struct load_options){0}));
    cr_assert_eq(res.entry, PREF_ADDRESS + 0x200);
}

Test(loader, bzimage_without_64bit_entry_or_usable_payload_is_refused) {
    static const uint8_t junk[64];
    struct bz old = kModern;
    old.version = 0x20b;
    size_t n = build_bzimage(image, old, junk, sizeof(junk), 64);
    ASSERT_REFUSED(load(write_file("old", image, n), (struct load_options){0}),
                   "boot protocol 2.11 has no 64-bit entry point");
    cr_assert(strstr(err, "unknown compression format") != NULL, "%s", err);
    struct bz no64 = kModern;
    no64.xloadflags = 0x7e;
    n = build_bzimage(image, no64, junk, sizeof(junk), 64);
    ASSERT_REFUSED(load(write_file("no64", image, n), (struct load_options){0}),
                   "no 64-bit entry point");
    // An old protocol is fine when the payload decompresses here.
    n = build_kernel_bzimage(image, old, gzip_buf);
    ASSERT_LOADS(load(write_file("old-gzip", image, n), (struct load_options){0}));
    cr_assert_eq(res.entry, KERNEL_PADDR);
}

// A payload whose vmlinux does not fit is left to the kernel's own decompressor; when there is
// no 64-bit entry either, the error says why the payload did not load.
Test(loader, bzimage_payload_vmlinux_that_does_not_load_falls_back) {
    static uint8_t elf[MAX_IMAGE], packed[MAX_IMAGE];
    static const struct seg beyond[] = {{PT_LOAD, RAM_SIZE - 0x1000, KERNEL_VADDR, 0x10, 0x2000,
                                         1}};
    size_t elf_size = build_elf(elf, RAM_SIZE - 0x1000, beyond, 1, ".head.text");
    size_t len = gzip_buf(elf, elf_size, packed, sizeof(packed));
    size_t n = build_bzimage(image, kModern, packed, len, (uint32_t)elf_size);
    ASSERT_LOADS(load(write_file("bzImage", image, n), (struct load_options){0}));
    cr_assert_eq(res.entry, PREF_ADDRESS + 0x200);
    struct bz old = kModern;
    old.version = 0x20b;
    n = build_bzimage(image, old, packed, len, (uint32_t)elf_size);
    ASSERT_REFUSED(load(write_file("old", image, n), (struct load_options){0}),
                   "(its vmlinux: ELF segment 0 (0x2000 bytes at 0x3fff000) does not fit");
}

Test(loader, zimage_and_truncated_bzimage_are_refused) {
    size_t n = build_kernel_bzimage(image, kModern, gzip_buf);
    image[0x211] = 0;  // not LOADED_HIGH
    ASSERT_REFUSED(load(write_file("zImage", image, n), (struct load_options){0}), "a zImage");
    n = build_kernel_bzimage(image, kModern, gzip_buf);
    ASSERT_REFUSED(load(write_file("cut", image, PM_OFFSET), (struct load_options){0}),
                   "truncated bzImage");
    image[0x1f1] = 0xff;  // setup code beyond the end of the file
    ASSERT_REFUSED(load(write_file("cut2", image, n), (struct load_options){0}),
                   "truncated bzImage");
}

Test(loader, bzimage_needing_more_than_ram_is_refused) {
    static const uint8_t junk[64];
    struct bz huge = kModern;
    huge.init_size = (uint32_t)RAM_SIZE;  // the kernel would decompress past the top of RAM
    size_t n = build_bzimage(image, huge, junk, sizeof(junk), 64);
    ASSERT_REFUSED(load(write_file("bzImage", image, n), (struct load_options){0}),
                   "does not fit in 64 MiB of RAM");
}

Test(loader, bzimage_hostile_payloads_never_crash) {
    static uint8_t elf[MAX_IMAGE], packed[MAX_IMAGE];
    size_t elf_size = build_vmlinux(elf, KERNEL_PADDR);
    compressor compressors[] = {gzip_buf, xz_buf, lzma_buf, zstd_buf};
    srandom(2);
    for (int c = 0; c < 4; c++) {
        size_t len = compressors[c](elf, elf_size, packed, sizeof(packed));
        // Lying sizes: tiny, huge, zero.
        uint32_t sizes[] = {16, (uint32_t)elf_size - 1, 0xffffffffu, 0};
        for (int s = 0; s < 4; s++) {
            size_t n = build_bzimage(image, kModern, packed, len, sizes[s]);
            int rc = load(write_file("lies", image, n), (struct load_options){0});
            cr_assert(rc == 0, "compressor %d, size %u: %s", c, sizes[s], err);
            cr_assert(res.entry == KERNEL_PADDR || res.entry == PREF_ADDRESS + 0x200);
        }
        for (int round = 0; round < 60; round++) {
            size_t n = build_bzimage(image, kModern, packed, len, (uint32_t)elf_size);
            for (int k = 0; k < 3; k++)
                image[PM_OFFSET + PAYLOAD_OFFSET + (size_t)random() % len] = (uint8_t)random();
            int rc = load(write_file("bent", image, n), (struct load_options){0});
            cr_assert(rc == 0 || err[0] != '\0');
        }
        for (size_t cut = 1; cut < len; cut += len / 17 + 1) {  // truncated payloads
            size_t n = build_bzimage(image, kModern, packed, cut, (uint32_t)elf_size);
            cr_assert_eq(load(write_file("short", image, n), (struct load_options){0}), 0, "%s",
                         err);
            cr_assert_eq(res.entry, PREF_ADDRESS + 0x200, "compressor %d, cut %zu", c, cut);
        }
    }
    // Payload fields pointing outside the file.
    size_t n = build_kernel_bzimage(image, kModern, gzip_buf);
    wr32(image + 0x248, 0xfffffff0u);
    ASSERT_LOADS(load(write_file("far", image, n), (struct load_options){0}));
    cr_assert_eq(res.entry, PREF_ADDRESS + 0x200);
    n = build_kernel_bzimage(image, kModern, gzip_buf);
    wr32(image + 0x24c, 0xfffffff0u);
    ASSERT_LOADS(load(write_file("long", image, n), (struct load_options){0}));
    cr_assert_eq(res.entry, PREF_ADDRESS + 0x200);
}

// A real kernel, when scripts/get-linux.sh (build/linux) or the nested-KVM set-up
// (build/nested) has downloaded one: its payload decompresses here and its vmlinux loads.
Test(loader, real_debian_kernel_is_decompressed_on_the_host) {
    static const char* const candidates[] = {ZXHV_SOURCE_DIR "/build/linux/vmlinuz",
                                             ZXHV_SOURCE_DIR "/build/nested/kernel/vmlinuz"};
    const char* path = NULL;
    for (size_t i = 0; i < 2 && path == NULL; i++)
        if (access(candidates[i], R_OK) == 0)
            path = candidates[i];
    if (path == NULL)
        cr_skip_test("no kernel downloaded (scripts/get-linux.sh fetches one)");
    munmap(ram, RAM_SIZE);
    uint64_t size = 512ull << 20;
    ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(ram != MAP_FAILED);
    struct load_options o = {.path = path, .cmdline = "console=ttyS0"};
    int rc = load_image(&o, ram, size, &res, err, sizeof(err));
    munmap(ram, size);
    ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(res.format, IMAGE_BZIMAGE);
    cr_assert_eq(res.entry, 0x1000000, "entry 0x%llx: not the decompressed vmlinux's startup_64",
                 (unsigned long long)res.entry);
    cr_assert_eq(res.regs.rsi, PLAT_BOOT_PARAMS);
}
