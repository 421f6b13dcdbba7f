// green-peer-boost: the floor for green-bench's `switch` workload, a raw stack switch with
// boost.context (Debian's libboost-context-dev), so scripts/bench.sh can set Green's yield
// beside it in one run. Two contexts (the main one and a continuation) switch to each other
// N times each, as green-bench's two greenlets yield N times each; `yields` counts both:
//
//     green-peer-boost switch N
//     workload=switch runtime=boost_context yields=2000000 seconds=0.0100 ns_per_yield=5.0
//
// Build: g++ -O2 -std=c++17 switch.cpp -o green-peer-boost -lboost_context
// Usage errors exit with 64.
#include <boost/context/continuation.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <time.h>

namespace ctx = boost::context;

static unsigned long long monotonic_nanos() {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<unsigned long long>(now.tv_sec) * 1000000000ULL + now.tv_nsec;
}

// Four decimals; under a millisecond, four significant digits (green-bench's Report).
static std::string seconds_text(double seconds) {
    int decimals = 4;
    if (seconds > 0 && seconds < 0.001) decimals = 3 - static_cast<int>(std::floor(std::log10(seconds)));
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, seconds);
    return text;
}

static int usage(const char *why) {
    std::fprintf(stderr, "green-peer-boost: %s\nusage: green-peer-boost switch N\n", why);
    return 64;
}

int main(int argc, char **argv) {
    if (argc != 3) return usage("expected: switch N");
    if (std::strcmp(argv[1], "switch") != 0) return usage("only the switch workload");
    std::string digits;
    for (const char *c = argv[2]; *c; ++c)
        if (*c != '_' && *c != ',') digits += *c;
    char *end = nullptr;
    long long n = std::strtoll(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || n <= 0) return usage("N must be a positive integer");

    volatile long long resumed = 0;
    unsigned long long start = monotonic_nanos();
    ctx::continuation other = ctx::callcc([n, &resumed](ctx::continuation &&main) {
        for (long long i = 0; i < n; ++i) {
            ++resumed;
            main = main.resume();  // one switch to the main context
        }
        return std::move(main);
    });
    for (long long i = 1; i < n; ++i) other = other.resume();  // callcc made the first switch
    other = other.resume();  // the last: the continuation returns
    double seconds = (monotonic_nanos() - start) / 1e9;
    if (resumed != n || other) {
        std::fprintf(stderr, "green-peer-boost: the continuation ran %lld times, expected %lld\n",
                     static_cast<long long>(resumed), n);
        return 1;
    }
    std::printf("workload=switch runtime=boost_context yields=%lld seconds=%s ns_per_yield=%.1f\n", 2 * n,
                seconds_text(seconds).c_str(), seconds * 1e9 / (2.0 * n));
    return 0;
}
