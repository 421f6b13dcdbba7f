// Stacks: mmap(MAP_NORESERVE) regions with one guard page at the low end.
// The guard is installed with MADV_GUARD_INSTALL (Linux 6.13+), which adds no
// kernel mapping, or with mprotect where the kernel refuses it (EINVAL), which
// costs one extra mapping per stack (vm.max_map_count bounds those).
#include "green_context.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

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

void green_stack_free(const green_stack *s) { munmap(s->base, s->mapped); }

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
