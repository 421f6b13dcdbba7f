/// A re-entrant lock: the greenlet holding it may acquire it again, and must
/// release it as many times (gevent's `RLock`).
///
/// Waiters get the lock in the order they asked; a greenlet killed or timed out
/// while waiting does not take it. Only the holder may release it.
///
/// ```swift
/// let lock = RLock()
/// try lock.withLock { try lock.withLock { ... } }   // no deadlock
/// ```
///
/// Thread-safety: for the greenlets of one hub (see Waiters.swift for where
/// cross-thread wake-ups would go).
public final class RLock: Acquirable {
    private let permits = Permits(1)
    private var owner: AnyGreenlet?
    private var depth = 0

    /// An unlocked re-entrant lock.
    public init() {}

    /// Whether some greenlet holds the lock.
    public var isLocked: Bool { permits.value == 0 }
    /// Whether the running greenlet holds the lock.
    public var isOwnedByCurrent: Bool { owner != nil && owner === currentGreenlet }
    /// How many times the holder has acquired it without releasing (0 when free).
    public var recursionDepth: Int { depth }

    /// Takes the lock, or takes it once more when the caller holds it already.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (the lock is not taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when another greenlet holds it.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        let me = currentGreenlet
        if owner === me {
            depth += 1
            return true
        }
        guard try permits.acquire(timeout: timeout) else { return false }
        owner = me
        depth = 1
        return true
    }

    /// Releases one level; the last release frees the lock for the
    /// longest-waiting greenlet.
    /// - Throws: `CoordinationError.notOwner` when the caller does not hold it.
    /// - Note: never switches.
    public func release() throws {
        guard let owner, owner === currentGreenlet else { throw CoordinationError.notOwner }
        depth -= 1
        if depth == 0 {
            self.owner = nil
            permits.release()
        }
    }
}
