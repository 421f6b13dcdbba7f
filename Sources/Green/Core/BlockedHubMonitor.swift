import Atomics
import CGreenContext
import Glibc
import Logging

/// A watchdog thread that reports, through swift-log, a greenlet that runs for
/// longer than `threshold` without yielding (and so stalls its whole hub).
/// Enable with `hub.startMonitor()` or `GREEN_MONITOR=1` in the environment.
///
/// It samples the hub's switch counter; between samples the hub only pays a
/// counter increment per switch and two stores per loop poll.
final class BlockedHubMonitor: @unchecked Sendable {
    let threshold: Duration
    private let switches: UnsafeMutablePointer<UInt64>
    private let polling = ManagedAtomic<Bool>(false)
    private let stopped = ManagedAtomic<Bool>(false)
    private let runningName: @Sendable () -> String
    private var thread: pthread_t?
    static let logger = Logger(label: "green.monitor")
    /// Reports made so far (for tests).
    let reports = ManagedAtomic<Int>(0)

    init(threshold: Duration, switches: UnsafeMutablePointer<UInt64>, runningName: @escaping @Sendable () -> String) {
        self.threshold = threshold
        self.switches = switches
        self.runningName = runningName
    }

    func enterPoll() { polling.store(true, ordering: .relaxed) }
    func leavePoll() { polling.store(false, ordering: .relaxed) }

    func start() {
        thread = startOSThread(stackSize: 256 << 10, detached: false) { self.watch() }
        if thread == nil { Self.logger.error("could not start the blocked-hub monitor thread") }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func watch() {
        let step = threshold / 4
        let stepNanos = max(1_000_000, Int(step.components.seconds) * 1_000_000_000 + Int(step.components.attoseconds / 1_000_000_000))
        var last = UnsafeAtomic<UInt64>(at: .init(OpaquePointer(switches))).load(ordering: .relaxed)
        var stalledFor = Duration.zero
        var reported = false
        while !stopped.load(ordering: .relaxed) {
            var ts = timespec(tv_sec: stepNanos / 1_000_000_000, tv_nsec: stepNanos % 1_000_000_000)
            nanosleep(&ts, nil)
            let now = UnsafeAtomic<UInt64>(at: .init(OpaquePointer(switches))).load(ordering: .relaxed)
            if now != last || polling.load(ordering: .relaxed) {
                last = now
                stalledFor = .zero
                reported = false
                continue
            }
            stalledFor += step
            if stalledFor >= threshold && !reported {
                reported = true
                reports.wrappingIncrement(ordering: .relaxed)
                Self.logger.warning("greenlet '\(runningName())' has run for over \(threshold) without yielding; its hub is blocked")
            }
        }
    }
}

extension Hub {
    /// Starts the blocked-hub watchdog for this hub (see `BlockedHubMonitor`).
    /// - Parameter threshold: how long a greenlet may run without yielding (default 100 ms).
    public func startMonitor(threshold: Duration = .milliseconds(100)) {
        guard monitor == nil else { return }
        let base = UnsafeMutableRawPointer(hot)
        let switches = (base + MemoryLayout<HotState>.offset(of: \HotState.switches)!)
            .assumingMemoryBound(to: UInt64.self)
        let m = BlockedHubMonitor(
            threshold: threshold,
            switches: switches,
            runningName: { [unowned(unsafe) self] in self.runningGreenletName }
        )
        monitor = m
        m.start()
    }

    /// Reports the monitor has made (0 without a monitor).
    public var monitorReportCount: Int { monitor?.reports.load(ordering: .relaxed) ?? 0 }

    /// Racy by design (read from the watchdog thread): the name in the running record.
    var runningGreenletName: String {
        let base = UnsafeMutableRawPointer(hot)
        let slot = (base + MemoryLayout<HotState>.offset(of: \HotState.running)!)
            .assumingMemoryBound(to: Optional<UnsafeMutableRawPointer>.self)
        let rec = UnsafeAtomic<UnsafeMutableRawPointer?>(at: .init(OpaquePointer(slot))).load(ordering: .relaxed)
        guard let rec else { return "?" }
        var buf = [CChar](repeating: 0, count: 64)
        let n = green_record_display_name(rec.assumingMemoryBound(to: green_record.self), &buf, buf.count)
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
