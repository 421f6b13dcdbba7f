// Building fresh contexts, and the checked switch. See include/green_context.h.
#define _GNU_SOURCE
#include "green_context.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define GREEN_TSAN 1
#  endif
#  if __has_feature(address_sanitizer)
#    define GREEN_ASAN 1
#  endif
#endif
#if defined(__SANITIZE_THREAD__)
#  define GREEN_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define GREEN_ASAN 1
#endif
#ifndef GREEN_TSAN
#  define GREEN_TSAN 0
#endif
#ifndef GREEN_ASAN
#  define GREEN_ASAN 0
#endif

#if GREEN_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_set_fiber_name(void *fiber, const char *name);
#endif
#if GREEN_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);
#endif

const int green_sanitizer_fibers = GREEN_TSAN || GREEN_ASAN;

__thread green_record *green_current __attribute__((tls_model("initial-exec"))) = NULL;
__thread void *green_placement_hub __attribute__((tls_model("initial-exec"))) = NULL;
__thread void **green_access_head __attribute__((tls_model("initial-exec"))) = NULL;

// libswiftCore's per-thread exclusivity context (swift::runtime::SwiftTLSContext::get()).
// Weak: it is hidden in the shared runtime, so a dynamically linked program sees
// NULL here and keeps the two runtime calls per switch.
extern void *_ZN5swift7runtime15SwiftTLSContext3getEv(void) __attribute__((weak));
// From libswiftCore (exported): a dynamic access. `buffer` is the runtime's
// three-word ValueBuffer; flags 0x21 = modify | tracking.
void swift_beginAccess(void *pointer, void *buffer, size_t flags, void *pc);
void swift_endAccess(void *buffer);

int green_access_head_init(void) {
    if (green_access_head != NULL) return 1;
    if (_ZN5swift7runtime15SwiftTLSContext3getEv == NULL) return 0;
    void **head = (void **)_ZN5swift7runtime15SwiftTLSContext3getEv();
    if (head == NULL) return 0;
    // The self-test: the layout this relies on is the runtime's, not ours.
    static char probe;
    void *buffer[3] = {0, 0, 0};
    void *before = *head;
    swift_beginAccess(&probe, buffer, 0x21, NULL);
    int tracked = (*head == (void *)buffer);
    if (buffer[0] != NULL) swift_endAccess(buffer);
    if (!tracked || *head != before) return 0;
    green_access_head = head;
    return 1;
}

extern void green_entry_trampoline(void);

void *green_context_make(void *stack_top, green_entry_fn entry, void *data) {
    uintptr_t top = (uintptr_t)stack_top & ~(uintptr_t)15;
#if defined(__x86_64__)
    // Layout green_swap pops: [fp state][r15][r14][r13][r12][rbx][rbp][ret]
    // After `ret`, rsp == top (16-aligned) so the trampoline's call is aligned.
    uint64_t *sp = (uint64_t *)(top - 64);
    uint32_t mxcsr = 0x1F80;
    uint16_t fpucw = 0x037F;
    memset(sp, 0, 64);
    memcpy((char *)sp, &mxcsr, 4);
    memcpy((char *)sp + 4, &fpucw, 2);
    sp[3] = (uint64_t)data;                    // r13
    sp[4] = (uint64_t)entry;                   // r12
    sp[6] = 0;                                 // rbp
    sp[7] = (uint64_t)&green_entry_trampoline; // return address
    return sp;
#elif defined(__aarch64__)
    uint64_t *sp = (uint64_t *)(top - 176);
    memset(sp, 0, 176);
    sp[0] = (uint64_t)entry;                   // x19
    sp[1] = (uint64_t)data;                    // x20
    sp[10] = 0;                                // x29
    sp[11] = (uint64_t)&green_entry_trampoline;// x30
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    sp[20] = fpcr;
    return sp;
#else
#error "unsupported architecture"
#endif
}

