// zxhv run: decompressing a bzImage's payload on the host (loader_impl.h), with zlib, liblzma
// and libzstd: the formats distributions build kernels with. bzip2, LZ4 and LZO payloads are
// recognised but not decompressed here (the kernel then decompresses itself in the guest).
#include <limits.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST
#include <zlib.h>
#include <zstd.h>

#include "loader_impl.h"

// liblzma may use this much memory for one stream (a kernel's dictionary is 32 MiB at most); a
// hostile header asking for more fails instead.
#define LZMA_MEMLIMIT (1ull << 30)

enum codec { CODEC_UNKNOWN, CODEC_GZIP, CODEC_XZ, CODEC_LZMA, CODEC_ZSTD, CODEC_BZIP2,
             CODEC_LZ4, CODEC_LZO };

// The formats the kernel's build can compress with, by their magic numbers.
static const struct {
    enum codec codec;
    uint8_t magic[6];
    uint8_t magic_len;
} codecs[] = {
    {CODEC_GZIP, {0x1f, 0x8b}, 2},
    {CODEC_XZ, {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6},
    {CODEC_LZMA, {0x5d, 0x00, 0x00}, 3},  // lc=3 lp=0 pb=2, as the kernel's build writes
    {CODEC_ZSTD, {0x28, 0xb5, 0x2f, 0xfd}, 4},
    {CODEC_BZIP2, {'B', 'Z', 'h'}, 3},
    {CODEC_LZ4, {0x02, 0x21, 0x4c, 0x18}, 4},  // the legacy frame the kernel uses
    {CODEC_LZO, {0x89, 'L', 'Z', 'O'}, 4},
};

static enum codec codec_of(const uint8_t* in, size_t in_size) {
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
        if (in_size >= codecs[i].magic_len && memcmp(in, codecs[i].magic, codecs[i].magic_len) == 0)
            return codecs[i].codec;
    return CODEC_UNKNOWN;
}

// Each decoder below fills out[0 .. cap) and sets *got. It stops at the end of the first
// stream; it fails on corrupt data, on output beyond |cap|, and when the input ends first
// (no progress either way).

static int gunzip(const uint8_t* in, size_t in_size, uint8_t* out, size_t cap, size_t* got,
                  const char** why) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {  // 16: a gzip wrapper
        *why = "gzip: cannot start zlib";
        return -1;
    }
    size_t in_done = 0, out_done = 0;
    int r;
    for (;;) {
        size_t in_left = in_size - in_done, out_left = cap - out_done;
        z.next_in = in + in_done;
        z.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        z.next_out = out + out_done;
        z.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
        uInt avail_in = z.avail_in, avail_out = z.avail_out;
        r = inflate(&z, Z_NO_FLUSH);
        in_done += avail_in - z.avail_in;
        out_done += avail_out - z.avail_out;
        if (r == Z_STREAM_END)
            break;
        if (r != Z_OK && r != Z_BUF_ERROR) {
            *why = r == Z_MEM_ERROR ? "gzip: out of memory" : "gzip: corrupt data";
            break;
        }
        if (avail_in == z.avail_in && avail_out == z.avail_out) {
            *why = out_done == cap ? "gzip: larger than its stated size" : "gzip: truncated";
            break;
        }
    }
    inflateEnd(&z);
    *got = out_done;
    return r == Z_STREAM_END ? 0 : -1;
}

// Why an xz or legacy lzma stream failed, by format (0: xz, 1: lzma).
enum { XZ_CORRUPT, XZ_MEMORY, XZ_TOO_BIG, XZ_TRUNCATED, XZ_START };
static const char* const xz_why[2][5] = {
    {"xz: corrupt data", "xz: needs too much memory", "xz: larger than its stated size",
     "xz: truncated", "xz: cannot start liblzma"},
    {"lzma: corrupt data", "lzma: needs too much memory", "lzma: larger than its stated size",
     "lzma: truncated", "lzma: cannot start liblzma"},
};

static int unxz(bool legacy_lzma, const uint8_t* in, size_t in_size, uint8_t* out, size_t cap,
                size_t* got, const char** why) {
    const char* const* whys = xz_why[legacy_lzma];
    lzma_stream s = LZMA_STREAM_INIT;
    lzma_ret r = legacy_lzma ? lzma_alone_decoder(&s, LZMA_MEMLIMIT)
                             : lzma_stream_decoder(&s, LZMA_MEMLIMIT, 0);
    if (r != LZMA_OK) {
        *why = whys[XZ_START];
        return -1;
    }
    s.next_in = in;
    s.avail_in = in_size;
    s.next_out = out;
    s.avail_out = cap;
    for (;;) {
        size_t avail_in = s.avail_in, avail_out = s.avail_out;
        r = lzma_code(&s, LZMA_RUN);
        if (r == LZMA_STREAM_END)
            break;
        if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
            *why = whys[r == LZMA_MEMLIMIT_ERROR || r == LZMA_MEM_ERROR ? XZ_MEMORY : XZ_CORRUPT];
            break;
        }
        if (avail_in == s.avail_in && avail_out == s.avail_out) {
            *why = whys[s.avail_out == 0 ? XZ_TOO_BIG : XZ_TRUNCATED];
            break;
        }
    }
    *got = cap - s.avail_out;
    lzma_end(&s);
    return r == LZMA_STREAM_END ? 0 : -1;
}

static int unzstd(const uint8_t* in, size_t in_size, uint8_t* out, size_t cap, size_t* got,
                  const char** why) {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    if (d == NULL) {
        *why = "zstd: cannot start libzstd";
        return -1;
    }
    ZSTD_inBuffer ib = {in, in_size, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    int rc = -1;
    for (;;) {
        size_t in_pos = ib.pos, out_pos = ob.pos;
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(r)) {
            *why = "zstd: corrupt data";
            break;
        }
        if (r == 0) {  // a whole frame decoded and flushed
            rc = 0;
            break;
        }
        if (ib.pos == in_pos && ob.pos == out_pos) {
            *why = ob.pos == ob.size ? "zstd: larger than its stated size" : "zstd: truncated";
            break;
        }
    }
    *got = ob.pos;
    ZSTD_freeDCtx(d);
    return rc;
}

int decompress(const uint8_t* in, size_t in_size, size_t limit, struct blob* out,
               const char** why) {
    enum codec codec = codec_of(in, in_size);
    if (codec == CODEC_UNKNOWN) {
        *why = "unknown compression format";
        return -1;
    }
    if (codec == CODEC_BZIP2 || codec == CODEC_LZ4 || codec == CODEC_LZO) {
        *why = "bzip2, lz4 and lzo payloads are left to the kernel's own decompressor";
        return -1;
    }
    uint8_t* buf = malloc(limit ? limit : 1);
    if (buf == NULL) {
        *why = "out of memory";
        return -1;
    }
    size_t got = 0;
    int rc;
    switch (codec) {
    case CODEC_GZIP:
        rc = gunzip(in, in_size, buf, limit, &got, why);
        break;
    case CODEC_XZ:
    case CODEC_LZMA:
        rc = unxz(codec == CODEC_LZMA, in, in_size, buf, limit, &got, why);
        break;
    default:
        rc = unzstd(in, in_size, buf, limit, &got, why);
        break;
    }
    if (rc != 0) {
        free(buf);
        return -1;
    }
    out->data = buf;
    out->size = got;
    return 0;
}
