/// A mutual-exclusion lock for greenlets: gevent's `Lock`.
///
/// Not re-entrant (a holder that acquires again blocks; see `RLock`), and not
/// owned: any greenlet may release it, as with Python's `Lock`. Waiters get
/// the lock in the order they asked; a greenlet killed or timed out while
/// waiting does not take it.
///
/// ```swift
/// let lock = Lock()
/// try lock.withLock { try updateSharedState() }
/// ```
///
/// Thread-safety: for the greenlets of one hub (see Waiters.swift for where
/// cross-thread wake-ups would go).
public final class Lock: Acquirable {
    private let permits = Permits(1)

    /// An unlocked lock.
    public init() {}

    /// Whether some greenlet holds the lock.
    public var isLocked: Bool { permits.value == 0 }
    /// How many greenlets are blocked in `acquire`.
    public var waiting: Int { permits.waiting }

    /// Takes the lock, blocking while another greenlet holds it.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (the lock is not taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever` (also when
    ///   the only greenlet left would wait for a lock it holds itself).
    /// - Note: switches when the lock is held.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        try permits.acquire(timeout: timeout)
    }

    /// Releases the lock, handing it to the longest-waiting greenlet if any.
    /// - Throws: `CoordinationError.releasedTooOften` when it is not locked.
    /// - Note: never switches.
    public func release() throws {
        if permits.value > 0 { throw CoordinationError.releasedTooOften }
        permits.release()
    }
}
