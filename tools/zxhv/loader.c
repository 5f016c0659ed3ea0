// zxhv run: loading an image into guest RAM (loader.h). This file maps the image, tells its
// format, writes the identity page tables and loads flat and ELF64 images; Linux kernels are
// loader_linux.c's.
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader_impl.h"
#include "platform.h"

// x86 page-table entry bits.
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull  // in a page directory: a 2 MiB page

#define PT_PML4 PLAT_PAGE_TABLES
#define PT_PDPT (PLAT_PAGE_TABLES + 0x1000)
#define PT_PD (PLAT_PAGE_TABLES + 0x2000)
#define PT_PD_COUNT (PLAT_IDENTITY_MAP_SIZE >> 30)  // one page directory maps 1 GiB
_Static_assert(PT_PD + PT_PD_COUNT * 0x1000 <= PLAT_PAGE_TABLES_END,
               "the page tables must fit in their area (platform.h)");

void write_page_tables(uint8_t* ram) {
    memset(ram + PLAT_PAGE_TABLES, 0, PLAT_PAGE_TABLES_END - PLAT_PAGE_TABLES);
    put64(ram + PT_PML4, PT_PDPT | PTE_P | PTE_RW);
    for (uint64_t gib = 0; gib < PT_PD_COUNT; gib++) {
        uint64_t pd = PT_PD + gib * 0x1000;
        put64(ram + PT_PDPT + 8 * gib, pd | PTE_P | PTE_RW);
        for (uint64_t i = 0; i < 512; i++)
            put64(ram + pd + 8 * i, (gib << 30 | i << 21) | PTE_P | PTE_RW | PTE_PS);
    }
}

