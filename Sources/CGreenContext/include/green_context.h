// CGreenContext: the only unsafe machinery of Green.
//
// - green_swap (assembly): saves the callee-saved registers, MXCSR and the x87
//   control word on the current stack, stores the stack pointer, and resumes
//   another saved stack. Contract: x86_64 SysV and aarch64 AAPCS64 only.
// - green_stack_*: mmap'd stacks with a guard page at the low end.
// - green_record: what a greenlet's context is to the switch: its saved stack
//   pointer, its own Swift exclusivity access set, and what the stack-overflow
//   handler needs to name it.
//
// Invariants (relied on by Sources/Green/Core/Switch.swift):
// - A record is switched *to* only when it is suspended (its sp was saved by a
//   green_swap, or made by green_context_make and never run).
// - green_current is the running record of this thread once a hub exists.
// - Exclusivity: the access set of the thread is saved into `from` and the one
//   of `to` restored on every switch (swift_task_exit/enterThreadLocalContext),
//   so each greenlet keeps its own. A record whose saved set is non-empty
//   switched away inside a Swift exclusive access: a bug the debug build traps.
#ifndef GREEN_CONTEXT_H
#define GREEN_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct green_record {
    void *sp;                 // saved stack pointer while suspended
    void *access_state[2];    // this greenlet's Swift exclusivity state (zeroed at start)
    void *guard_low;          // guard page range of its stack (NULL for the root)
    void *guard_high;         // its end: the lowest usable address of the stack
                              // (for a root, with guard_low NULL: its thread's stack bottom)
    size_t stack_size;        // usable bytes
    void *owner;              // the Swift object, unretained
    // Hot scheduling fields, kept here (not in the Swift object) so the
    // switch path reads and writes them without Swift exclusivity checks.
    uint8_t state;            // AnyGreenlet.State raw value
    uint8_t wake_reason;      // Hub.WakeReason raw value
    uint8_t has_pending_error;// an injected error waits to be thrown
    void *hub_hot;            // the hub's hot scheduler state (Hub.HotState), unretained
    // The hub's list of live greenlets (those holding their self-retain), so a
    // hub that ends can kill and unwind every one of them. Hub-thread only.
    struct green_record *live_prev;
    struct green_record *live_next;
    // Sanitizer fiber state (unused unless built with TSan or ASan).
    void *tsan_fiber;         // __tsan_create_fiber's handle (the thread's own for a root)
    void *asan_fake_stack;    // __sanitizer_start_switch_fiber's save slot
    // Its name for the overflow report: `name` when given (a NUL-terminated
    // malloc'd copy owned by the record's Swift object, replaced before the old
    // one is freed, so a signal handler on its thread reads one or the other),
    // else "Greenlet-<number>" (formatted only when a report needs it, so a
    // spawn does not pay for a name nobody reads).
    uint64_t number;
    char *name;
    // 120 bytes on 64-bit: one 128-byte malloc chunk (a parked greenlet's bytes count).
} green_record;

// Writes the record's display name (see `name`, `number`) into buf, NUL-terminated,
// truncating to fit; async-signal-safe. Returns the length written.
size_t green_record_display_name(const green_record *rec, char *buf, size_t size);

// The running record of this thread (NULL before the thread's hub exists).
extern __thread green_record *green_current __attribute__((tls_model("initial-exec")));

// From libswiftCore: the swap Swift concurrency does per task.
void swift_task_enterThreadLocalContext(char *state);
void swift_task_exitThreadLocalContext(char *state);

// Assembly. Saves the current context to *save_sp and resumes target_sp; returns,
// when this context is resumed, the `arg` the resumer passed.
void *green_swap(void **save_sp, void *target_sp, void *arg);

// Prepares a fresh context at the top of a stack: the first switch to it calls
// entry(arg, data) on that stack, where arg is the value passed to green_swap.
// entry must never return. Returns the initial stack pointer.
typedef void (*green_entry_fn)(void *arg, void *data);
void *green_context_make(void *stack_top, green_entry_fn entry, void *data);

// The hub a greenlet constructed on this thread will belong to, when a runtime
// places it on another hub (NULL: the thread's own hub). Set only around a
// constructor call by GreenRuntime's placement.
extern __thread void *green_placement_hub __attribute__((tls_model("initial-exec")));
static inline void *green_get_placement_hub(void) { return green_placement_hub; }
static inline void green_set_placement_hub(void *hub) { green_placement_hub = hub; }

// The running record of this thread, for Swift (which cannot import __thread).
static inline green_record *green_get_current(void) { return green_current; }

// The Swift task running on this thread, unretained, or NULL: Swift's own
// accessor, called directly (a thread-local load), so `awaitAsync` can refuse
// to run inside a Task without `withUnsafeCurrentTask`'s closure and optional
// (about 150 instructions a call). Only compared with NULL.
void *swift_task_getCurrent(void) __attribute__((swiftcall));
static inline int green_inside_swift_task(void) { return swift_task_getCurrent() != 0; }
static inline void green_set_current(green_record *rec) { green_current = rec; }

// ---- Sanitizers ----
// Non-zero when context.c was built with ThreadSanitizer or AddressSanitizer
// (`swift build --sanitize=thread|address` compiles the C targets with it).
// Then every switch goes through green_switch_annotated, which tells the
// sanitizer about the stack switch (__tsan_switch_to_fiber,
// __sanitizer_start/finish_switch_fiber); otherwise the switch pays one load
// and a predicted branch for this check.
extern const int green_sanitizer_fibers;
void *green_switch_annotated(green_record *from, green_record *to, void *arg, int from_ends);
// A root record (a thread's own stack): its fiber is the thread's current one.
void green_fiber_init_root(green_record *rec);
// A fresh context about to be entered for the first time: make its fiber.
void green_fiber_create(green_record *rec);
// A record that will never run again: free its fiber.
void green_fiber_destroy(green_record *rec);
// Called first thing on a fresh context's stack (finishes ASan's switch).
void green_fiber_entered(void);

