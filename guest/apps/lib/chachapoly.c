/*
 * chachapoly.c - RFC 8439's ChaCha20-Poly1305 (see chachapoly.h).
 * Poly1305 in 26-bit limbs with 64-bit products (no 128-bit arithmetic,
 * so no libgcc helpers in a -nostdlib program).
 */
#include "chachapoly.h"

void *memset(void *dst, int c, size_t n);

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#define ROTL(v, n) ((v) << (n) | (v) >> (32 - (n)))
#define QR(a, b, c, d)                          \
    a += b; d ^= a; d = ROTL(d, 16);            \
    c += d; b ^= c; b = ROTL(b, 12);            \
    a += b; d ^= a; d = ROTL(d, 8);             \
    c += d; b ^= c; b = ROTL(b, 7)

void chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t out[64])
{
    uint32_t s[16], x[16];
    s[0] = 0x61707865;
    s[1] = 0x3320646e;
    s[2] = 0x79622d32;
    s[3] = 0x6b206574;
    for (int i = 0; i < 8; i++)
        s[4 + i] = le32(key + 4 * i);
    s[12] = counter;
    for (int i = 0; i < 3; i++)
        s[13 + i] = le32(nonce + 4 * i);
    for (int i = 0; i < 16; i++)
        x[i] = s[i];
    for (int round = 0; round < 10; round++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        put32(out + 4 * i, x[i] + s[i]);
}

void chacha20_xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                  const uint8_t *in, uint8_t *out, size_t len)
{
    uint8_t block[64];
    for (size_t at = 0; at < len; at += 64, counter++) {
        chacha20_block(key, counter, nonce, block);
        size_t n = len - at < 64 ? len - at : 64;
        for (size_t i = 0; i < n; i++)
            out[at + i] = in[at + i] ^ block[i];
    }
    memset(block, 0, sizeof block);
}

struct poly {
    uint32_t r[5], s[4], h[5];
    uint8_t buf[16];
    size_t fill;
};

static void poly_init(struct poly *p, const uint8_t key[32])
{
    p->r[0] = le32(key + 0) & 0x3ffffff;
    p->r[1] = (le32(key + 3) >> 2) & 0x3ffff03;
    p->r[2] = (le32(key + 6) >> 4) & 0x3ffc0ff;
    p->r[3] = (le32(key + 9) >> 6) & 0x3f03fff;
    p->r[4] = (le32(key + 12) >> 8) & 0x00fffff;
    for (int i = 0; i < 4; i++)
        p->s[i] = le32(key + 16 + 4 * i);
    for (int i = 0; i < 5; i++)
        p->h[i] = 0;
    p->fill = 0;
}

/* h = (h + m) * r mod 2^130 - 5 for one 16-byte block; hibit 1 << 24 for
   a full block, 0 for the padded last one (which carries its own 1). */
static void poly_block(struct poly *p, const uint8_t m[16], uint32_t hibit)
{
    const uint32_t mask = 0x3ffffff;
    uint32_t r0 = p->r[0], r1 = p->r[1], r2 = p->r[2], r3 = p->r[3], r4 = p->r[4];
    uint32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
    uint32_t h0 = p->h[0] + (le32(m + 0) & mask);
    uint32_t h1 = p->h[1] + ((le32(m + 3) >> 2) & mask);
    uint32_t h2 = p->h[2] + ((le32(m + 6) >> 4) & mask);
    uint32_t h3 = p->h[3] + ((le32(m + 9) >> 6) & mask);
    uint32_t h4 = p->h[4] + ((le32(m + 12) >> 8) | hibit);
    uint64_t d0 = (uint64_t)h0 * r0 + (uint64_t)h1 * s4 + (uint64_t)h2 * s3 + (uint64_t)h3 * s2 + (uint64_t)h4 * s1;
    uint64_t d1 = (uint64_t)h0 * r1 + (uint64_t)h1 * r0 + (uint64_t)h2 * s4 + (uint64_t)h3 * s3 + (uint64_t)h4 * s2;
    uint64_t d2 = (uint64_t)h0 * r2 + (uint64_t)h1 * r1 + (uint64_t)h2 * r0 + (uint64_t)h3 * s4 + (uint64_t)h4 * s3;
    uint64_t d3 = (uint64_t)h0 * r3 + (uint64_t)h1 * r2 + (uint64_t)h2 * r1 + (uint64_t)h3 * r0 + (uint64_t)h4 * s4;
    uint64_t d4 = (uint64_t)h0 * r4 + (uint64_t)h1 * r3 + (uint64_t)h2 * r2 + (uint64_t)h3 * r1 + (uint64_t)h4 * r0;
    uint32_t c = (uint32_t)(d0 >> 26);
    h0 = (uint32_t)d0 & mask;
    d1 += c;
    c = (uint32_t)(d1 >> 26);
    h1 = (uint32_t)d1 & mask;
    d2 += c;
    c = (uint32_t)(d2 >> 26);
    h2 = (uint32_t)d2 & mask;
    d3 += c;
    c = (uint32_t)(d3 >> 26);
    h3 = (uint32_t)d3 & mask;
    d4 += c;
    c = (uint32_t)(d4 >> 26);
    h4 = (uint32_t)d4 & mask;
    h0 += c * 5;
    c = h0 >> 26;
    h0 &= mask;
    h1 += c;
    p->h[0] = h0;
    p->h[1] = h1;
    p->h[2] = h2;
    p->h[3] = h3;
    p->h[4] = h4;
}

