// Static inline shims over libev's macros, so Swift can call them.
// libev's ev_*_init / ev_*_set / ev_is_active are macros Swift cannot import.
#ifndef GREEN_CLIBEV_SHIM_H
#define GREEN_CLIBEV_SHIM_H

#include <ev.h>

typedef void (*green_ev_io_cb)(struct ev_loop *, ev_io *, int);
typedef void (*green_ev_timer_cb)(struct ev_loop *, ev_timer *, int);
typedef void (*green_ev_async_cb)(struct ev_loop *, ev_async *, int);
typedef void (*green_ev_signal_cb)(struct ev_loop *, ev_signal *, int);
typedef void (*green_ev_prepare_cb)(struct ev_loop *, ev_prepare *, int);

static inline void green_ev_io_init(ev_io *w, green_ev_io_cb cb, int fd, int events) {
    ev_io_init(w, cb, fd, events);
}
static inline void green_ev_io_set(ev_io *w, int fd, int events) { ev_io_set(w, fd, events); }
static inline void green_ev_timer_init(ev_timer *w, green_ev_timer_cb cb, double after, double repeat) {
    ev_timer_init(w, cb, after, repeat);
}
static inline void green_ev_timer_set(ev_timer *w, double after, double repeat) {
    ev_timer_set(w, after, repeat);
}
static inline void green_ev_async_init(ev_async *w, green_ev_async_cb cb) { ev_async_init(w, cb); }
static inline void green_ev_signal_init(ev_signal *w, green_ev_signal_cb cb, int signum) {
    ev_signal_init(w, cb, signum);
}
static inline void green_ev_prepare_init(ev_prepare *w, green_ev_prepare_cb cb) { ev_prepare_init(w, cb); }
static inline int green_ev_is_active(const void *w) { return ev_is_active((const ev_watcher *)w); }
static inline int green_ev_is_pending(const void *w) { return ev_is_pending((const ev_watcher *)w); }
static inline void green_ev_set_data(void *w, void *data) { ((ev_watcher *)w)->data = data; }
static inline void *green_ev_get_data(const void *w) { return ((const ev_watcher *)w)->data; }

#endif
