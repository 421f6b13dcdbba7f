/// Timing: a monotonic nanosecond clock for the workloads of both runtimes.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Nanoseconds on CLOCK_MONOTONIC: only differences between two readings mean anything.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Measures elapsed time from its creation.
struct Stopwatch {
    let start = monotonicNanos()

    /// Nanoseconds since the stopwatch started.
    var elapsedNanos: UInt64 { monotonicNanos() - start }

    /// Seconds since the stopwatch started.
    var elapsedSeconds: Double { Double(elapsedNanos) / 1e9 }
}

/// Nanoseconds of CPU time this process has used (all its threads): a cost that
/// does not count the time other processes of a loaded machine held the CPU.
func processCPUNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
