// Debian's libhttp-parser (Node's http_parser 2.9), with static inline shims
// over what Swift cannot reach: http_parser's bitfields and its errno macro.
#ifndef GREEN_CHTTPPARSER_SHIM_H
#define GREEN_CHTTPPARSER_SHIM_H

#include <http_parser.h>

static inline unsigned green_http_method(const http_parser *p) { return p->method; }
static inline unsigned green_http_status(const http_parser *p) { return p->status_code; }
static inline unsigned green_http_errno(const http_parser *p) { return p->http_errno; }
static inline unsigned green_http_flags(const http_parser *p) { return p->flags; }
static inline int green_http_upgrade(const http_parser *p) { return p->upgrade; }
static inline int green_http_uses_transfer_encoding(const http_parser *p) { return p->uses_transfer_encoding; }
static inline unsigned green_http_major(const http_parser *p) { return p->http_major; }
static inline unsigned green_http_minor(const http_parser *p) { return p->http_minor; }
static inline uint64_t green_http_content_length(const http_parser *p) { return p->content_length; }
static inline void green_http_set_data(http_parser *p, void *data) { p->data = data; }
static inline void *green_http_data(const http_parser *p) { return p->data; }
/// Whether the parser saw `Transfer-Encoding: chunked` (F_CHUNKED).
static inline int green_http_is_chunked(const http_parser *p) { return (p->flags & F_CHUNKED) != 0; }
/// Whether the parser saw a Content-Length header (F_CONTENTLENGTH).
static inline int green_http_has_content_length(const http_parser *p) { return (p->flags & F_CONTENTLENGTH) != 0; }
/// Where URL field `f` starts in the parsed text, and how long it is.
static inline unsigned green_url_field_off(const struct http_parser_url *u, int f) { return u->field_data[f].off; }
static inline unsigned green_url_field_len(const struct http_parser_url *u, int f) { return u->field_data[f].len; }

#endif
