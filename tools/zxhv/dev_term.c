// zxhv run: the host terminal (dev_term.h).
#define _GNU_SOURCE  // pipe2
#include "dev_term.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

// A partial output line is written after this long without a newline (a shell prompt, say).
#define TERM_FLUSH_MS 30

// The terminal is process-wide state, so its saved mode is too: restored once by whichever of
// term_close and the atexit handler runs first.
static struct termios saved_mode;
static volatile bool raw_active;

static void restore_mode(void) {
    if (raw_active) {
        raw_active = false;
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_mode);
    }
}

// Raw input, but ISIG stays on so that Ctrl-C still stops the VMM, and output processing stays
// on so that a guest's "\n" still starts a new line.
static void enter_raw_mode(void) {
    if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp())
        return;
    if (tcgetattr(STDIN_FILENO, &saved_mode) != 0)
        return;
    struct termios raw = saved_mode;
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    static bool registered;
    if (!registered) {
        atexit(restore_mode);
        registered = true;
    }
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
        raw_active = true;
}

// Writes all of buf to stdout, dropping what cannot be written (a closed pipe, say).
static void write_stdout(const uint8_t* buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
            poll(&p, 1, 100);
        } else {
            return;
        }
    }
}

static void flush_locked(struct term* t) {
    if (t->sink)
        t->sink(t->sink_ctx, t->out, t->out_len);
    else
        write_stdout(t->out, t->out_len);
    t->out_len = 0;
}

int term_init(struct term* t) {
    memset(t, 0, sizeof(*t));
    if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    pthread_mutex_init(&t->mu, NULL);
    enter_raw_mode();
    return 0;
}

int term_init_sink(struct term* t, void (*sink)(void* ctx, const uint8_t* buf, size_t len),
                   void* ctx) {
    memset(t, 0, sizeof(*t));
    if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    pthread_mutex_init(&t->mu, NULL);
    t->sink = sink;
    t->sink_ctx = ctx;
    t->in_eof = true;  // no stdin behind it
    return 0;
}

static void wake_poller(struct term* t) {
    uint8_t b = 0;
    ssize_t n = write(t->wake[1], &b, 1);  // a full pipe already wakes it
    (void)n;
}

// Reads what stdin has into the free part of the ring. Returns true if bytes arrived.
static bool read_stdin(struct term* t) {
    pthread_mutex_lock(&t->mu);
    size_t free_len = TERM_IN_SIZE - t->in_len;
    size_t tail = (t->in_head + t->in_len) % TERM_IN_SIZE;
    size_t chunk = free_len < TERM_IN_SIZE - tail ? free_len : TERM_IN_SIZE - tail;
    pthread_mutex_unlock(&t->mu);
    if (chunk == 0)
        return false;
    // Only this thread adds to the ring, so the free space cannot shrink meanwhile.
    uint8_t buf[TERM_IN_SIZE];
    ssize_t n = read(STDIN_FILENO, buf, chunk);
    pthread_mutex_lock(&t->mu);
    bool got = false;
    if (n > 0) {
        tail = (t->in_head + t->in_len) % TERM_IN_SIZE;
        memcpy(&t->in[tail], buf, (size_t)n);
        t->in_len += (size_t)n;
        got = true;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        t->in_eof = true;
    }
    pthread_mutex_unlock(&t->mu);
    return got;
}

static void* poller(void* arg) {
    struct term* t = arg;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        bool stop = t->stop;
        bool want_in = !t->in_eof && t->in_len < TERM_IN_SIZE;
        int timeout = t->out_len > 0 ? TERM_FLUSH_MS : -1;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            return NULL;
        struct pollfd fds[2] = {
            {.fd = t->wake[0], .events = POLLIN},
            {.fd = want_in ? STDIN_FILENO : -1, .events = POLLIN},
        };
        int n = poll(fds, 2, timeout);
        if (n < 0 && errno != EINTR)
            return NULL;
        if (n == 0) {
            term_flush(t);
            continue;
        }
        if (fds[0].revents) {
            uint8_t drain[64];
            while (read(t->wake[0], drain, sizeof(drain)) > 0) {
            }
        }
        if (fds[1].revents && read_stdin(t) && t->on_input)
            t->on_input(t->on_input_ctx);
    }
}

int term_start(struct term* t, void (*on_input)(void* ctx), void* ctx) {
    t->on_input = on_input;
    t->on_input_ctx = ctx;
    if (pthread_create(&t->thread, NULL, poller, t) != 0)
        return -1;
    t->started = true;
    return 0;
}

void term_close(struct term* t) {
    if (t->started) {
        pthread_mutex_lock(&t->mu);
        t->stop = true;
        pthread_mutex_unlock(&t->mu);
        wake_poller(t);
        pthread_join(t->thread, NULL);
        t->started = false;
    }
    term_flush(t);
    restore_mode();
    close(t->wake[0]);
    close(t->wake[1]);
    pthread_mutex_destroy(&t->mu);
}

void term_write(struct term* t, const uint8_t* buf, size_t len) {
    pthread_mutex_lock(&t->mu);
    bool was_empty = t->out_len == 0;
    for (size_t i = 0; i < len; i++) {
        t->out[t->out_len++] = buf[i];
        if (buf[i] == '\n' || t->out_len == TERM_OUT_SIZE)
            flush_locked(t);
    }
    bool partial = t->out_len > 0;
    pthread_mutex_unlock(&t->mu);
    if (was_empty && partial && t->started)
        wake_poller(t);  // so that it starts the idle-flush timer
}

void term_flush(struct term* t) {
    pthread_mutex_lock(&t->mu);
    flush_locked(t);
    pthread_mutex_unlock(&t->mu);
}

bool term_input_ready(struct term* t) {
    pthread_mutex_lock(&t->mu);
    bool ready = t->in_len > 0;
    pthread_mutex_unlock(&t->mu);
    return ready;
}

size_t term_feed(struct term* t, const uint8_t* buf, size_t len) {
    pthread_mutex_lock(&t->mu);
    size_t n = 0;
    for (; n < len && t->in_len < TERM_IN_SIZE; n++) {
        t->in[(t->in_head + t->in_len) % TERM_IN_SIZE] = buf[n];
        t->in_len++;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

size_t term_read(struct term* t, uint8_t* buf, size_t max) {
    pthread_mutex_lock(&t->mu);
    bool was_full = t->in_len == TERM_IN_SIZE;
    size_t n = 0;
    while (n < max && t->in_len > 0) {
        buf[n++] = t->in[t->in_head];
        t->in_head = (t->in_head + 1) % TERM_IN_SIZE;
        t->in_len--;
    }
    pthread_mutex_unlock(&t->mu);
    if (was_full && n > 0 && t->started)
        wake_poller(t);  // room again: poll stdin
    return n;
}
