// The floor under a cross-core ping-pong: two plain threads, pinned to two
// CPUs, bounce one cache line N times (no runtime, no queue, no wake-up: each
// side spins on the other's counter). What a cross-hub round trip can never
// beat on this machine.
//
//     gcc -O2 -pthread Benchmarks/floor/cross_core.c -o /tmp/cross-core && /tmp/cross-core 2000000
//     workload=cross_core_floor roundtrips=2000000 ns_per_roundtrip=496.4 ns_per_msg=248.2
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) atomic_long ping;
static _Alignas(64) atomic_long pong;
static long rounds;

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *arg) {
    (void)arg;
    pin(1);
    for (long i = 1; i <= rounds; i++) {
        while (atomic_load_explicit(&ping, memory_order_acquire) != i) __builtin_ia32_pause();
        atomic_store_explicit(&pong, i, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 2000000;
    if (rounds <= 0) { fprintf(stderr, "usage: cross-core N\n"); return 64; }
    pin(0);
    pthread_t t;
    pthread_create(&t, NULL, answer, NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 1; i <= rounds; i++) {
        atomic_store_explicit(&ping, i, memory_order_release);
        while (atomic_load_explicit(&pong, memory_order_acquire) != i) __builtin_ia32_pause();
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("workload=cross_core_floor roundtrips=%ld ns_per_roundtrip=%.1f ns_per_msg=%.1f\n", rounds, ns / rounds, ns / rounds / 2);
    return 0;
}
