// Stacks: mmap(MAP_NORESERVE) regions with one guard page at the low end.
// The guard is installed with MADV_GUARD_INSTALL (Linux 6.13+), which adds no
// kernel mapping, or with mprotect where the kernel refuses it (EINVAL), which
// costs one extra mapping per stack (vm.max_map_count bounds those).
#define _GNU_SOURCE
#include "green_context.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif

static size_t page_size_cache;
static int guard_mode; // 0 undecided

size_t green_page_size(void) {
    // Any thread: every thread computes the same value, so a relaxed atomic suffices.
    size_t page = __atomic_load_n(&page_size_cache, __ATOMIC_RELAXED);
    if (!page) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        __atomic_store_n(&page_size_cache, page, __ATOMIC_RELAXED);
    }
    return page;
}

int green_stack_guard_mode(void) { return guard_mode; }

int green_stack_alloc(size_t usable, green_stack *out) {
    size_t page = green_page_size();
    usable = (usable + page - 1) & ~(page - 1);
    if (usable < 4 * page) usable = 4 * page;
    size_t mapped = usable + page;
    void *base = mmap(NULL, mapped, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) return errno;
    (void)madvise(base, mapped, MADV_NOHUGEPAGE);
    int mode = __atomic_load_n(&guard_mode, __ATOMIC_RELAXED);
    if (mode != GREEN_GUARD_MPROTECT) {
        if (madvise(base, page, MADV_GUARD_INSTALL) == 0) {
            if (!mode) __atomic_store_n(&guard_mode, GREEN_GUARD_MADVISE, __ATOMIC_RELAXED);
        } else if (errno == EINVAL) {
            __atomic_store_n(&guard_mode, GREEN_GUARD_MPROTECT, __ATOMIC_RELAXED);
            mode = GREEN_GUARD_MPROTECT;
        } else {
            int e = errno;
            munmap(base, mapped);
            return e;
        }
    }
    if (mode == GREEN_GUARD_MPROTECT && mprotect(base, page, PROT_NONE) != 0) {
        int e = errno;
        munmap(base, mapped);
        return e;
    }
    out->base = base;
    out->mapped = mapped;
    out->guard = page;
    return 0;
}

#ifndef PIDFD_SELF
#define PIDFD_SELF -10000
#endif
// 0: untried, 1: process_madvise works for this process, -1: it does not.
static int vectored_madvise;

// One process_madvise(MADV_GUARD_INSTALL) over the first page of each of the
// slab's stacks. Returns 1 when every guard is in place; 0 to fall back to one
// madvise (or mprotect) per stack.
static int install_guards_vectored(char *base, size_t each, size_t page, size_t count) {
#if defined(SYS_process_madvise)
    if (__atomic_load_n(&vectored_madvise, __ATOMIC_RELAXED) < 0) return 0;
    if (__atomic_load_n(&guard_mode, __ATOMIC_RELAXED) == GREEN_GUARD_MPROTECT) return 0;
    struct iovec iov[64];
    for (size_t done = 0; done < count;) {
        size_t n = 0;
        for (; done + n < count && n < 64; n++) {
            iov[n].iov_base = base + (done + n) * each;
            iov[n].iov_len = page;
        }
        long r = syscall(SYS_process_madvise, PIDFD_SELF, iov, n, MADV_GUARD_INSTALL, 0);
        if (r != (long)(n * page)) {
            if (done == 0 && r < 0) {
                __atomic_store_n(&vectored_madvise, -1, __ATOMIC_RELAXED);
                return 0;  // nothing installed yet: the caller's loop does it all
            }
            // Partly done (not expected): finish one by one; a repeated
            // MADV_GUARD_INSTALL on a guarded page is harmless.
            return 0;
        }
        done += n;
    }
    __atomic_store_n(&vectored_madvise, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&guard_mode, GREEN_GUARD_MADVISE, __ATOMIC_RELAXED);
    return 1;
#else
    (void)base; (void)each; (void)page; (void)count;
    return 0;
#endif
}

