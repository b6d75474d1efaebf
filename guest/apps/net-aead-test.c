/*
 * net-aead-test.c - the guest's ChaCha20-Poly1305 (lib/chachapoly.c)
 * against RFC 8439's test vectors: the block function (2.3.2), the
 * cipher (2.4.2), Poly1305 (2.5.2 and the edge cases of A.3: #5, #6, #7,
 * #9, #10, which reach the final reduction), and the AEAD (2.8.2: seal,
 * open, and open with one bit of the tag, the ciphertext or the AAD
 * flipped).  Prints one line per vector; exit 0 when all pass.
 */
#include "vbase.h"
#include "lib/chachapoly.h"

static int hexval(char c)
{
    return c >= 'a' ? c - 'a' + 10 : c - '0';
}

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2)
        out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
    return n;
}

static int failures;

static void check(const char *what, const uint8_t *got, const char *want_hex)
{
    static uint8_t want[256];
    size_t n = unhex(want_hex, want);
    int ok = memcmp(got, want, n) == 0;
    vb_printf("net-aead-test: %s: %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
}

static const char sunscreen[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
                                "the future, sunscreen would be it.";

int main(void)
{
    uint8_t key[32], nonce[12], out[256], tag[16], msg[64], aad[12];
    size_t len = sizeof sunscreen - 1;

    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    unhex("000000090000004a00000000", nonce);
    chacha20_block(key, 1, nonce, out);
    check("2.3.2 block", out, "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                              "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");

    unhex("000000000000004a00000000", nonce);
    chacha20_xor(key, 1, nonce, (const uint8_t *)sunscreen, out, len);
    check("2.4.2 cipher", out, "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
                               "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
                               "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
                               "5af90bbf74a35be6b40b8eedf2785e42874d");

    unhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b", key);
    poly1305(key, (const uint8_t *)"Cryptographic Forum Research Group", 34, tag);
    check("2.5.2 poly1305", tag, "a8061dc1305136c6c22b8baf0c0127a9");

    static const struct { const char *name, *key, *msg, *tag; } edge[] = {
        { "A.3 #5", "0200000000000000000000000000000000000000000000000000000000000000",
          "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000" },
        { "A.3 #6", "02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
          "02000000000000000000000000000000", "03000000000000000000000000000000" },
        { "A.3 #7", "0100000000000000000000000000000000000000000000000000000000000000",
          "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff11000000000000000000000000000000",
          "05000000000000000000000000000000" },
        { "A.3 #9", "0100000000000000000000000000000000000000000000000000000000000000",
          "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101",
          "00000000000000000000000000000000" },
        { "A.3 #10", "0200000000000000000000000000000000000000000000000000000000000000",
          "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff" },
    };
    for (unsigned i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        unhex(edge[i].key, key);
        size_t n = unhex(edge[i].msg, msg);
        poly1305(key, msg, n, tag);
        check(edge[i].name, tag, edge[i].tag);
    }

    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x80 + i);
    unhex("070000004041424344454647", nonce);
    unhex("50515253c0c1c2c3c4c5c6c7", aad);
    aead_seal(key, nonce, aad, sizeof aad, (const uint8_t *)sunscreen, len, out, tag);
    check("2.8.2 aead ciphertext", out, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                                        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                                        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                                        "3ff4def08e4b7a9de576d26586cec64b6116");
    check("2.8.2 aead tag", tag, "1ae10b594f09e26a7e902ecbd0600691");

    static uint8_t back[256];
    int opened = aead_open(key, nonce, aad, sizeof aad, out, len, tag, back) == 0 &&
                 memcmp(back, sunscreen, len) == 0;
    vb_printf("net-aead-test: 2.8.2 aead open: %s\n", opened ? "ok" : "FAILED");
    failures += !opened;
    tag[15] ^= 1;
    int r1 = aead_open(key, nonce, aad, sizeof aad, out, len, tag, back);
    tag[15] ^= 1;
    out[40] ^= 0x80;
    int r2 = aead_open(key, nonce, aad, sizeof aad, out, len, tag, back);
    out[40] ^= 0x80;
    aad[0] ^= 1;
    int r3 = aead_open(key, nonce, aad, sizeof aad, out, len, tag, back);
    int refused = r1 == -1 && r2 == -1 && r3 == -1;
    vb_printf("net-aead-test: tampered tag, ciphertext, aad refused: %s\n", refused ? "ok" : "FAILED");
    failures += !refused;

    vb_printf("net-aead-test: %d failures\n", failures);
    return failures ? 1 : 0;
}
