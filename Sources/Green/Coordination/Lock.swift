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
/// Thread-safety: thread-safe. The lock belongs to the hub that made it (its
/// `home`); from another hub or a plain thread, a blocking `acquire` waits
/// there in a proxy greenlet (while the caller waits on its own hub), and
/// `release`, a zero-timeout `acquire` and the properties ask for the answer
/// (see CrossHubOperations.swift). A caller killed while its acquire waits
/// across hubs either did not take the lock (the acquire throws) or took it
/// (the acquire returns `true` and the kill is thrown at its next blocking
/// call), never a lock taken and lost. A cross-hub `release` never throws an
/// error injected into the caller, so `withLock` releases even while its
/// greenlet is being killed.
public final class Lock: Acquirable, HubHomed {
    private let permits = Permits(1)
    /// The hub whose thread owns the lock's state.
    public let home: Hub

    /// An unlocked lock, belonging to the calling thread's hub (or the hub a
    /// `GreenRuntime.withPlacement` block places on).
    public init() { home = Hub.forNewGreenlet }

    /// Whether some greenlet holds the lock.
    /// - Note: from another hub, switches (it asks the lock's hub).
    public var isLocked: Bool {
        if awayFromHome { return readAtHome("Lock.isLocked") { [self] in permits.value == 0 } }
        return permits.value == 0
    }
    /// How many greenlets are blocked in `acquire` (proxies of callers on other hubs included).
    /// - Note: from another hub, switches (it asks the lock's hub).
    public var waiting: Int {
        if awayFromHome { return readAtHome("Lock.waiting") { [self] in permits.waiting } }
        return permits.waiting
    }

    /// Takes the lock, blocking while another greenlet holds it.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (the lock is not taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever` (also when
    ///   the only greenlet left would wait for a lock it holds itself).
    /// - Note: switches when the lock is held; from another hub, always.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        if awayFromHome { return try permits.acquireAway(at: home, timeout: timeout) }
        return try permits.acquire(timeout: timeout)
    }

    /// Releases the lock, handing it to the longest-waiting greenlet if any.
    /// - Throws: `CoordinationError.releasedTooOften` when it is not locked.
    /// - Note: never switches; from another hub, switches to wait for the
    ///   answer (and never throws an error injected into the caller).
    public func release() throws {
        if awayFromHome { return try home.callNonBlocking { [self] in try release() } }
        if permits.value > 0 { throw CoordinationError.releasedTooOften }
        permits.release()
    }
}
