import Atomics
import Green
import Logging

/// Where messages to actors that are gone (or dropped by a full mailbox) end:
/// counted, and logged through swift-log at debug level (the first one of
/// each actor at warning level).
public enum DeadLetters {
    private static let counter = ManagedAtomic<Int>(0)
    static let logger = Logger(label: "green.deadletters")

    /// Dead letters recorded in this process so far, by every hub. Any thread may read it.
    public static var count: Int { counter.load(ordering: .relaxed) }

    /// Dead letters recorded on the calling thread's hub so far (a send counts
    /// on the sender's hub): what a test or one part of a program can check
    /// while other hubs run beside it. Call it from the hub's own thread. Does not switch.
    public static var countOnThisHub: Int { HubCount.current.value }

    /// The per-hub count, kept in `Hub.local`.
    final class HubCount {
        var value = 0
        static var current: HubCount { Hub.current.local(HubCount.self) { HubCount() } }
    }

    /// Records a message that could not be delivered, with the reason (for
    /// libraries that deliver to actors from elsewhere: GreenRemote's poison
    /// messages). Counted and logged like every dead letter.
    /// - Note: does not switch. Call it on a hub's thread (it counts per hub).
    public static func post(to actor: String, _ message: Any, why: String) {
        record(to: actor, message, why: why)
    }

    @usableFromInline
    static func record(to actor: String, _ message: Any, why: String) {
        let n = counter.wrappingIncrementThenLoad(ordering: .relaxed)
        HubCount.current.value += 1
        logger.debug("dead letter #\(n) to '\(actor)' (\(why)): \(message)")
    }
}
