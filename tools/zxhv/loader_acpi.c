// zxhv run: the ACPI tables a Linux guest gets (loader_impl.h), as Zircon's VMM gave them. The
// VCPUs start with the x2APIC enabled; Linux picks its x2APIC driver from the MADT, and without
// one it reads the APIC ID through xAPIC MMIO that is not there and stops.
//
// The tables describe the board (platform.h) and nothing more: a hardware-reduced ACPI platform
// (FADT flag, ACPI 6.x §5.2.9), so Linux sets up no 8259 PIC and no PIT timer, which have no
// interrupts here; no 8042, no VGA, no MSI; an empty DSDT; a MADT with the local APICs and no I/O
// APIC. Facts (layouts, offsets, flags) are from the ACPI specification.
#include <string.h>

#include "loader_impl.h"

// Where the tables go: the BIOS area, reserved in the e820 map, where Linux also scans for the
// RSDP when boot_params does not point to it.
#define ACPI_RSDP (ACPI_TABLES_BASE)
#define ACPI_XSDT (ACPI_TABLES_BASE + 0x40)
#define ACPI_FADT (ACPI_TABLES_BASE + 0x100)
#define ACPI_MADT (ACPI_TABLES_BASE + 0x300)
#define ACPI_DSDT (ACPI_TABLES_BASE + 0x800)
#define ACPI_TABLES_END (ACPI_TABLES_BASE + 0x1000)

#define SDT_HEADER_SIZE 36u
#define RSDP_SIZE 36u
#define FADT_SIZE 276u  // ACPI 6.x
#define MADT_LAPIC_SIZE 8u
#define XAPIC_DEFAULT_BASE 0xfee00000u

// FADT fields (offsets from the table's start).
#define FADT_DSDT 40
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define IAPC_VGA_NOT_PRESENT (1u << 2)  // and LEGACY_DEVICES, 8042 (bits 0, 1) clear: none
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define FADT_HW_REDUCED_ACPI (1u << 20)

_Static_assert(ACPI_MADT + SDT_HEADER_SIZE + 8 + 256 * MADT_LAPIC_SIZE <= ACPI_DSDT + 0x1000,
               "a MADT for 256 CPUs fits");

static void checksum(uint8_t* p, size_t len, uint8_t* sum_byte) {
    uint8_t sum = 0;
    *sum_byte = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    *sum_byte = (uint8_t)-sum;
}

// A table header (ACPI "System Description Table Header"); the checksum is set by sdt_seal.
static void sdt_header(uint8_t* t, const char sig[4], uint32_t len, uint8_t revision) {
    memset(t, 0, len);
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = revision;
    memcpy(t + 10, "ZXHV  ", 6);    // OEM ID
    memcpy(t + 16, "ZXHVRUN ", 8);  // OEM table ID
    put32(t + 24, 1);               // OEM revision
    memcpy(t + 28, "ZXHV", 4);      // creator ID
    put32(t + 32, 1);               // creator revision
}

static void sdt_seal(uint8_t* t) { checksum(t, get32(t + 4), t + 9); }

uint64_t acpi_write_tables(uint8_t* ram, unsigned cpus) {
    memset(ram + ACPI_TABLES_BASE, 0, ACPI_TABLES_END - ACPI_TABLES_BASE);
    if (cpus > 256)
        cpus = 256;

    uint8_t* dsdt = ram + ACPI_DSDT;  // no AML: there are no devices to describe
    sdt_header(dsdt, "DSDT", SDT_HEADER_SIZE, 2);
    sdt_seal(dsdt);

    uint8_t* fadt = ram + ACPI_FADT;
    sdt_header(fadt, "FACP", FADT_SIZE, 6);
    put32(fadt + FADT_DSDT, (uint32_t)ACPI_DSDT);
    put16(fadt + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED);
    put32(fadt + FADT_FLAGS, FADT_HW_REDUCED_ACPI);
    fadt[FADT_MINOR_VERSION] = 3;
    put64(fadt + FADT_X_DSDT, ACPI_DSDT);
    sdt_seal(fadt);

    uint32_t madt_len = SDT_HEADER_SIZE + 8 + cpus * MADT_LAPIC_SIZE;
    uint8_t* madt = ram + ACPI_MADT;
    sdt_header(madt, "APIC", madt_len, 5);
    put32(madt + 36, XAPIC_DEFAULT_BASE);  // flags (40): no PCAT_COMPAT, no 8259s
    for (unsigned i = 0; i < cpus; i++) {  // Processor Local APIC structures
        uint8_t* e = madt + SDT_HEADER_SIZE + 8 + i * MADT_LAPIC_SIZE;
        e[0] = 0;                // type
        e[1] = MADT_LAPIC_SIZE;  // length
        e[2] = (uint8_t)i;       // ACPI processor UID
        e[3] = (uint8_t)i;       // APIC ID: the VCPU's index (x2APIC ID)
        put32(e + 4, 1);         // enabled
    }
    sdt_seal(madt);

    uint8_t* xsdt = ram + ACPI_XSDT;
    sdt_header(xsdt, "XSDT", SDT_HEADER_SIZE + 2 * 8, 1);
    put64(xsdt + SDT_HEADER_SIZE, ACPI_FADT);
    put64(xsdt + SDT_HEADER_SIZE + 8, ACPI_MADT);
    sdt_seal(xsdt);

    uint8_t* rsdp = ram + ACPI_RSDP;
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "ZXHV  ", 6);
    rsdp[15] = 2;  // revision: ACPI 2.0+, with an XSDT
    put32(rsdp + 20, RSDP_SIZE);
    put64(rsdp + 24, ACPI_XSDT);
    checksum(rsdp, 20, rsdp + 8);           // over the ACPI 1.0 part
    checksum(rsdp, RSDP_SIZE, rsdp + 32);   // over all of it
    return ACPI_RSDP;
}
