// zxhv bench: runs every scenario in rounds, each round a batch under the raw-KVM baseline and a
// batch through zxhv (the order swapping from round to round), then prints the table and the
// JSON. Usage: zxhv_bench [--quick] [--json FILE|-] [--only NAME[,NAME...]] [--side base|zxhv]
//                          [--rounds N] [--list]
// With --json -, the JSON follows the table on stdout after a line "@@json@@" (bench/run.sh
// splits it off: a nested VM cannot write into the checkout). --memory-child SIDE N is the
// memory scenario's own process (scenario_memory.c).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "report.h"

struct config cfg;
int bench_nice;

struct scenario {
    const char* name;
    void (*run)(enum side side);
    int max_rounds;  // 0: every round; -1: one (quick) or two
};

static const struct scenario scenarios[] = {
    {"create", bench_create, 0},
    {"io", bench_io, 0},
    {"mem_write", bench_mem_write, 0},
    {"mem_read", bench_mem_read, 0},
    {"mem_read_state", bench_mem_read_state, 0},
    {"bell_throughput", bench_bell_throughput, 0},
    {"bell_latency", bench_bell_latency, 0},
    {"irq_halted", bench_irq_halted, 0},
    {"irq_running", bench_irq_running, 0},
    {"port", bench_port, 0},
    {"handle", bench_handle, 0},
    {"memory", bench_idle_memory, -1},  // -1: 1 round in quick mode, 2 in full
};
#define SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void config_init(bool quick) {
    cfg = (struct config){
        .quick = quick,
        .rounds = quick ? 3 : 6,
        .create_samples = quick ? 3 : 10,
        .exit_samples = quick ? 150 : 500,
        .bell_burst = quick ? 200 : 500,
        .bell_bursts = quick ? 2 : 4,
        .bell_pings = quick ? 100 : 300,
        .irq_samples = quick ? 30 : 100,
        .port_packets = quick ? 1000 : 4000,
        .port_samples = quick ? 3 : 8,
        .handle_ops = 100,
        .handle_samples = quick ? 20 : 60,
        .idle_guests = quick ? 25 : 100,
    };
}

static bool selected(const char* only, const char* name) {
    if (only == NULL) return true;
    size_t n = strlen(name);
    for (const char* p = only; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0) return true;
        p += len + (p[len] == ',');
    }
    return false;
}

static void usage(void) {
    fprintf(stderr,
            "usage: zxhv_bench [--quick] [--json FILE|-] [--only NAME[,NAME...]] "
            "[--side base|zxhv] [--rounds N] [--list]\n");
    exit(2);
}

int main(int argc, char** argv) {
    bool quick = false;
    const char* json = NULL;
    const char* only = NULL;
    int sides = 3;  // bit 0: baseline, bit 1: zxhv
    int rounds = 0;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            quick = true;
        } else if (strcmp(a, "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(a, "--side") == 0 && i + 1 < argc) {
            const char* s = argv[++i];
            sides = strcmp(s, "base") == 0 ? 1 : strcmp(s, "zxhv") == 0 ? 2 : 0;
            if (sides == 0) usage();
        } else if (strcmp(a, "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            if (rounds <= 0) usage();
        } else if (strcmp(a, "--memory-child") == 0 && i + 2 < argc) {
            enum side side = strcmp(argv[i + 1], "base") == 0 ? SIDE_BASE : SIDE_ZXHV;
            return bench_memory_child(side, atoi(argv[i + 2]));
        } else if (strcmp(a, "--list") == 0) {
            for (size_t s = 0; s < SCENARIOS; s++) printf("%s\n", scenarios[s].name);
            return 0;
        } else {
            usage();
        }
    }
    config_init(quick);
    if (rounds > 0) cfg.rounds = rounds;
    CHECK(cfg.bell_burst <= GUEST_TIMES_MAX, "bursts of at most %d rings", GUEST_TIMES_MAX);
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "bench: /dev/kvm: %s (run it through tests/kvm-launch, or `make bench`)\n",
                strerror(errno));
        return 77;
    }
    close(fd);
    // 100 idle guests of each kind need a few hundred descriptors.
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 4096) {
        nofile.rlim_cur = nofile.rlim_max < 4096 ? nofile.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    // Other work on the machine gets in the way less at the highest priority the process may
    // take (a privileged run gets nice -20; otherwise this fails and changes nothing).
    errno = 0;
    setpriority(PRIO_PROCESS, 0, -20);
    bench_nice = getpriority(PRIO_PROCESS, 0);

    uint64_t start = monotonic_ns();
    double spent[SCENARIOS] = {0};
    ticks_calibrate(quick ? 100 : 300);
    for (int round = 0; round < cfg.rounds; round++) {
        fprintf(stderr, "bench: round %d/%d:", round + 1, cfg.rounds);
        for (size_t s = 0; s < SCENARIOS; s++) {
            const struct scenario* sc = &scenarios[s];
            if (!selected(only, sc->name)) continue;
            int max_rounds = sc->max_rounds < 0 ? (cfg.quick ? 1 : 2) : sc->max_rounds;
            if (max_rounds > 0 && round >= max_rounds) continue;
            fprintf(stderr, " %s", sc->name);
            // Alternate which side goes first, so that neither always follows the other.
            enum side first = round % 2 == 0 ? SIDE_BASE : SIDE_ZXHV;
            uint64_t t0 = monotonic_ns();
            for (int k = 0; k < 2; k++) {
                enum side side = k == 0 ? first : (enum side)(1 - first);
                if (sides & (1 << side)) sc->run(side);
            }
            spent[s] += (double)(monotonic_ns() - t0) / 1e9;
        }
        fprintf(stderr, "\n");
    }
    ticks_calibrate(quick ? 100 : 300);  // a second measurement, averaged with the first
    double seconds = (double)(monotonic_ns() - start) / 1e9;
    fprintf(stderr, "bench: seconds per scenario:");
    for (size_t s = 0; s < SCENARIOS; s++) {
        if (spent[s] > 0) fprintf(stderr, " %s %.1f", scenarios[s].name, spent[s]);
    }
    fprintf(stderr, "\n");

    printf("zxhv bench (%s mode, %d rounds, %.0f s)\n", cfg.quick ? "quick" : "full", cfg.rounds,
           seconds);
    report_machine(stdout);
    printf("\n");
    report_table(stdout);
    if (json != NULL && strcmp(json, "-") == 0) {
        printf("@@json@@\n");
        report_json(stdout, seconds);
    } else if (json != NULL) {
        FILE* f = fopen(json, "w");
        CHECK(f != NULL, "%s: %s", json, strerror(errno));
        report_json(f, seconds);
        fclose(f);
    }
    return 0;
}
