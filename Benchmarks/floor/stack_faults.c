// The floor under a stackful spawn-and-park: a parked green thread holds at
// least the top page of its own stack, and a fresh page costs a page fault.
// This maps stacks as Green's pool does (slabs of 64, 256 KiB usable + a 4 KiB
// guard each, MAP_NORESERVE, MADV_NOHUGEPAGE) and writes one word near the top
// of each: no runtime, no scheduler, only the kernel's price of the page (and
// of a page-table page every 2 MiB, that is every 7.9 stacks).
//
//   touch     one page fault per stack (what a greenlet's first run does)
//   populate  the slab's 64 top pages in one process_madvise(MADV_POPULATE_WRITE)
//             (Linux 6.13+ for a vector of any advice), then the same writes
//   heap      the same number of pages, one after another in one mapping
//             (what a heap that hands out small objects faults: no page tables
//             to fill per stack)
//
// An optional third argument sets the usable KiB of a stack (default 256, as
// Green.defaultStackSize): smaller stacks share a page-table page among more.
//
//     gcc -O2 Benchmarks/floor/stack_faults.c -o /tmp/stack-faults && taskset -c 1 /tmp/stack-faults touch 100000
//     workload=stack_faults_floor mode=touch stacks=100000 stack_kib=256 ns_per_stack=1887.9
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef PIDFD_SELF
#define PIDFD_SELF -10000
#endif

enum { slab = 64, page = 4096 };
static size_t each;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: stack_faults touch|populate|heap COUNT [STACK_KIB]\n");
        return 64;
    }
    const char *mode = argv[1];
    long count = atol(argv[2]);
    long kib = argc == 4 ? atol(argv[3]) : 256;
    if (count <= 0 || kib < 4 || kib % 4 != 0) return 64;
    each = (size_t)kib * 1024 + page;
    int populate = strcmp(mode, "populate") == 0, heap = strcmp(mode, "heap") == 0;
    if (!populate && !heap && strcmp(mode, "touch") != 0) return 64;
    double start = now();
    if (heap) {
        size_t len = (size_t)count * page;
        char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (b == MAP_FAILED) return perror("mmap"), 1;
        (void)madvise(b, len, MADV_NOHUGEPAGE);
        for (long i = 0; i < count; i++) b[(size_t)i * page] = 1;
    } else {
        for (long done = 0; done < count; done += slab) {
            size_t len = (size_t)slab * each;
            char *b = mmap(NULL, len, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
            if (b == MAP_FAILED) return perror("mmap"), 1;
            (void)madvise(b, len, MADV_NOHUGEPAGE);
            if (populate) {
                struct iovec iov[slab];
                for (int i = 0; i < slab; i++) {
                    iov[i].iov_base = b + (size_t)(i + 1) * each - page;
                    iov[i].iov_len = page;
                }
                if (syscall(SYS_process_madvise, PIDFD_SELF, iov, slab, MADV_POPULATE_WRITE, 0) < 0)
                    return perror("process_madvise(MADV_POPULATE_WRITE)"), 1;
            }
            for (int i = 0; i < slab; i++) b[(size_t)(i + 1) * each - 64] = 1;
        }
    }
    double seconds = now() - start;
    printf("workload=stack_faults_floor mode=%s stacks=%ld stack_kib=%ld ns_per_stack=%.1f\n", mode, count, kib,
           seconds * 1e9 / (double)count);
    return 0;
}
