import Glibc
import Green

/// The deadline of one `TLSStream` call, fixed when the call first has to
/// wait: a call that never waits never reads the clock.
///
/// Instants are `CLOCK_MONOTONIC` readings kept as a `Duration` (a frozen,
/// trivial type), not `ContinuousClock.Instant`s: the standard library's
/// instant is resilient, so every copy, optional check and subtraction of
/// one goes through value witnesses and runtime metadata lookups, about a
/// thousand instructions per echo round trip on the stream's hot path.
struct CallDeadline {
    /// The call's `timeout:` (nil: none).
    let timeout: Duration?
    private var isFixed = false
    private var instant: Duration?

    init(_ timeout: Duration?) { self.timeout = timeout }

    /// The monotonic instant the call must end by (nil: never), read from
    /// the clock on the first call.
    /// - Throws: `GreenError.negativeTimeout` for a negative timeout.
    @inline(__always)
    mutating func fix() throws -> Duration? {
        if !isFixed {
            if let timeout, timeout < .zero { throw GreenError.negativeTimeout(timeout) }
            instant = timeout.map { CallDeadline.now() + $0 }
            isFixed = true
        }
        return instant
    }

    /// `CLOCK_MONOTONIC` now, as time since the clock's origin.
    static func now() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }
}
