// zxhv tests: zx_port_create, zx_port_queue and zx_port_wait (spec §1.9, §3.10; check order in
// notes §6). zxhv deviation: a NULL packet pointer makes zx_port_wait return INVALID_ARGS at once,
// and a packet that cannot be copied out goes back to the head of the queue, never lost.
#include "helpers.h"


// Zircon's kMaxPendingPacketCountPerPort, and the test "> 2048" that lets one more in.
#define MAX_PENDING 2048

static zx_port_packet_t user_packet(uint64_t key) {
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    p.key = key;
    p.type = ZX_PKT_TYPE_USER;
    for (int i = 0; i < 4; i++) p.user.u64[i] = key * 4 + (uint64_t)i;
    return p;
}

static void queue_key(zx_handle_t port, uint64_t key) {
    zx_port_packet_t p = user_packet(key);
    ASSERT_OK(zx_port_queue(port, &p));
}

static zx_port_packet_t wait_packet(zx_handle_t port, zx_time_t deadline) {
    zx_port_packet_t p;
    memset(&p, 0xa5, sizeof(p));
    ASSERT_OK(zx_port_wait(port, deadline, &p));
    return p;
}

static void assert_empty(zx_handle_t port) {
    zx_port_packet_t p;
    ASSERT_STATUS(zx_port_wait(port, 0, &p), ZX_ERR_TIMED_OUT);
}

// ---- create ----

Test(port, create_gives_handle_with_default_rights) {
    zx_handle_t port = make_port();
    assert_handle_value_shape(port);
    zx_info_handle_basic_t info = handle_basic(port);
    cr_assert_eq(info.rights, 0x800fu, "rights %#x", info.rights);
    cr_assert_eq(info.type, ZX_OBJ_TYPE_PORT);
    cr_assert_eq(info.props, ZX_OBJ_PROP_NONE);
    cr_assert_eq(info.related_koid, 0u);
}

// notes §6 create step 2: options are 0 or ZX_PORT_BIND_TO_INTERRUPT.
Test(port, create_with_bind_to_interrupt_is_ok) {
    zx_handle_t port;
    ASSERT_OK(zx_port_create(ZX_PORT_BIND_TO_INTERRUPT, &port));
    cr_assert_eq(handle_rights(port), ZX_DEFAULT_PORT_RIGHTS);
    queue_key(port, 1);
    cr_assert_eq(wait_packet(port, 0).key, 1u);
}

Test(port, create_with_unknown_options_gives_invalid_args) {
    static const uint32_t kBad[] = {2, 3, 0x100, 0x80000000u, UINT32_MAX};
    size_t live = live_handles();
    for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
        zx_handle_t out = 0x5a5a5a5a;
        ASSERT_STATUS(zx_port_create(kBad[i], &out), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_port_create(kBad[i], NULL), ZX_ERR_INVALID_ARGS);
        cr_assert_eq(out, 0x5a5a5a5au);
    }
    cr_assert_eq(live_handles(), live);
}

