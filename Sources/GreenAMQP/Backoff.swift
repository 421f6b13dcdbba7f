/// How long to wait between reconnection attempts: `initial`, doubled after
/// each failure up to `maximum`; back to `initial` after a success.
public struct Backoff: Equatable, Sendable {
    public var initial: Duration
    public var maximum: Duration

    /// 100 ms doubling up to 5 s by default.
    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay after `failures` failed attempts in a row (0: the first try).
    public func delay(after failures: Int) -> Duration {
        var d = initial
        for _ in 0..<min(failures, 30) {
            d = d * 2
            if d >= maximum { return maximum }
        }
        return min(d, maximum)
    }
}
