// Stack overflow reporting: a SIGSEGV/SIGBUS handler on an alternate signal
// stack. When the faulting address lies in the running greenlet's guard page,
// it writes a message naming the greenlet and its stack size, then lets the
// default action end the process. Any other fault goes to the handler that was
// installed before ours (Swift's backtracer, for one).
#include "green_context.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

static struct sigaction previous_segv, previous_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static __thread int altstack_installed;
// The stack this thread was given by green_thread_altstack_install (NULL: none, or not ours).
static __thread void *altstack_mem;

static void chain(int sig, siginfo_t *info, void *uctx) {
    struct sigaction *prev = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        prev->sa_sigaction(sig, info, uctx);
        return;
    }
    if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN && prev->sa_handler) {
        prev->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL); // returning re-runs the faulting instruction: default action
}

static void on_fault(int sig, siginfo_t *info, void *uctx) {
    green_record *rec = green_current;
    char *addr = (char *)info->si_addr;
    if (rec && rec->guard_low && addr >= (char *)rec->guard_low - 65536 &&
        addr < (char *)rec->guard_high) {
        char name[64];
        green_record_display_name(rec, name, sizeof name);
        char buf[320];
        int n = snprintf(buf, sizeof buf,
            "Green: stack overflow in greenlet '%s' (stack size %zu KiB). "
            "Give it a larger stack with spawn(stackSize:) or set Green.defaultStackSize.\n",
            name, rec->stack_size / 1024);
        if (n > 0) (void)!write(2, buf, (size_t)n);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        return;
    }
    chain(sig, info, uctx);
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    sigaction(SIGBUS, &sa, &previous_bus);
}

void green_overflow_handler_install(void) { pthread_once(&install_once, install); }

int green_thread_altstack_install(void) {
    if (altstack_installed) return 0;
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE) && current.ss_size >= 16384) {
        altstack_installed = 1; // the thread already has one (Swift's runtime may install it)
        return 0;
    }
    size_t size = 65536;
    void *mem = malloc(size);
    if (!mem) return -1;
    stack_t ss = { .ss_sp = mem, .ss_size = size, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) { free(mem); return -1; }
    altstack_installed = 1;
    altstack_mem = mem;
    return 0;
}

void green_thread_altstack_remove(void) {
    if (!altstack_mem) return;
    stack_t current;
    // Only the stack we installed, and not while running on it.
    if (sigaltstack(NULL, &current) != 0 || current.ss_sp != altstack_mem || (current.ss_flags & SS_ONSTACK)) return;
    stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
    if (sigaltstack(&off, NULL) != 0) return;
    free(altstack_mem);
    altstack_mem = NULL;
    altstack_installed = 0;
}