Test(port, create_to_bad_out_gives_invalid_args_and_leaks_nothing) {
    size_t live = live_handles();
    zx_handle_t* ro = readonly_page();
    ASSERT_STATUS(zx_port_create(0, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_create(0, BAD_PTR), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_create(0, ro), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_create(ZX_PORT_BIND_TO_INTERRUPT, ro), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(*ro, 0u);
    cr_assert_eq(live_handles(), live, "a port handle leaked");
}

// ---- queue ----

// notes §6 queue step 1: BAD_HANDLE, then WRITE (ACCESS_DENIED), then the type (notes §0.1).
Test(port, queue_checks_handle_then_write_right_then_type) {
    zx_port_packet_t p = user_packet(1);
    ASSERT_STATUS(zx_port_queue(ZX_HANDLE_INVALID, &p), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_port_queue(0x7ffffff3u, NULL), ZX_ERR_BAD_HANDLE);
    zx_handle_t port = make_port();
    zx_handle_t ro = dup_with(port, ZX_DEFAULT_PORT_RIGHTS & ~ZX_RIGHT_WRITE);
    ASSERT_STATUS(zx_port_queue(ro, &p), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_port_queue(ro, NULL), ZX_ERR_ACCESS_DENIED);
    // A VMO and a resource have WRITE: wrong type. A read-only VMO: no WRITE, denied first.
    ASSERT_STATUS(zx_port_queue(make_vmo(PAGE), &p), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_port_queue(root_resource(), NULL), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_port_queue(dup_with(make_vmo(PAGE), ZX_RIGHT_READ), &p),
                  ZX_ERR_ACCESS_DENIED);
    assert_empty(port);
    zx_handle_t wo = dup_with(port, ZX_RIGHT_WRITE);
    ASSERT_OK(zx_port_queue(wo, &p));
    cr_assert_eq(wait_packet(port, 0).key, 1u);
}

// notes §6 queue step 2: the packet is copied in; a bad pointer is INVALID_ARGS.
Test(port, queue_of_bad_packet_pointer_gives_invalid_args) {
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_port_queue(port, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_queue(port, BAD_PTR), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_queue(port, noaccess_page()), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_queue(port, (zx_port_packet_t*)guarded_buffer(sizeof(zx_port_packet_t) - 1)),
                  ZX_ERR_INVALID_ARGS);
    assert_empty(port);
    // A read-only packet is fine: queue only reads it.
    ASSERT_OK(zx_port_queue(port, readonly_page()));
    cr_assert_eq(wait_packet(port, 0).key, 0u);
}

// notes §6 queue step 3: the type becomes ZX_PKT_TYPE_USER; key, status and payload pass through.
Test(port, queue_forces_type_user_and_keeps_key_status_and_payload) {
    zx_handle_t port = make_port();
    static const uint32_t kTypes[] = {ZX_PKT_TYPE_USER, ZX_PKT_TYPE_SIGNAL_ONE,
                                      ZX_PKT_TYPE_GUEST_BELL, ZX_PKT_TYPE_GUEST_MEM,
                                      ZX_PKT_TYPE_EXCEPTION(3), 0xdeadbeefu};
    static const int32_t kStatus[] = {ZX_OK, ZX_ERR_TIMED_OUT, INT32_MIN, INT32_MAX, -5, 42};
    for (size_t i = 0; i < sizeof(kTypes) / sizeof(kTypes[0]); i++) {
        zx_port_packet_t in;
        in.key = 0xfedcba9876543210ull + i;
        in.type = kTypes[i];
        in.status = kStatus[i];
        for (int b = 0; b < 32; b++) in.user.c8[b] = (uint8_t)(b * 9 + i);
        ASSERT_OK(zx_port_queue(port, &in));
        zx_port_packet_t out = wait_packet(port, 0);
        cr_assert_eq(out.key, in.key);
        cr_assert_eq(out.type, ZX_PKT_TYPE_USER, "type %#x came back as %#x", kTypes[i], out.type);
        cr_assert_eq(out.status, in.status);
        cr_assert_arr_eq(out.user.c8, in.user.c8, 32);
    }
}

// notes §6 queue step 4: more than 2048 pending is refused, so 2049 fit and the 2050th fails.
Test(port, queue_accepts_2049_packets_and_refuses_the_2050th) {
    zx_handle_t port = make_port();
    for (uint64_t i = 0; i <= MAX_PENDING; i++) queue_key(port, i);
    zx_port_packet_t p = user_packet(9999);
    ASSERT_STATUS(zx_port_queue(port, &p), ZX_ERR_SHOULD_WAIT);
    ASSERT_STATUS(zx_port_queue(port, &p), ZX_ERR_SHOULD_WAIT);
    // Taking one makes room for exactly one.
    cr_assert_eq(wait_packet(port, 0).key, 0u);
    ASSERT_OK(zx_port_queue(port, &p));
    ASSERT_STATUS(zx_port_queue(port, &p), ZX_ERR_SHOULD_WAIT);
    // Nothing was lost or reordered: 1..2048, then 9999.
    for (uint64_t i = 1; i <= MAX_PENDING; i++) cr_assert_eq(wait_packet(port, 0).key, i);
    cr_assert_eq(wait_packet(port, 0).key, 9999u);
    assert_empty(port);
}

// The limit is per port.
Test(port, full_port_does_not_limit_another_port) {
    zx_handle_t full = make_port();
    for (uint64_t i = 0; i <= MAX_PENDING; i++) queue_key(full, i);
    zx_handle_t other = make_port();
    queue_key(other, 7);
    cr_assert_eq(wait_packet(other, 0).key, 7u);
}

// ---- wait ----

// notes §6 wait step 1: READ is needed (the code's rule; the doc says WRITE).
Test(port, wait_checks_handle_then_read_right_then_type) {
    zx_port_packet_t p;
    ASSERT_STATUS(zx_port_wait(ZX_HANDLE_INVALID, 0, &p), ZX_ERR_BAD_HANDLE);
    ASSERT_STATUS(zx_port_wait(0x7ffffff3u, ZX_TIME_INFINITE, NULL), ZX_ERR_BAD_HANDLE);
    zx_handle_t port = make_port();
    queue_key(port, 5);
    zx_handle_t wo = dup_with(port, ZX_DEFAULT_PORT_RIGHTS & ~ZX_RIGHT_READ);
    ASSERT_STATUS(zx_port_wait(wo, 0, &p), ZX_ERR_ACCESS_DENIED);
    ASSERT_STATUS(zx_port_wait(wo, ZX_TIME_INFINITE, NULL), ZX_ERR_ACCESS_DENIED);
    // A VMO has READ: wrong type. A resource has no READ: denied before the type.
    ASSERT_STATUS(zx_port_wait(make_vmo(PAGE), 0, &p), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_port_wait(make_vmo(PAGE), ZX_TIME_INFINITE, NULL), ZX_ERR_WRONG_TYPE);
    ASSERT_STATUS(zx_port_wait(root_resource(), ZX_TIME_INFINITE, &p), ZX_ERR_ACCESS_DENIED);
    // The packet is still there for a handle with READ.
    zx_handle_t ro = dup_with(port, ZX_RIGHT_READ);
    cr_assert_eq(wait_packet(ro, 0).key, 5u);
}

Test(port, wait_of_closed_handle_gives_bad_handle) {
    zx_handle_t port = make_port();
    ASSERT_OK(zx_handle_close(port));
    zx_port_packet_t p;
    ASSERT_STATUS(zx_port_wait(port, 0, &p), ZX_ERR_BAD_HANDLE);
}

Test(port, wait_returns_packets_in_fifo_order) {
    zx_handle_t port = make_port();
    for (uint64_t i = 0; i < 100; i++) queue_key(port, i);
    for (uint64_t i = 0; i < 100; i++) {
        zx_port_packet_t p = wait_packet(port, ZX_TIME_INFINITE);
        cr_assert_eq(p.key, i);
        zx_port_packet_t want = user_packet(i);
        cr_assert_arr_eq(&p, &want, sizeof(p));
    }
    assert_empty(port);
}

// notes §6 wait step 2: a queued packet is taken before any deadline check.
Test(port, wait_with_past_deadline_returns_a_queued_packet) {
    zx_handle_t port = make_port();
    static const zx_time_t kPast[] = {0, 1, -1, ZX_TIME_INFINITE_PAST};
    for (size_t i = 0; i < sizeof(kPast) / sizeof(kPast[0]); i++) queue_key(port, i);
    for (size_t i = 0; i < sizeof(kPast) / sizeof(kPast[0]); i++) {
        cr_assert_eq(wait_packet(port, kPast[i]).key, i);
    }
    queue_key(port, 99);
    cr_assert_eq(wait_packet(port, zx_clock_get_monotonic() - ZX_SEC(1)).key, 99u);
}

// notes §6 wait step 3: empty with a deadline that has passed gives TIMED_OUT.
Test(port, wait_on_empty_port_with_past_deadline_times_out) {
    zx_handle_t port = make_port();
    zx_port_packet_t p;
    memset(&p, 0x5a, sizeof(p));
    ASSERT_STATUS(zx_port_wait(port, 0, &p), ZX_ERR_TIMED_OUT);
    ASSERT_STATUS(zx_port_wait(port, ZX_TIME_INFINITE_PAST, &p), ZX_ERR_TIMED_OUT);
    ASSERT_STATUS(zx_port_wait(port, -1, &p), ZX_ERR_TIMED_OUT);
    ASSERT_STATUS(zx_port_wait(port, zx_clock_get_monotonic(), &p), ZX_ERR_TIMED_OUT);
    for (size_t i = 0; i < sizeof(p); i++) cr_assert_eq(((unsigned char*)&p)[i], 0x5a);
}

// A finite deadline in the future is waited for (only the lower bound is asserted).
Test(port, wait_with_future_deadline_waits_until_it) {
    zx_handle_t port = make_port();
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(30));
    zx_port_packet_t p;
    ASSERT_STATUS(zx_port_wait(port, deadline, &p), ZX_ERR_TIMED_OUT);
    zx_time_t now = zx_clock_get_monotonic();
    cr_assert_geq(now, deadline, "returned %lld ns before the deadline", (long long)(deadline - now));
}

struct waiter {
    zx_handle_t port;
    zx_time_t deadline;
    zx_status_t status;
    zx_port_packet_t packet;
};

static void* wait_thread(void* arg) {
    struct waiter* w = arg;
    w->status = zx_port_wait(w->port, w->deadline, &w->packet);
    return NULL;
}

// A waiter blocked with an infinite (or far) deadline wakes when a packet is queued.
Test(port, wait_wakes_when_a_packet_is_queued) {
    zx_handle_t port = make_port();
    static const zx_time_t kDeadlines[] = {ZX_TIME_INFINITE, 0};
    for (size_t i = 0; i < 2; i++) {
        struct waiter w = {.port = port,
                           .deadline = i == 0 ? kDeadlines[0] : zx_deadline_after(ZX_SEC(600)),
                           .status = 1};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, wait_thread, &w), 0);
        ASSERT_OK(zx_nanosleep(zx_deadline_after(ZX_MSEC(20))));
        queue_key(port, 40 + i);
        cr_assert_eq(pthread_join(t, NULL), 0);
        ASSERT_OK(w.status);
        cr_assert_eq(w.packet.key, 40 + i);
        cr_assert_eq(w.packet.type, ZX_PKT_TYPE_USER);
    }
    assert_empty(port);
}

