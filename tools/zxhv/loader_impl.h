// zxhv run: what the loaders share (loader.h is what the VMM sees). loader.c detects the format
// and loads flat and ELF64 images, loader_linux.c loads bzImage and vmlinux kernels,
// loader_decompress.c inflates a bzImage's payload on the host, loader_acpi.c writes the ACPI
// tables Linux finds its x2APIC in.
#ifndef ZXHV_TOOLS_LOADER_IMPL_H_
#define ZXHV_TOOLS_LOADER_IMPL_H_

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

// Bytes from a file or a decompressor. Every offset and size read from them is checked against
// |size| before use: images may be hostile.
struct blob {
    const uint8_t* data;
    size_t size;
};

// One load in progress.
struct loader {
    const struct load_options* opts;
    uint8_t* ram;        // guest physical 0 .. ram_size, host-mapped
    uint64_t ram_size;
    uint64_t low_limit;  // nothing is loaded below this: page tables (+ Linux boot data)
    uint64_t image_end;  // first byte after everything loaded so far
    const char* subject; // what errors are about: a path
    char* err;
    size_t err_size;
};

// Writes "SUBJECT: reason" into the error buffer (SUBJECT: ld->subject, the image's path unless
// the initrd is being loaded); returns -1.
int load_fail(struct loader* ld, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Opens |path| read-only; fails (with ld->subject naming it) unless it is a regular file.
// Returns the descriptor and sets |size|, or returns -1.
int open_file(struct loader* ld, const char* path, uint64_t* size);

// Checks that guest physical [gpa, gpa + len) is inside RAM and at or above ld->low_limit;
// else fails with a reason naming |what|. Returns 0 or -1.
int ram_check(struct loader* ld, const char* what, uint64_t gpa, uint64_t len);

// Copies |len| bytes (then zeroes |zero| more) to guest physical |gpa|, already ram_check()ed,
// and records the end in ld->image_end.
void ram_write(struct loader* ld, uint64_t gpa, const void* src, uint64_t len, uint64_t zero);

// ELF64 (loader.c). elf_validate checks an x86-64 ET_EXEC image: headers, every PT_LOAD
// against the file and RAM, the entry point; it writes nothing. elf_load then copies the
// PT_LOAD segments to their physical addresses and zeroes the rest of each (bss).
// |entry| is the physical entry point: e_entry if it lies in a segment's physical range, else
// translated through the segment whose virtual range holds it (a vmlinux's startup_64 in
// __START_KERNEL_map, a higher-half guest).
int elf_validate(struct loader* ld, const struct blob* elf, uint64_t* entry);
void elf_load(struct loader* ld, const struct blob* elf);
bool elf_has_magic(const struct blob* b);
// True for a Linux vmlinux: a section named .head.text or __ksymtab, or a "Linux" ELF note.
bool elf_is_linux(const struct blob* elf);

// Linux (loader_linux.c).
int load_bzimage(struct loader* ld, const struct blob* image, struct load_result* out);
int load_vmlinux(struct loader* ld, const struct blob* image, struct load_result* out);
bool bzimage_has_magic(const struct blob* b);

// ACPI (loader_acpi.c): writes RSDP, XSDT, FADT, MADT (|cpus| local APICs) and DSDT for a Linux
// guest at [ACPI_TABLES_BASE, +4 KiB), in the reserved BIOS area; returns the RSDP's address.
#define ACPI_TABLES_BASE 0xe0000ull
uint64_t acpi_write_tables(uint8_t* ram, unsigned cpus);

// Decompresses |in| (gzip, xz, legacy lzma or zstd, told by its magic) into a new malloc'd
// buffer of at most |limit| bytes. Trailing bytes after the stream are ignored (a bzImage
// payload ends with its size). Returns 0, or -1 and a static reason in |why|.
int decompress(const uint8_t* in, size_t in_size, size_t limit, struct blob* out, const char** why);

// Little-endian reads from a blob at an offset the caller has bounds-checked.
static inline uint16_t get16(const uint8_t* p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t* p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static inline uint64_t get64(const uint8_t* p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static inline void put16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t* p, uint32_t v) {
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}
static inline void put64(uint8_t* p, uint64_t v) {
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

#endif  // ZXHV_TOOLS_LOADER_IMPL_H_
