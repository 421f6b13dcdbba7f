// OpenSSL 3 (Debian's libssl-dev) for GreenTLS: static inline shims over the
// macros Swift cannot import, a socket BIO that never raises SIGPIPE and
// keeps errno, and the ALPN selection callback.
#ifndef GREEN_COPENSSL_SHIM_H
#define GREEN_COPENSSL_SHIM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// MARK: - Context settings (macros over SSL_CTX_ctrl)

static inline int green_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int green_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline int green_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return (int)SSL_CTX_add1_chain_cert(ctx, cert);
}
/// What every Green context sets: no renegotiation (TLS 1.2), no compression,
/// the server's cipher order; partial writes (`send` returns what went) and a
/// write buffer that may move between retries; read-ahead (one recv for
/// several records, not one for a header and one for a body).
static inline void green_ssl_ctx_set_defaults(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_read_ahead(ctx, 1);
}

// MARK: - The error queue

/// Empties this thread's error queue when it holds anything: cheaper than
/// ERR_clear_error, which walks all its slots even when the queue is empty.
static inline void green_err_clear(void) {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

// MARK: - Per-connection settings

static inline int green_ssl_set_sni(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

// MARK: - A socket BIO of our own

/// The state of one connection's BIO, owned by its TLSStream (one hub, one
/// thread: no locking).
///
/// - `fd` is refreshed before every OpenSSL call (-1 once the socket is closed).
/// - `last_errno` is the errno of the last failed send or recv, kept because
///   OpenSSL may call other functions (which may set errno) before returning.
/// - `drained` is set when a recv returned less than asked: the socket is most
///   likely empty, so the next read says "would block" without a syscall; the
///   stream then waits for readability (level-triggered, so data that came
///   meanwhile is reported at once) and clears `drained` before calling
///   OpenSSL again. This saves the EAGAIN recv of every request-response turn.
/// - `out` holds records written and not yet sent (up to GREEN_BIO_OUT_CAP
///   bytes; bigger writes go straight to the socket once it is empty). The
///   stream sends them with green_bio_flush_out: at the end of every send,
///   before it parks to read, on close. So one call's records leave in one
///   segment: a TLS 1.3 server's session tickets go with its first answer,
///   not in two segments of their own. OpenSSL's BIO_flush is a no-op here.
typedef struct green_bio_state {
    int fd;
    int last_errno;
    int saw_eof;
    int drained;
    unsigned char *out;
    size_t out_start;
    size_t out_end;
} green_bio_state;

#define GREEN_BIO_OUT_CAP 8192

/// Sends the held records. Returns 1 when all went, 0 when the socket is
/// full (some may remain; `last_errno` is EAGAIN), -1 on an error (`last_errno`).
static inline int green_bio_flush_out(green_bio_state *st) {
    while (st->out_end > st->out_start) {
        ssize_t n = send(st->fd, st->out + st->out_start, st->out_end - st->out_start, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            st->last_errno = errno;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        }
        st->out_start += (size_t)n;
    }
    st->out_start = st->out_end = 0;
    return 1;
}

/// Bytes held and not yet sent.
static inline size_t green_bio_pending_out(const green_bio_state *st) { return st->out_end - st->out_start; }

/// Frees the held bytes' buffer (the stream's deinit).
static inline void green_bio_free_out(green_bio_state *st) {
    free(st->out);
    st->out = NULL;
    st->out_start = st->out_end = 0;
}

static inline int green_bio_write(BIO *b, const char *buf, int len) {
    green_bio_state *st = (green_bio_state *)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    if (st->out_end + (size_t)len > GREEN_BIO_OUT_CAP && st->out_end > 0) {
        int r = green_bio_flush_out(st);
        if (r == 0) BIO_set_retry_write(b);
        if (r <= 0) return -1;
    }
    if (st->out == NULL && (size_t)len <= GREEN_BIO_OUT_CAP) st->out = (unsigned char *)malloc(GREEN_BIO_OUT_CAP);
    if (st->out != NULL && (size_t)len <= GREEN_BIO_OUT_CAP) {
        memcpy(st->out + st->out_end, buf, (size_t)len);
        st->out_end += (size_t)len;
        return len;
    }
    // Too big to hold (or no memory): straight to the socket, which is empty now.
    ssize_t n;
    do {
        n = send(st->fd, buf, (size_t)len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        st->last_errno = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
        return -1;
    }
    return (int)n;
}

static inline int green_bio_read(BIO *b, char *buf, int len) {
    green_bio_state *st = (green_bio_state *)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (st->drained) {
        st->last_errno = EAGAIN;
        BIO_set_retry_read(b);
        return -1;
    }
    ssize_t n;
    do {
        n = recv(st->fd, buf, (size_t)len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        st->last_errno = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
        return -1;
    }
    if (n == 0) st->saw_eof = 1;
    else if (n < len) st->drained = 1;
    return (int)n;
}

static inline int green_bio_puts(BIO *b, const char *s) {
    return green_bio_write(b, s, (int)strlen(s));
}

static inline long green_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    (void)ptr;
    // OpenSSL 3.0 asks several questions per record (kTLS, pending bytes):
    // the state is looked up only for the two that need it.
    green_bio_state *st;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // the stream sends held records itself (see green_bio_state)
    case BIO_CTRL_WPENDING:
        st = (green_bio_state *)BIO_get_data(b);
        return st != NULL ? (long)green_bio_pending_out(st) : 0;
    case BIO_CTRL_EOF:
        st = (green_bio_state *)BIO_get_data(b);
        return st != NULL && st->saw_eof;  // lets OpenSSL report a truncation
    case BIO_CTRL_DUP: return 1;
    default: return 0;
    }
}

static inline int green_bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

/// A new BIO_METHOD for green sockets (make one per process and keep it).
static inline BIO_METHOD *green_bio_method_new(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "green socket");
    if (m == NULL) return NULL;
    BIO_meth_set_write(m, green_bio_write);
    BIO_meth_set_read(m, green_bio_read);
    BIO_meth_set_puts(m, green_bio_puts);
    BIO_meth_set_ctrl(m, green_bio_ctrl);
    BIO_meth_set_create(m, green_bio_create);
    return m;
}

// MARK: - ALPN

/// The server's protocols in wire format (length-prefixed names), in its order of preference.
typedef struct green_alpn_list {
    unsigned int length;
    unsigned char *wire;
} green_alpn_list;

/// Picks the server's most preferred protocol the client also offers; when
/// there is none, goes on without ALPN (the application decides).
static inline int green_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                    const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    const green_alpn_list *list = (const green_alpn_list *)arg;
    unsigned char *chosen = NULL;
    if (SSL_select_next_proto(&chosen, outlen, list->wire, list->length, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

static inline void green_ssl_ctx_set_alpn_select(SSL_CTX *ctx, green_alpn_list *list) {
    SSL_CTX_set_alpn_select_cb(ctx, green_alpn_select, list);
}

#endif