// One packet releases one waiter: N waiters and N packets, each waiter gets exactly one.
Test(port, each_waiter_gets_exactly_one_packet) {
    enum { N = 16 };
    zx_handle_t port = make_port();
    struct waiter w[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct waiter){.port = port, .deadline = ZX_TIME_INFINITE, .status = 1};
        cr_assert_eq(pthread_create(&t[i], NULL, wait_thread, &w[i]), 0);
    }
    ASSERT_OK(zx_nanosleep(zx_deadline_after(ZX_MSEC(20))));
    for (int i = 0; i < N; i++) queue_key(port, 100 + (uint64_t)i);
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        ASSERT_OK(w[i].status);
        uint64_t k = w[i].packet.key - 100;
        cr_assert_lt(k, (uint64_t)N, "unexpected key %lu", (unsigned long)w[i].packet.key);
        cr_assert(!seen[k], "key %lu delivered twice", (unsigned long)w[i].packet.key);
        seen[k] = true;
        zx_port_packet_t want = user_packet(w[i].packet.key);
        cr_assert_arr_eq(&w[i].packet, &want, sizeof(want));
    }
    assert_empty(port);
}

enum { CONSUMERS = 8, PACKETS = 4000 };
#define STOP_KEY UINT64_MAX

struct consumer {
    zx_handle_t port;
    zx_status_t status;
    int count;
    uint16_t got[PACKETS];
};

