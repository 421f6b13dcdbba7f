// Building fresh contexts, and the checked switch. See include/green_context.h.
#include "green_context.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__thread green_record *green_current __attribute__((tls_model("initial-exec"))) = NULL;
__thread void *green_placement_hub __attribute__((tls_model("initial-exec"))) = NULL;

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

static void report_access_violation(const green_record *rec) {
    char buf[256];
    int n = snprintf(buf, sizeof buf,
        "Green: greenlet '%s' switched away in the middle of a Swift exclusive access "
        "(a mutating call or inout on shared storage spans a blocking call). "
        "Keep blocking calls out of modify/inout scopes.\n",
        rec->name[0] ? rec->name : "?");
    if (n > 0) (void)!write(2, buf, (size_t)n);
    abort();
}

void *green_switch_checked(green_record *from, green_record *to, void *arg) {
    swift_task_exitThreadLocalContext((char *)from->access_state);
    if (from->access_state[0] != NULL) report_access_violation(from);
    swift_task_enterThreadLocalContext((char *)to->access_state);
    green_current = to;
    return green_swap(&from->sp, to->sp, arg);
}

uint64_t green_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
