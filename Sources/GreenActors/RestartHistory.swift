/// A supervisor's recent restarts, oldest first, for its restart intensity:
/// appending one and dropping those older than the window are amortized
/// constant time, and it never holds more than `cap` entries, so a restart
/// costs the same however many came before (OTP's supervisor scans its whole
/// history at every restart, so it slows as the history grows).
struct RestartHistory {
    private var times: [ContinuousClock.Instant] = []
    private var head = 0
    /// The most entries kept: `maxRestarts + 1` is all the intensity check needs.
    let cap: Int

    init(cap: Int) { self.cap = max(1, cap) }

    /// Restarts held (those within the window, as of the last `note`).
    var count: Int { times.count - head }

    /// Records a restart at `now`, forgets those before `now - window`.
    /// - Returns: how many restarts fall within the window, this one included
    ///   (at most `cap`).
    mutating func note(_ now: ContinuousClock.Instant, window: Duration) -> Int {
        times.append(now)
        let oldest = now - window
        while head < times.count && (times[head] < oldest || times.count - head > cap) { head += 1 }
        if head >= 64 && head * 2 >= times.count {
            times.removeFirst(head)
            head = 0
        }
        return times.count - head
    }
}