static void poly_update(struct poly *p, const uint8_t *m, size_t len)
{
    while (len) {
        if (p->fill == 0 && len >= 16) {
            poly_block(p, m, 1u << 24);
            m += 16;
            len -= 16;
            continue;
        }
        p->buf[p->fill++] = *m++;
        len--;
        if (p->fill == 16) {
            poly_block(p, p->buf, 1u << 24);
            p->fill = 0;
        }
    }
}

static void poly_finish(struct poly *p, uint8_t tag[16])
{
    const uint32_t mask = 0x3ffffff;
    if (p->fill) {
        p->buf[p->fill++] = 1;
        while (p->fill < 16)
            p->buf[p->fill++] = 0;
        poly_block(p, p->buf, 0);
    }
    uint32_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2], h3 = p->h[3], h4 = p->h[4], c;
    c = h1 >> 26; h1 &= mask; h2 += c;
    c = h2 >> 26; h2 &= mask; h3 += c;
    c = h3 >> 26; h3 &= mask; h4 += c;
    c = h4 >> 26; h4 &= mask; h0 += c * 5;
    c = h0 >> 26; h0 &= mask; h1 += c;
    /* g = h + 5 - 2^130: keep it if it did not go negative (h >= p). */
    uint32_t g0 = h0 + 5; c = g0 >> 26; g0 &= mask;
    uint32_t g1 = h1 + c; c = g1 >> 26; g1 &= mask;
    uint32_t g2 = h2 + c; c = g2 >> 26; g2 &= mask;
    uint32_t g3 = h3 + c; c = g3 >> 26; g3 &= mask;
    uint32_t g4 = h4 + c - (1u << 26);
    uint32_t keep = (g4 >> 31) - 1;        /* all ones: take g */
    h0 = (h0 & ~keep) | (g0 & keep);
    h1 = (h1 & ~keep) | (g1 & keep);
    h2 = (h2 & ~keep) | (g2 & keep);
    h3 = (h3 & ~keep) | (g3 & keep);
    h4 = (h4 & ~keep) | (g4 & keep);
    uint32_t w0 = h0 | h1 << 26;
    uint32_t w1 = h1 >> 6 | h2 << 20;
    uint32_t w2 = h2 >> 12 | h3 << 14;
    uint32_t w3 = h3 >> 18 | h4 << 8;
    uint64_t f = (uint64_t)w0 + p->s[0];
    put32(tag + 0, (uint32_t)f);
    f = (uint64_t)w1 + p->s[1] + (f >> 32);
    put32(tag + 4, (uint32_t)f);
    f = (uint64_t)w2 + p->s[2] + (f >> 32);
    put32(tag + 8, (uint32_t)f);
    f = (uint64_t)w3 + p->s[3] + (f >> 32);
    put32(tag + 12, (uint32_t)f);
    memset(p, 0, sizeof *p);
}

void poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16])
{
    struct poly p;
    poly_init(&p, key);
    poly_update(&p, msg, len);
    poly_finish(&p, tag);
}

static void aead_tag(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                     const uint8_t *ct, size_t len, uint8_t tag[16])
{
    static const uint8_t zeros[16];
    uint8_t otk[64], lens[16];
    chacha20_block(key, 0, nonce, otk);
    struct poly p;
    poly_init(&p, otk);
    poly_update(&p, aad, aad_len);
    poly_update(&p, zeros, (16 - aad_len % 16) % 16);
    poly_update(&p, ct, len);
    poly_update(&p, zeros, (16 - len % 16) % 16);
    for (int i = 0; i < 8; i++) {
        lens[i] = (uint8_t)((uint64_t)aad_len >> (8 * i));
        lens[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    poly_update(&p, lens, 16);
    poly_finish(&p, tag);
    memset(otk, 0, sizeof otk);
}

void aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    chacha20_xor(key, 1, nonce, in, out, len);
    aead_tag(key, nonce, aad, aad_len, out, len, tag);
}

int aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
              const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out)
{
    uint8_t want[16];
    aead_tag(key, nonce, aad, aad_len, in, len, want);
    uint8_t diff = 0;
    for (int i = 0; i < 16; i++)
        diff |= want[i] ^ tag[i];
    if (diff) {
        memset(out, 0, len);
        return -1;
    }
    chacha20_xor(key, 1, nonce, in, out, len);
    return 0;
}
