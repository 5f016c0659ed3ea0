// zxhv fuzzers: what the syscall fuzzer and the guest fuzzer share. The set of statuses each call
// may return comes from docs/syscalls/*.md (fuzz/gen-allowed.sh); a status outside it, a handle or
// descriptor left behind, or a VCPU a kick cannot stop is a finding: the fuzzer prints what it saw
// and aborts, so that libFuzzer (or the standalone driver) keeps the input.
#ifndef ZXHV_FUZZ_COMMON_H_
#define ZXHV_FUZZ_COMMON_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/status.h>
#include <zircon/types.h>

// One enumerator per documented call: CALL_vmo_read, CALL_zxhv_vcpu_mem_access, ...
enum fuzz_call {
#define ALLOWED(name, ...) CALL_##name,
#include "allowed_gen.h"
#undef ALLOWED
    CALL_COUNT
};

// The page name of |call| ("vmo_read").
const char* fuzz_call_name(enum fuzz_call call);

// Whether docs/syscalls/<call>.md lists |status| (ZX_OK always counts).
bool fuzz_status_allowed(enum fuzz_call call, zx_status_t status);

// Reports a finding and aborts. printf-style.
__attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char* fmt, ...);

// Fuzz input read front to back; past its end every byte reads as 0. Multi-byte values are
// little-endian.
struct in {
    const uint8_t* p;
    size_t n;
};

static inline uint8_t take8(struct in* in) {
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}
static inline uint16_t take16(struct in* in) {
    return (uint16_t)(take8(in) | (take8(in) << 8));
}
static inline uint32_t take32(struct in* in) {
    return (uint32_t)take16(in) | ((uint32_t)take16(in) << 16);
}
static inline uint64_t take64(struct in* in) {
    return (uint64_t)take32(in) | ((uint64_t)take32(in) << 32);
}

// Checks a call that must succeed in a harness's own set-up; a failure is a finding.
#define FUZZ_OK(expr)                                                                          \
    do {                                                                                       \
        zx_status_t s_ = (expr);                                                               \
        if (s_ != ZX_OK) fuzz_fail("%s:%d: %s: %s", __FILE__, __LINE__, #expr,                 \
                                   zx_status_get_string(s_));                                  \
    } while (0)

// Fails unless |status| is documented for |call|; returns |status|.
zx_status_t fuzz_check(enum fuzz_call call, zx_status_t status);

// Open descriptors of the kinds the library opens (memfds, KVM and eventfd anon inodes,
// /dev/kvm), and mappings of VMO memfds in /proc/self/maps.
int fuzz_fd_count(void);
int fuzz_vmo_mapping_count(void);
// Lists the open descriptors on stderr (for a finding about them).
void fuzz_print_fds(void);

// The watchdog: a thread that kicks the VCPU behind |vcpu| once a resume has run for |budget_ns|,
// and fails if the resume has not returned |stuck_ns| after the kick. Each resume is bracketed by
// fuzz_watch_begin / fuzz_watch_end, on the VCPU's thread.
void fuzz_watch_begin(zx_handle_t vcpu, zx_duration_t budget_ns, zx_duration_t stuck_ns);
// Returns whether the watchdog kicked during this resume.
bool fuzz_watch_end(void);
// How many kicks the watchdog has sent, and the longest time from a kick to the resume's return.
uint64_t fuzz_watch_kicks(void);
zx_duration_t fuzz_watch_worst_kick_latency(void);
zx_duration_t fuzz_watch_mean_kick_latency(void);

// A scale for every time budget: ZXHV_FUZZ_TIME_SCALE (default 1; the nested VM is 10-50 times
// slower than the host).
int64_t fuzz_time_scale(void);

#endif  // ZXHV_FUZZ_COMMON_H_
