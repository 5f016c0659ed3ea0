// zxhv: the command. `zxhv run IMAGE [options]` runs a guest (vmm.h), `zxhv version` prints the
// library's version. This file only parses the command line.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zxhv.h>

#include "platform.h"
#include "vmm.h"

static const char usage_text[] =
    "usage: zxhv run IMAGE [options]   run IMAGE as a guest (ELF64, bzImage, vmlinux;\n"
    "                                  a flat binary with --addr)\n"
    "       zxhv version               print the zxhv library's version\n"
    "       zxhv --help                print this help\n"
    "\n"
    "options of run:\n"
    "  --mem SIZE      guest RAM, with an optional K, M or G suffix (default 128M; 4M to 3G)\n"
    "  --cpus N        number of VCPUs, 1 to 64 (default 1)\n"
    "  --cmdline STR   the Linux kernel command line\n"
    "  --initrd FILE   the Linux initrd\n"
    "  --addr ADDR     IMAGE is a flat binary: load it at guest physical ADDR and start there\n"
    "  --stats         print per-VCPU exit statistics to stderr at the end\n"
    "  --trace         log every exit to stderr\n"
    "\n"
    "The guest's console is a 16550 UART at port 0x3f8 and a virtio console; a write to port\n"
    "0xf4 ends the run with that status. Exit status: the guest's; 1 for an error; 2 for a\n"
    "usage error; 130 when stopped by Ctrl-C or SIGTERM. See docs/zxhv-run.md.\n";

static int usage_error(const char* fmt, const char* arg) {
    fprintf(stderr, "zxhv: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (zxhv --help for usage)\n");
    return VMM_EXIT_USAGE;
}

// A number: decimal, or hexadecimal with 0x. Returns false if |s| is not one or overflows.
static bool parse_u64(const char* s, uint64_t* out, char** end) {
    if (*s == '-' || *s == '+' || *s == ' ' || *s == '\0')
        return false;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    errno = 0;
    unsigned long long v = strtoull(s, end, hex ? 16 : 10);
    if (errno != 0 || *end == s)
        return false;
    *out = v;
    return true;
}

// SIZE: a number with an optional K, M or G (powers of 1024), rounded up to 4 KiB.
static bool parse_size(const char* s, uint64_t* out) {
    char* end;
    uint64_t v;
    if (!parse_u64(s, &v, &end))
        return false;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end != '\0' || v > ((1ull << 50) >> shift))
        return false;
    *out = ((v << shift) + 4095) & ~4095ull;
    return true;
}

static bool parse_addr(const char* s, uint64_t* out) {
    char* end;
    return parse_u64(s, out, &end) && *end == '\0';
}

enum { OPT_MEM = 1, OPT_CPUS, OPT_CMDLINE, OPT_INITRD, OPT_ADDR, OPT_STATS, OPT_TRACE, OPT_HELP };

// `zxhv run ...`: argv[0] is "run".
static int cmd_run(int argc, char** argv) {
    static const struct option longopts[] = {
        {"mem", required_argument, NULL, OPT_MEM},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"cmdline", required_argument, NULL, OPT_CMDLINE},
        {"initrd", required_argument, NULL, OPT_INITRD},
        {"addr", required_argument, NULL, OPT_ADDR},
        {"stats", no_argument, NULL, OPT_STATS},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    struct vmm_options o = {.mem_size = PLAT_MEM_DEFAULT, .cpus = 1};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const char* arg = optarg;
        switch (c) {
        case OPT_MEM:
            if (!parse_size(arg, &o.mem_size))
                return usage_error("--mem %s: not a size (e.g. 64M, 1G)", arg);
            break;
        case OPT_CPUS: {
            uint64_t n;
            if (!parse_addr(arg, &n) || n < 1 || n > PLAT_MAX_CPUS)
                return usage_error("--cpus %s: not a number from 1 to 64", arg);
            o.cpus = (unsigned)n;
            break;
        }
        case OPT_CMDLINE:
            o.cmdline = arg;
            break;
        case OPT_INITRD:
            o.initrd = arg;
            break;
        case OPT_ADDR:
            if (!parse_addr(arg, &o.flat_addr))
                return usage_error("--addr %s: not an address", arg);
            o.flat = true;
            break;
        case OPT_STATS:
            o.stats = true;
            break;
        case OPT_TRACE:
            o.trace = true;
            break;
        case 'h':
        case OPT_HELP:
            fputs(usage_text, stdout);
            return 0;
        case ':':
            return usage_error("%s needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return usage_error("run: no IMAGE given%s", "");
    if (optind + 1 < argc)
        return usage_error("run: unexpected argument %s", argv[optind + 1]);
    o.image = argv[optind];

    if (access(o.image, R_OK) != 0) {
        fprintf(stderr, "zxhv: %s: %s\n", o.image, strerror(errno));
        return VMM_EXIT_ERROR;
    }
    if (o.initrd && access(o.initrd, R_OK) != 0) {
        fprintf(stderr, "zxhv: %s: %s\n", o.initrd, strerror(errno));
        return VMM_EXIT_ERROR;
    }
    if (o.mem_size < PLAT_MEM_MIN || o.mem_size > VMM_MEM_MAX) {
        fprintf(stderr, "zxhv: --mem: %" PRIu64 " KiB is outside the board's %llu MiB to %llu GiB\n",
                o.mem_size >> 10, PLAT_MEM_MIN >> 20, VMM_MEM_MAX >> 30);
        return VMM_EXIT_ERROR;
    }
    return vmm_run(&o);
}

int main(int argc, char** argv) {
    if (argc < 2)
        return usage_error("no command%s", "");
    const char* cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("%s\n", zxhv_version());
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    return usage_error("unknown command %s", cmd);
}