static void* consume_thread(void* arg) {
    struct consumer* c = arg;
    for (;;) {
        zx_port_packet_t p;
        c->status = zx_port_wait(c->port, ZX_TIME_INFINITE, &p);
        if (c->status != ZX_OK || p.key == STOP_KEY) return NULL;
        c->got[c->count++] = (uint16_t)p.key;
    }
}

// Many waiters draining a stream of packets: every packet is delivered exactly once.
Test(port, many_waiters_lose_and_duplicate_nothing) {
    zx_handle_t port = make_port();
    static struct consumer c[CONSUMERS];
    pthread_t t[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        c[i].port = port;
        c[i].count = 0;
        cr_assert_eq(pthread_create(&t[i], NULL, consume_thread, &c[i]), 0);
    }
    for (uint64_t k = 0; k < PACKETS; k++) {
        zx_port_packet_t p = user_packet(k);
        zx_status_t s;
        // The consumers may fall behind; SHOULD_WAIT just means try again.
        while ((s = zx_port_queue(port, &p)) == ZX_ERR_SHOULD_WAIT) {
            zx_nanosleep(zx_deadline_after(ZX_USEC(100)));
        }
        ASSERT_OK(s);
    }
    for (int i = 0; i < CONSUMERS; i++) queue_key(port, STOP_KEY);
    static int times[PACKETS];
    for (int i = 0; i < CONSUMERS; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        ASSERT_OK(c[i].status);
        for (int j = 0; j < c[i].count; j++) times[c[i].got[j]]++;
    }
    for (int k = 0; k < PACKETS; k++) cr_assert_eq(times[k], 1, "packet %d delivered %d times", k, times[k]);
    assert_empty(port);
}

