// zxhv tests: zx_clock_get_monotonic, zx_deadline_after, zx_nanosleep (notes §7). Only lower
// bounds of elapsed time are asserted: the machine may be slow, never fast.
#include "helpers.h"

Test(time, monotonic_is_positive_and_never_goes_back) {
    zx_time_t prev = zx_clock_get_monotonic();
    cr_assert_gt(prev, 0);
    for (int i = 0; i < 100000; i++) {
        zx_time_t now = zx_clock_get_monotonic();
        cr_assert_geq(now, prev, "went back by %lld ns", (long long)(prev - now));
        prev = now;
    }
}

Test(time, monotonic_advances_across_a_sleep) {
    zx_time_t before = zx_clock_get_monotonic();
    ASSERT_OK(zx_nanosleep(before + ZX_MSEC(5)));
    zx_time_t after = zx_clock_get_monotonic();
    cr_assert_geq(after - before, ZX_MSEC(5));
}

// notes §7: zx_deadline_after(ns) = now + ns.
Test(time, deadline_after_adds_to_now) {
    static const zx_duration_t kDurations[] = {0, 1, ZX_USEC(3), ZX_SEC(1), ZX_HOUR(24),
                                               -1, -ZX_SEC(1)};
    for (size_t i = 0; i < sizeof(kDurations) / sizeof(kDurations[0]); i++) {
        zx_time_t before = zx_clock_get_monotonic();
        zx_time_t d = zx_deadline_after(kDurations[i]);
        zx_time_t after = zx_clock_get_monotonic();
        cr_assert(d >= before + kDurations[i] && d <= after + kDurations[i],
                  "deadline_after(%lld) = %lld, not within [%lld, %lld]", (long long)kDurations[i],
                  (long long)d, (long long)(before + kDurations[i]),
                  (long long)(after + kDurations[i]));
    }
}

// notes §7: a positive overflow saturates at ZX_TIME_INFINITE.
Test(time, deadline_after_saturates_at_infinite) {
    cr_assert_eq(zx_deadline_after(ZX_TIME_INFINITE), ZX_TIME_INFINITE);
    cr_assert_eq(zx_deadline_after(ZX_TIME_INFINITE - 1), ZX_TIME_INFINITE);
    cr_assert_eq(zx_deadline_after(ZX_TIME_INFINITE - zx_clock_get_monotonic() + 1000),
                 ZX_TIME_INFINITE);
}

// notes §7: a negative duration never wraps to the future; with a positive clock the sum cannot
// overflow, so ZX_TIME_INFINITE_PAST gives a deadline far in the past, and saturation at
// ZX_TIME_INFINITE_PAST only guards a negative clock.
Test(time, deadline_after_with_infinite_past_is_in_the_past) {
    zx_time_t before = zx_clock_get_monotonic();
    zx_time_t d = zx_deadline_after(ZX_TIME_INFINITE_PAST);
    zx_time_t after = zx_clock_get_monotonic();
    cr_assert_lt(d, 0);
    cr_assert(d >= ZX_TIME_INFINITE_PAST + before && d <= ZX_TIME_INFINITE_PAST + after,
              "deadline_after(INFINITE_PAST) = %lld", (long long)d);
    cr_assert_lt(zx_deadline_after(ZX_TIME_INFINITE_PAST + 1), 0);
}

// notes §7: deadline <= 0 yields and returns ZX_OK.
Test(time, nanosleep_zero_and_negative_return_ok) {
    ASSERT_OK(zx_nanosleep(0));
    ASSERT_OK(zx_nanosleep(-1));
    ASSERT_OK(zx_nanosleep(ZX_TIME_INFINITE_PAST));
}

// notes §7: a deadline already passed returns ZX_OK.
Test(time, nanosleep_to_past_deadline_returns_ok) {
    ASSERT_OK(zx_nanosleep(1));
    ASSERT_OK(zx_nanosleep(zx_clock_get_monotonic()));
    ASSERT_OK(zx_nanosleep(zx_clock_get_monotonic() - ZX_MSEC(1)));
    ASSERT_OK(zx_nanosleep(zx_deadline_after(-ZX_SEC(10))));
}

Test(time, nanosleep_returns_at_or_after_the_deadline) {
    static const zx_duration_t kSleeps[] = {1, ZX_USEC(50), ZX_MSEC(1), ZX_MSEC(20)};
    for (size_t i = 0; i < sizeof(kSleeps) / sizeof(kSleeps[0]); i++) {
        zx_time_t deadline = zx_deadline_after(kSleeps[i]);
        ASSERT_OK(zx_nanosleep(deadline));
        zx_time_t now = zx_clock_get_monotonic();
        cr_assert_geq(now, deadline, "woke %lld ns early", (long long)(deadline - now));
    }
}

// The deadline is absolute on the monotonic clock: signals arriving mid-sleep do not cut the sleep
// short.
Test(time, nanosleep_is_not_cut_short_by_signals) {
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(60));
    struct pester pester;
    pester_start(&pester, pthread_self(), 5);
    ASSERT_OK(zx_nanosleep(deadline));
    zx_time_t now = zx_clock_get_monotonic();
    pester_join(&pester);
    cr_assert_geq(now, deadline, "woke %lld ns early", (long long)(deadline - now));
}