// ---- The exclusivity swap's fast path ----
// The address of the head of this thread's Swift access list (the first word of
// the runtime's per-thread exclusivity context), or NULL when it is unknown.
// Known only when the Swift runtime is linked statically (its context getter is
// hidden in libswiftCore.so) and a self-test at hub creation confirmed the
// layout: a tracked swift_beginAccess must make the word point at its buffer and
// swift_endAccess restore it. Anything else leaves it NULL: every switch then
// makes both runtime calls, as before.
extern __thread void **green_access_head __attribute__((tls_model("initial-exec")));
// Finds and checks the calling thread's access-list head (once per thread; cheap
// to call again). Returns 1 when the fast path is on for this thread.
int green_access_head_init(void);

// True when exit(from) and enter(to) would change nothing: the thread's access
// list is empty and neither record holds a saved set. In that case the runtime's
// exitThreadLocalContext returns at once (its "case 1": no accesses before or
// after) and so does enterThreadLocalContext (a record with no saved set entering
// a thread with none), so skipping both is exactly equivalent.
static inline int green_access_swap_is_noop(const green_record *from, const green_record *to) {
    void **head = green_access_head;
    return head != NULL && *head == NULL &&
           ((uintptr_t)from->access_state[0] | (uintptr_t)to->access_state[0]) == 0;
}

// Switches from `from` (the running record) to `to`, swapping exclusivity sets.
// Returns the arg given by whoever later resumes `from`.
static inline void *green_switch(green_record *from, green_record *to, void *arg) {
    if (__builtin_expect(green_sanitizer_fibers, 0)) return green_switch_annotated(from, to, arg, 0);
    if (!__builtin_expect(green_access_swap_is_noop(from, to), 1)) {
        swift_task_exitThreadLocalContext((char *)from->access_state);
        swift_task_enterThreadLocalContext((char *)to->access_state);
    }
    green_current = to;
    return green_swap(&from->sp, to->sp, arg);
}

// True when `rec` holds saved Swift accesses, i.e. it is suspended (or about to
// be) inside an exclusive access. Only meaningful after the exit half of a switch.
static inline int green_record_in_access(const green_record *rec) {
    return rec->access_state[0] != NULL;
}

// Switches like green_switch, but traps with a message naming `from` if it is in
// the middle of a Swift exclusive access (used by debug builds).
void *green_switch_checked(green_record *from, green_record *to, void *arg);
// The last switch away from a greenlet that has finished (its stack is freed later).
void green_switch_final(green_record *from, green_record *to);

// ---- Stacks ----

typedef struct green_stack {
    void *base;        // lowest address of the mapping (the guard page)
    size_t mapped;     // total bytes mapped, guard included
    size_t guard;      // guard bytes at the low end
} green_stack;

enum green_guard_mode {
    GREEN_GUARD_MADVISE = 1,   // MADV_GUARD_INSTALL: no extra mapping
    GREEN_GUARD_MPROTECT = 2,  // fallback: one more kernel mapping per stack
};

// Maps a stack of `usable` bytes (rounded up to pages) plus a guard page.
// Returns 0 or an errno value.
int green_stack_alloc(size_t usable, green_stack *out);
// Maps `count` stacks of `usable` bytes with one mmap and one madvise
// (a slab), then installs each stack's guard page. Each stack can later be
// freed on its own. Returns 0 or an errno value (nothing is mapped then).
int green_stack_alloc_slab(size_t usable, size_t count, green_stack *out);
// Gives the pages of [base+guard, top - keep) back to the kernel.
void green_stack_discard(const green_stack *s, size_t keep);
// The same for `count` stacks with one process_madvise(MADV_DONTNEED) call over
// a vector of ranges (Linux 6.13+ takes any advice for the calling process),
// or one madvise per stack where the kernel refuses it.
void green_stack_discard_batch(const green_stack *s, size_t count, size_t keep);
void green_stack_free(const green_stack *s);
// Unmaps `count` stacks (reordering the array by address): neighbours from one
// slab go in a single munmap. Returns the number of munmap calls made.
size_t green_stack_free_batch(green_stack *s, size_t count);
// Which guard mechanism this process uses (decided on first allocation).
int green_stack_guard_mode(void);
static inline void *green_stack_top(const green_stack *s) { return (char *)s->base + s->mapped; }

// ---- Stack overflow reporting ----

// Installs (once per process) a SIGSEGV/SIGBUS handler that names the greenlet
// whose guard page was hit, and chains to the previous handler otherwise.
void green_overflow_handler_install(void);
// Gives the calling thread an alternate signal stack (once per thread).
int green_thread_altstack_install(void);
// Takes back the alternate signal stack green_thread_altstack_install gave the
// calling thread (none if the thread had one already), and frees it. Called by
// a hub whose thread ends; not while a signal handler runs on that stack.
void green_thread_altstack_remove(void);

// ---- Misc ----
// A pause for spin loops.
static inline void green_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
// CLOCK_MONOTONIC in nanoseconds (vDSO: no syscall).
uint64_t green_monotonic_nanos(void);
// The page size, cached.
size_t green_page_size(void);
// Resident set size of this process in bytes (from /proc/self/statm), or 0.
size_t green_resident_bytes(void);

#ifdef __cplusplus
}
#endif
#endif