int load_fail(struct loader* ld, const char* fmt, ...) {
    if (ld->err == NULL || ld->err_size == 0)
        return -1;
    int n = snprintf(ld->err, ld->err_size, "%s: ", ld->subject);
    if (n >= 0 && (size_t)n < ld->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->err + n, ld->err_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ram_check(struct loader* ld, const char* what, uint64_t gpa, uint64_t len) {
    if (gpa > ld->ram_size || len > ld->ram_size - gpa)
        return load_fail(ld, "%s (0x%llx bytes at 0x%llx) does not fit in %llu MiB of RAM", what,
                         (unsigned long long)len, (unsigned long long)gpa,
                         (unsigned long long)(ld->ram_size >> 20));
    if (len != 0 && gpa < ld->low_limit)
        return load_fail(ld, "%s at 0x%llx overlaps 0x0-0x%llx, kept for the page tables%s", what,
                         (unsigned long long)gpa, (unsigned long long)(ld->low_limit - 1),
                         ld->low_limit > PLAT_PAGE_TABLES_END ? " and the boot data" : "");
    return 0;
}

void ram_write(struct loader* ld, uint64_t gpa, const void* src, uint64_t len, uint64_t zero) {
    memcpy(ld->ram + gpa, src, len);
    memset(ld->ram + gpa + len, 0, zero);
    if (gpa + len + zero > ld->image_end)
        ld->image_end = gpa + len + zero;
}

// --- ELF64 ------------------------------------------------------------------------------------
// Headers are copied out before use: offsets from the file need not be aligned.

bool elf_has_magic(const struct blob* b) {
    return b->size >= SELFMAG && memcmp(b->data, ELFMAG, SELFMAG) == 0;
}

// True if the program header table lies inside the file.
static bool elf_phdrs_inside(const struct blob* elf, const Elf64_Ehdr* eh) {
    return eh->e_phentsize == sizeof(Elf64_Phdr) && eh->e_phoff <= elf->size &&
           (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) <= elf->size - eh->e_phoff;
}

static void elf_phdr(const struct blob* elf, const Elf64_Ehdr* eh, unsigned i, Elf64_Phdr* ph) {
    memcpy(ph, elf->data + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static int elf_header(struct loader* ld, const struct blob* elf, Elf64_Ehdr* eh) {
    if (elf->size < sizeof(*eh))
        return load_fail(ld, "truncated ELF header");
    memcpy(eh, elf->data, sizeof(*eh));
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return load_fail(ld, "not a little-endian 64-bit ELF");
    if (eh->e_machine != EM_X86_64)
        return load_fail(ld, "not an x86-64 ELF (e_machine %u)", eh->e_machine);
    if (eh->e_type != ET_EXEC)
        return load_fail(ld, "not an executable ELF (e_type %u; only ET_EXEC images load)",
                         eh->e_type);
    if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
        return load_fail(ld, "ELF without program headers");
    if (!elf_phdrs_inside(elf, eh))
        return load_fail(ld, "ELF program headers beyond the end of the file");
    return 0;
}

int elf_validate(struct loader* ld, const struct blob* elf, uint64_t* entry) {
    Elf64_Ehdr eh;
    if (elf_header(ld, elf, &eh) != 0)
        return -1;
    bool loads = false, found = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        elf_phdr(elf, &eh, i, &ph);
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            return load_fail(ld, "ELF segment %u: p_filesz 0x%llx exceeds p_memsz 0x%llx", i,
                             (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
        if (ph.p_offset > elf->size || ph.p_filesz > elf->size - ph.p_offset)
            return load_fail(ld, "ELF segment %u: bytes 0x%llx+0x%llx beyond the end of the file",
                             i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz);
        if (ph.p_memsz == 0)
            continue;
        char what[32];
        snprintf(what, sizeof(what), "ELF segment %u", i);
        if (ram_check(ld, what, ph.p_paddr, ph.p_memsz) != 0)
            return -1;
        loads = true;
        if (!found && eh.e_entry - ph.p_paddr < ph.p_memsz) {
            *entry = eh.e_entry;
            found = true;
        }
    }
    if (!loads)
        return load_fail(ld, "ELF without a loadable segment");
    for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
        Elf64_Phdr ph;
        elf_phdr(elf, &eh, i, &ph);
        if (ph.p_type == PT_LOAD && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
            *entry = ph.p_paddr + (eh.e_entry - ph.p_vaddr);
            found = true;
        }
    }
    if (!found)
        return load_fail(ld, "ELF entry point 0x%llx is outside every loadable segment",
                         (unsigned long long)eh.e_entry);
    return 0;
}

void elf_load(struct loader* ld, const struct blob* elf) {
    Elf64_Ehdr eh;
    memcpy(&eh, elf->data, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        elf_phdr(elf, &eh, i, &ph);
        if (ph.p_type == PT_LOAD && ph.p_memsz != 0)
            ram_write(ld, ph.p_paddr, elf->data + ph.p_offset, ph.p_filesz,
                      ph.p_memsz - ph.p_filesz);
    }
}

// True if a section of |elf| is named one of Linux's own.
static bool elf_has_linux_section(const struct blob* elf, const Elf64_Ehdr* eh) {
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
        eh->e_shstrndx >= eh->e_shnum || eh->e_shoff > elf->size ||
        (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > elf->size - eh->e_shoff)
        return false;
    Elf64_Shdr sh;
    memcpy(&sh, elf->data + eh->e_shoff + (uint64_t)eh->e_shstrndx * sizeof(sh), sizeof(sh));
    if (sh.sh_offset > elf->size || sh.sh_size > elf->size - sh.sh_offset)
        return false;
    const char* names = (const char*)elf->data + sh.sh_offset;
    uint64_t names_size = sh.sh_size;
    static const char* const linux_sections[] = {".head.text", "__ksymtab"};
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        memcpy(&sh, elf->data + eh->e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
        if (sh.sh_name >= names_size)
            continue;
        const char* name = names + sh.sh_name;
        size_t room = names_size - sh.sh_name;
        for (size_t k = 0; k < sizeof(linux_sections) / sizeof(linux_sections[0]); k++) {
            size_t len = strlen(linux_sections[k]) + 1;
            if (len <= room && memcmp(name, linux_sections[k], len) == 0)
                return true;
        }
    }
    return false;
}

// True if a PT_NOTE segment holds a note from "Linux" (build salt, LTO info...).
static bool elf_has_linux_note(const struct blob* elf, const Elf64_Ehdr* eh) {
    if (!elf_phdrs_inside(elf, eh))
        return false;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        elf_phdr(elf, eh, i, &ph);
        if (ph.p_type != PT_NOTE || ph.p_offset > elf->size ||
            ph.p_filesz > elf->size - ph.p_offset)
            continue;
        const uint8_t* p = elf->data + ph.p_offset;
        uint64_t left = ph.p_filesz;
        while (left >= 12) {
            uint64_t namesz = get32(p), descsz = get32(p + 4);
            uint64_t name_room = (namesz + 3) & ~3ull, desc_room = (descsz + 3) & ~3ull;
            if (name_room > left - 12 || desc_room > left - 12 - name_room)
                break;
            if (namesz == sizeof("Linux") && memcmp(p + 12, "Linux", sizeof("Linux")) == 0)
                return true;
            p += 12 + name_room + desc_room;
            left -= 12 + name_room + desc_room;
        }
    }
    return false;
}

bool elf_is_linux(const struct blob* elf) {
    Elf64_Ehdr eh;
    if (elf->size < sizeof(eh))
        return false;
    memcpy(&eh, elf->data, sizeof(eh));
    return elf_has_linux_section(elf, &eh) || elf_has_linux_note(elf, &eh);
}

// --- flat and freestanding ELF64 --------------------------------------------------------------

static int load_flat(struct loader* ld, const struct blob* image, struct load_result* out) {
    uint64_t addr = ld->opts->flat_addr;
    if (ram_check(ld, "the image", addr, image->size) != 0)
        return -1;
    ram_write(ld, addr, image->data, image->size, 0);
    out->format = IMAGE_FLAT;
    out->entry = addr;
    return 0;
}

static int load_elf64(struct loader* ld, const struct blob* image, struct load_result* out) {
    uint64_t entry;
    if (elf_validate(ld, image, &entry) != 0)
        return -1;
    elf_load(ld, image);
    out->format = IMAGE_ELF64;
    out->entry = entry;
    return 0;
}

// --- load_image -------------------------------------------------------------------------------

int open_file(struct loader* ld, const char* path, uint64_t* size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return load_fail(ld, "%s", strerror(errno));
    struct stat st;
    const char* why = fstat(fd, &st) != 0 ? strerror(errno)
                      : !S_ISREG(st.st_mode) ? "not a regular file" : NULL;
    if (why != NULL) {
        close(fd);
        return load_fail(ld, "%s", why);
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

// Maps the whole image read-only.
static int map_image(struct loader* ld, struct blob* image) {
    uint64_t size;
    int fd = open_file(ld, ld->opts->path, &size);
    if (fd < 0)
        return -1;
    void* p = size == 0 ? MAP_FAILED : mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (size == 0)
        return load_fail(ld, "empty file");
    if (p == MAP_FAILED)
        return load_fail(ld, "cannot map: %s", strerror(err));
    image->data = p;
    image->size = size;
    return 0;
}

int load_image(const struct load_options* opts, uint8_t* ram, uint64_t ram_size,
               struct load_result* out, char* err, size_t err_size) {
    struct loader ld = {
        .opts = opts,
        .ram = ram,
        .ram_size = ram_size,
        .low_limit = PLAT_PAGE_TABLES_END,
        .subject = opts->path,
        .err = err,
        .err_size = err_size,
    };
    if (err != NULL && err_size != 0)
        err[0] = '\0';
    memset(out, 0, sizeof(*out));
    out->regs.rflags = 0x2;  // bit 1 is always set
    if (ram_size < PLAT_MEM_MIN)
        return load_fail(&ld, "%llu KiB of RAM is less than the board's minimum of %llu MiB",
                         (unsigned long long)(ram_size >> 10),
                         (unsigned long long)(PLAT_MEM_MIN >> 20));
    write_page_tables(ram);

    struct blob image;
    if (map_image(&ld, &image) != 0)
        return -1;
    int rc;
    if (opts->flat)
        rc = load_flat(&ld, &image, out);
    else if (elf_has_magic(&image))
        rc = elf_is_linux(&image) ? load_vmlinux(&ld, &image, out) : load_elf64(&ld, &image, out);
    else if (bzimage_has_magic(&image))
        rc = load_bzimage(&ld, &image, out);
    else
        rc = load_fail(&ld, "unknown image format (not ELF64 or a bzImage; "
                            "--addr loads a flat binary)");
    munmap((void*)image.data, image.size);
    if (rc == 0)
        out->image_end = ld.image_end;
    return rc;
}