// zxhv deviation: a NULL packet pointer is refused at once, even with an infinite deadline, and
// takes nothing from the queue.
Test(port, wait_with_null_packet_gives_invalid_args_without_waiting_or_losing_a_packet) {
    zx_handle_t port = make_port();
    ASSERT_STATUS(zx_port_wait(port, ZX_TIME_INFINITE, NULL), ZX_ERR_INVALID_ARGS);
    queue_key(port, 1);
    queue_key(port, 2);
    ASSERT_STATUS(zx_port_wait(port, ZX_TIME_INFINITE, NULL), ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(zx_port_wait(port, 0, NULL), ZX_ERR_INVALID_ARGS);
    cr_assert_eq(wait_packet(port, 0).key, 1u);
    cr_assert_eq(wait_packet(port, 0).key, 2u);
    assert_empty(port);
}

// zxhv deviation: a packet that cannot be copied out goes back to the head of the queue.
Test(port, wait_with_unwritable_packet_gives_invalid_args_and_keeps_the_packet) {
    zx_handle_t port = make_port();
    queue_key(port, 1);
    queue_key(port, 2);
    void* bad[] = {BAD_PTR, readonly_page(), noaccess_page(),
                   guarded_buffer(sizeof(zx_port_packet_t) - 1)};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_STATUS(zx_port_wait(port, 0, bad[i]), ZX_ERR_INVALID_ARGS);
        ASSERT_STATUS(zx_port_wait(port, ZX_TIME_INFINITE, bad[i]), ZX_ERR_INVALID_ARGS);
    }
    cr_assert_eq(*(uint64_t*)bad[1], 0u);
    zx_port_packet_t p = wait_packet(port, 0);
    zx_port_packet_t want = user_packet(1);
    cr_assert_arr_eq(&p, &want, sizeof(p), "the first packet was damaged or lost");
    cr_assert_eq(wait_packet(port, 0).key, 2u);
    assert_empty(port);
}

// A returned packet still counts toward the limit, and the full port stays consistent.
Test(port, packet_put_back_after_bad_pointer_keeps_the_count) {
    zx_handle_t port = make_port();
    for (uint64_t i = 0; i <= MAX_PENDING; i++) queue_key(port, i);
    ASSERT_STATUS(zx_port_wait(port, 0, BAD_PTR), ZX_ERR_INVALID_ARGS);
    zx_port_packet_t p = user_packet(9999);
    ASSERT_STATUS(zx_port_queue(port, &p), ZX_ERR_SHOULD_WAIT);
    for (uint64_t i = 0; i <= MAX_PENDING; i++) cr_assert_eq(wait_packet(port, 0).key, i);
    assert_empty(port);
}

// Closing a duplicate leaves the port and its packets to the other handle.
Test(port, packets_survive_while_any_handle_is_open) {
    zx_handle_t port = make_port();
    zx_handle_t dup = dup_with(port, ZX_RIGHT_SAME_RIGHTS);
    queue_key(port, 3);
    ASSERT_OK(zx_handle_close(port));
    cr_assert_eq(wait_packet(dup, 0).key, 3u);
}

