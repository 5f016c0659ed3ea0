// zxhv run: loading an image into guest RAM.
#ifndef ZXHV_TOOLS_LOADER_H_
#define ZXHV_TOOLS_LOADER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/syscalls/hypervisor.h>

enum image_format { IMAGE_FLAT, IMAGE_ELF64, IMAGE_BZIMAGE, IMAGE_VMLINUX };

struct load_options {
    const char* path;      // the image
    const char* cmdline;   // Linux command line (NULL: none)
    const char* initrd;    // Linux initrd path (NULL: none)
    bool flat;             // --addr given: load a flat binary at flat_addr
    uint64_t flat_addr;
    unsigned cpus;         // CPUs the board has (Linux's ACPI MADT lists them); 0 counts as 1
};

// Where the first VCPU starts.
struct load_result {
    enum image_format format;
    uint64_t entry;            // RIP of the first VCPU (64-bit mode)
    zx_vcpu_state_t regs;      // GPRs to write before the first resume (rsi = boot_params, ...)
    uint64_t image_end;        // first byte after everything loaded (for stats)
};

// Loads opts->path into |ram| (guest physical 0 .. ram_size, host-mapped), writes the identity page
// tables (platform.h) and, for Linux, boot_params, e820, command line and initrd.
// On failure returns -1 and writes a one-line reason (no trailing newline) into err.
int load_image(const struct load_options* opts, uint8_t* ram, uint64_t ram_size,
               struct load_result* out, char* err, size_t err_size);

// Writes the identity page tables at PLAT_PAGE_TABLES (2 MiB pages, low 4 GiB).
void write_page_tables(uint8_t* ram);

#endif  // ZXHV_TOOLS_LOADER_H_