int green_stack_alloc_slab(size_t usable, size_t count, green_stack *out) {
    size_t page = green_page_size();
    usable = (usable + page - 1) & ~(page - 1);
    if (usable < 4 * page) usable = 4 * page;
    size_t each = usable + page;
    size_t total = each * count;
    char *base = mmap(NULL, total, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) return errno;
    (void)madvise(base, total, MADV_NOHUGEPAGE);
    if (install_guards_vectored(base, each, page, count)) {
        for (size_t i = 0; i < count; i++) {
            out[i].base = base + i * each;
            out[i].mapped = each;
            out[i].guard = page;
        }
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        char *b = base + i * each;
        int mode = __atomic_load_n(&guard_mode, __ATOMIC_RELAXED);
        int ok = 0;
        if (mode != GREEN_GUARD_MPROTECT) {
            if (madvise(b, page, MADV_GUARD_INSTALL) == 0) {
                ok = 1;
                if (!mode) __atomic_store_n(&guard_mode, GREEN_GUARD_MADVISE, __ATOMIC_RELAXED);
            } else if (errno == EINVAL) {
                __atomic_store_n(&guard_mode, GREEN_GUARD_MPROTECT, __ATOMIC_RELAXED);
            } else {
                int e = errno;
                munmap(base, total);
                return e;
            }
        }
        if (!ok && mprotect(b, page, PROT_NONE) != 0) {
            int e = errno;
            munmap(base, total);
            return e;
        }
        out[i].base = b;
        out[i].mapped = each;
        out[i].guard = page;
    }
    return 0;
}

void green_stack_discard(const green_stack *s, size_t keep) {
    size_t page = green_page_size();
    keep = (keep + page - 1) & ~(page - 1);
    char *low = (char *)s->base + s->guard;
    char *high = (char *)s->base + s->mapped - keep;
    if (high > low) (void)madvise(low, (size_t)(high - low), MADV_DONTNEED);
}

void green_stack_discard_batch(const green_stack *s, size_t count, size_t keep) {
    size_t page = green_page_size();
    keep = (keep + page - 1) & ~(page - 1);
    size_t i = 0;
#if defined(SYS_process_madvise)
    while (i < count && __atomic_load_n(&vectored_madvise, __ATOMIC_RELAXED) >= 0) {
        struct iovec iov[64];
        size_t n = 0, first = i;
        for (; i < count && n < 64; i++) {
            char *low = (char *)s[i].base + s[i].guard;
            char *high = (char *)s[i].base + s[i].mapped - keep;
            if (high > low) { iov[n].iov_base = low; iov[n].iov_len = (size_t)(high - low); n++; }
        }
        if (n == 0) continue;
        if (syscall(SYS_process_madvise, PIDFD_SELF, iov, n, MADV_DONTNEED, 0) >= 0) {
            __atomic_store_n(&vectored_madvise, 1, __ATOMIC_RELAXED);
        } else {
            // An older kernel (no PIDFD_SELF, or not this advice): one call each from now on.
            __atomic_store_n(&vectored_madvise, -1, __ATOMIC_RELAXED);
            i = first;
        }
    }
#endif
    for (; i < count; i++) green_stack_discard(&s[i], keep);
}

void green_stack_free(const green_stack *s) { munmap(s->base, s->mapped); }

static int by_base(const void *a, const void *b) {
    const char *x = ((const green_stack *)a)->base, *y = ((const green_stack *)b)->base;
    return x < y ? -1 : x > y;
}

size_t green_stack_free_batch(green_stack *s, size_t count) {
    qsort(s, count, sizeof *s, by_base);
    size_t calls = 0;
    for (size_t i = 0; i < count;) {
        char *start = s[i].base;
        char *end = start + s[i].mapped;
        size_t j = i + 1;
        while (j < count && (char *)s[j].base == end) { end += s[j].mapped; j++; }
        munmap(start, (size_t)(end - start));
        calls++;
        i = j;
    }
    return calls;
}

size_t green_resident_bytes(void) {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    unsigned long size = 0, resident = 0;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
    return resident * green_page_size();
}
