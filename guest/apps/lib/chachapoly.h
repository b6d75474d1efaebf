/*
 * chachapoly.h - ChaCha20, Poly1305 and the ChaCha20-Poly1305 AEAD of
 * RFC 8439, for the guest's programs (guest/apps/net-bank.c).  Portable C,
 * constant time in the data (no table lookups, no data-dependent
 * branches); checked against the RFC's test vectors by
 * guest/apps/net-aead-test.c (tests/Vbase.Testbed.Tests/NetBankTests.cs).
 */
#ifndef CHACHAPOLY_H
#define CHACHAPOLY_H

#include <stddef.h>
#include <stdint.h>

#define CHACHA_KEY_BYTES   32
#define CHACHA_NONCE_BYTES 12
#define POLY1305_TAG_BYTES 16

/* One 64-byte ChaCha20 block (RFC 8439 2.3). */
void chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t out[64]);

/* out = in XOR the key stream from block `counter` on (2.4); in == out allowed. */
void chacha20_xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                  const uint8_t *in, uint8_t *out, size_t len);

/* The one-time authenticator (2.5). */
void poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16]);

/* AEAD (2.8): ciphertext into out (len bytes), then the tag. */
void aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);

/* 0 and the plaintext in out if the tag verifies; -1 (out zeroed) if not. */
int aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
              const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out);

#endif
