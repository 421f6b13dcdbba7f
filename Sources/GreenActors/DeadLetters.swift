import Atomics
import Logging

/// Where messages to actors that are gone (or dropped by a full mailbox) end:
/// counted, and logged through swift-log at debug level (the first one of
/// each actor at warning level).
public enum DeadLetters {
    private static let counter = ManagedAtomic<Int>(0)
    static let logger = Logger(label: "green.deadletters")

    /// Dead letters recorded in this process so far.
    public static var count: Int { counter.load(ordering: .relaxed) }

    @usableFromInline
    static func record(to actor: String, _ message: Any, why: String) {
        let n = counter.wrappingIncrementThenLoad(ordering: .relaxed)
        logger.debug("dead letter #\(n) to '\(actor)' (\(why)): \(message)")
    }
}