// The packet put back after a bad pointer goes to a thread already waiting: with two waiters and
// two packets, each waiter gets one whichever way the threads interleave.
Test(port, packet_put_back_wakes_another_waiter) {
    zx_handle_t port = make_port();
    for (int round = 0; round < 20; round++) {
        struct waiter w[2];
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            w[i] = (struct waiter){.port = port, .deadline = ZX_TIME_INFINITE, .status = 1};
            cr_assert_eq(pthread_create(&t[i], NULL, wait_thread, &w[i]), 0);
        }
        ASSERT_OK(zx_nanosleep(zx_deadline_after(ZX_MSEC(5))));
        queue_key(port, 1);
        zx_port_packet_t* ro = readonly_page();
        zx_status_t s = zx_port_wait(port, 0, ro);
        cr_assert(s == ZX_ERR_INVALID_ARGS || s == ZX_ERR_TIMED_OUT, "got %s",
                  zx_status_get_string(s));
        queue_key(port, 2);
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(pthread_join(t[i], NULL), 0);
            ASSERT_OK(w[i].status);
        }
        cr_assert_eq(w[0].packet.key + w[1].packet.key, 3u, "keys %lu and %lu",
                     (unsigned long)w[0].packet.key, (unsigned long)w[1].packet.key);
        assert_empty(port);
    }
}

// Signals do not cut a wait short: not a finite one, and not an infinite one.
Test(port, wait_is_not_interrupted_by_signals) {
    zx_handle_t port = make_port();
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(60));
    struct pester pester;
    pester_start(&pester, pthread_self(), 5);
    zx_port_packet_t p;
    ASSERT_STATUS(zx_port_wait(port, deadline, &p), ZX_ERR_TIMED_OUT);
    zx_time_t now = zx_clock_get_monotonic();
    pester_join(&pester);
    cr_assert_geq(now, deadline, "woke %lld ns early", (long long)(deadline - now));

    // An infinite wait, pestered by signals, still ends with the packet.
    struct waiter w = {.port = port, .deadline = ZX_TIME_INFINITE, .status = 1};
    pthread_t waiter;
    cr_assert_eq(pthread_create(&waiter, NULL, wait_thread, &w), 0);
    pester_start(&pester, waiter, 5);
    pester_join(&pester);
    queue_key(port, 77);
    cr_assert_eq(pthread_join(waiter, NULL), 0);
    ASSERT_OK(w.status);
    cr_assert_eq(w.packet.key, 77u);
}

// The library copies packets to and from the calling thread's live stack frames without a system
// call (util/user_copy.c). A buffer that runs past the top of the stack must still be refused,
// not copied: this thread's stack ends at a page that cannot be read.
struct stack_edge_args {
    zx_handle_t port;
    uint8_t* top;  // the first byte above the stack: a PROT_NONE page
    zx_status_t queue_straddling, wait_above, wait_local, queue_local;
    uint64_t key;
};

static void* stack_edge_thread(void* arg) {
    struct stack_edge_args* a = arg;
    zx_port_packet_t local = user_packet(7);
    a->queue_local = zx_port_queue(a->port, &local);
    a->queue_straddling = zx_port_queue(a->port, (zx_port_packet_t*)(a->top - 16));
    a->wait_above = zx_port_wait(a->port, 0, (zx_port_packet_t*)a->top);
    memset(&local, 0, sizeof(local));
    a->wait_local = zx_port_wait(a->port, 0, &local);
    a->key = local.key;
    return NULL;
}

Test(port, stack_buffers_past_the_top_of_the_stack_give_invalid_args) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), size = 256 * 1024;
    uint8_t* block = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
    cr_assert_neq(block, MAP_FAILED);
    cr_assert_eq(mprotect(block + size, page, PROT_NONE), 0);
    struct stack_edge_args a = {.port = make_port(), .top = block + size};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cr_assert_eq(pthread_attr_setstack(&attr, block, size), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, &attr, stack_edge_thread, &a), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    ASSERT_OK(a.queue_local);
    ASSERT_STATUS(a.queue_straddling, ZX_ERR_INVALID_ARGS);
    ASSERT_STATUS(a.wait_above, ZX_ERR_INVALID_ARGS);
    ASSERT_OK(a.wait_local);
    cr_assert_eq(a.key, 7u, "the packet put back after the bad pointer was lost");
    assert_empty(a.port);
    munmap(block, size + page);
}