size_t green_record_display_name(const green_record *rec, char *buf, size_t size) {
    if (size == 0) return 0;
    size_t n = 0;
    int given = rec->name != NULL && rec->name[0] != 0;
    if (given || rec->number == 0) {
        const char *src = given ? rec->name : "?";
        while (src[n] != 0 && n + 1 < size) { buf[n] = src[n]; n++; }
        buf[n] = 0;
        return n;
    }
    static const char prefix[] = "Greenlet-";
    for (size_t i = 0; prefix[i] != 0 && n + 1 < size; i++) buf[n++] = prefix[i];
    char digits[24];
    size_t d = 0;
    uint64_t v = rec->number;
    do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v != 0);
    while (d > 0 && n + 1 < size) buf[n++] = digits[--d];
    buf[n] = 0;
    return n;
}

static void report_access_violation(const green_record *rec) {
    char name[64];
    green_record_display_name(rec, name, sizeof name);
    char buf[256];
    int n = snprintf(buf, sizeof buf,
        "Green: greenlet '%s' switched away in the middle of a Swift exclusive access "
        "(a mutating call or inout on shared storage spans a blocking call). "
        "Keep blocking calls out of modify/inout scopes.\n",
        name);
    if (n > 0) (void)!write(2, buf, (size_t)n);
    abort();
}

void *green_switch_checked(green_record *from, green_record *to, void *arg) {
    swift_task_exitThreadLocalContext((char *)from->access_state);
    if (from->access_state[0] != NULL) report_access_violation(from);
    if (green_sanitizer_fibers) {
        // Re-enter our own set: green_switch_annotated swaps it again.
        swift_task_enterThreadLocalContext((char *)from->access_state);
        return green_switch_annotated(from, to, arg, 0);
    }
    swift_task_enterThreadLocalContext((char *)to->access_state);
    green_current = to;
    return green_swap(&from->sp, to->sp, arg);
}

void green_switch_final(green_record *from, green_record *to) {
    if (green_sanitizer_fibers) {
        (void)green_switch_annotated(from, to, NULL, 1);
        return;
    }
    (void)green_switch(from, to, NULL);
}

// The sanitizer-annotated switch. Invariants: every record has a TSan fiber
// before it is first switched to (green_fiber_create / green_fiber_init_root);
// ASan is told the target stack's bounds before the swap and the switch is
// finished on the resumed side (after green_swap returns, or in
// green_fiber_entered on a fresh stack); a greenlet that ends passes
// from_ends so ASan drops its fake stack.
void *green_switch_annotated(green_record *from, green_record *to, void *arg, int from_ends) {
    (void)from_ends;
    swift_task_exitThreadLocalContext((char *)from->access_state);
    swift_task_enterThreadLocalContext((char *)to->access_state);
    green_current = to;
#if GREEN_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
#if GREEN_ASAN
    __sanitizer_start_switch_fiber(from_ends ? NULL : &from->asan_fake_stack, to->guard_high, to->stack_size);
#endif
    void *r = green_swap(&from->sp, to->sp, arg);
#if GREEN_ASAN
    __sanitizer_finish_switch_fiber(from->asan_fake_stack, NULL, NULL);
#endif
    return r;
}

void green_fiber_init_root(green_record *rec) {
#if GREEN_TSAN
    rec->tsan_fiber = __tsan_get_current_fiber();
#endif
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr = NULL;
        size_t size = 0;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            rec->guard_high = addr; // guard_low stays NULL: no guard to report
            if (rec->stack_size == 0) rec->stack_size = size;
        }
        pthread_attr_destroy(&attr);
    }
}

void green_fiber_create(green_record *rec) {
#if GREEN_TSAN
    if (rec->tsan_fiber == NULL) {
        rec->tsan_fiber = __tsan_create_fiber(0);
        char name[64];
        green_record_display_name(rec, name, sizeof name);
        __tsan_set_fiber_name(rec->tsan_fiber, name);
    }
#else
    (void)rec;
#endif
}

void green_fiber_destroy(green_record *rec) {
#if GREEN_TSAN
    if (rec->tsan_fiber != NULL && rec->guard_low != NULL) __tsan_destroy_fiber(rec->tsan_fiber);
    rec->tsan_fiber = NULL;
#else
    (void)rec;
#endif
}

void green_fiber_entered(void) {
#if GREEN_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

uint64_t green_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
