/*
 * OpenSSL reference for bench/pk_bench.ts: raw RSA public operation (EVP_PKEY_encrypt with
 * RSA_NO_PADDING on a reused EVP_PKEY_CTX) and SM2 verification (EVP_DigestVerify with SM3
 * and the default ID, the way `openssl speed` does it: the context and ID set once, init +
 * verify per operation). Compiled by the bench at run time (never committed as a binary).
 *
 * Usage: pk_native rsa <modulus hex> <exponent hex> <input hex> <seconds per rep>
 *        pk_native sm2 <pub x||y hex> <message hex> <r||s hex> <seconds per rep>
 * Prints the result hex (RSA) or verdict (SM2) for a known-answer check, then the median
 * ns/op of 5 repetitions and the half-spread, one line each: "result <hex>", "ns <median> <spread%>".
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time, as the JS side */
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t unhex(const char *s, unsigned char *out) {
  size_t n = strlen(s) / 2;
  for (size_t i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &out[i]);
  return n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef int (*op_fn)(void *);

/* Warm up, calibrate a batch to >= 20 ms, then 5 repetitions of >= `secs` each. */
static void measure(op_fn op, void *arg, double secs) {
  double t0 = now();
  long n = 0;
  while (now() - t0 < 0.2) { if (!op(arg)) { puts("error op failed"); exit(1); } n++; }
  long batch = 1;
  for (;;) {
    double t = now();
    for (long i = 0; i < batch; i++) op(arg);
    if (now() - t >= 0.02) break;
    batch *= 2;
  }
  double r[5];
  for (int k = 0; k < 5; k++) {
    long ops = 0;
    double t = now(), el;
    do {
      for (long i = 0; i < batch; i++) op(arg);
      ops += batch;
      el = now() - t;
    } while (el < secs);
    r[k] = el / ops * 1e9;
  }
  qsort(r, 5, sizeof r[0], cmp_double);
  printf("ns %.1f %.1f\n", r[2], (r[4] - r[0]) / 2 / r[2] * 100);
}

struct rsa_arg {
  EVP_PKEY_CTX *ctx;
  unsigned char in[512], out[512];
  size_t len;
};

static int rsa_op(void *p) {
  struct rsa_arg *a = p;
  size_t outlen = sizeof a->out;
  return EVP_PKEY_encrypt(a->ctx, a->out, &outlen, a->in, a->len) == 1 && outlen == a->len;
}

struct sm2_arg {
  EVP_MD_CTX *mctx;
  EVP_PKEY *pkey;
  unsigned char msg[4096], sig[128];
  size_t msglen, siglen;
};

static int sm2_op(void *p) {
  struct sm2_arg *a = p;
  if (EVP_DigestVerifyInit(a->mctx, NULL, EVP_sm3(), NULL, a->pkey) != 1) return 0;
  return EVP_DigestVerify(a->mctx, a->sig, a->siglen, a->msg, a->msglen) == 1;
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: see source\n"); return 2; }
  double secs = atof(argv[5]);
  if (strcmp(argv[1], "rsa") == 0) {
    unsigned char n[512], e[512];
    size_t nl = unhex(argv[2], n), el = unhex(argv[3], e);
    struct rsa_arg a;
    a.len = unhex(argv[4], a.in);
    RSA *rsa = RSA_new();
    RSA_set0_key(rsa, BN_bin2bn(n, nl, NULL), BN_bin2bn(e, el, NULL), NULL);
    EVP_PKEY *pkey = EVP_PKEY_new();
    EVP_PKEY_assign_RSA(pkey, rsa);
    a.ctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (EVP_PKEY_encrypt_init(a.ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(a.ctx, RSA_NO_PADDING) != 1 || !rsa_op(&a)) {
      puts("error rsa setup");
      return 1;
    }
    printf("result ");
    for (size_t i = 0; i < a.len; i++) printf("%02X", a.out[i]);
    printf("\n");
    measure(rsa_op, &a, secs);
    return 0;
  }
  if (strcmp(argv[1], "sm2") == 0) {
    unsigned char pub[65], rs[64];
    pub[0] = 4;
    unhex(argv[2], pub + 1);
    unhex(argv[4], rs);
    struct sm2_arg a;
    a.msglen = unhex(argv[3], a.msg);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *fctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    a.pkey = NULL;
    if (EVP_PKEY_fromdata_init(fctx) != 1 ||
        EVP_PKEY_fromdata(fctx, &a.pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      puts("error sm2 key");
      return 1;
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    unsigned char *der = a.sig;
    a.siglen = i2d_ECDSA_SIG(sig, &der);
    a.mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(a.pkey, NULL);
    EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16);
    EVP_MD_CTX_set_pkey_ctx(a.mctx, pctx);
    printf("result %s\n", sm2_op(&a) ? "valid" : "invalid");
    measure(sm2_op, &a, secs);
    return 0;
  }
  return 2;
}
