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
/// Thread-safety: thread-safe. The lock belongs to the hub that made it (its
/// `home`) and may be acquired and released from any hub or plain thread, as
/// `Lock`. The owner is always the greenlet that called `acquire`, wherever it
/// runs: a caller on another hub has its acquire done at home by a proxy
/// greenlet, which records the *caller* as the owner (compared by identity
/// only, never touched), so that caller, and only it, may acquire again and
/// release. (The lock keeps its owner alive while held; a lock dropped while
/// a greenlet of another hub holds it frees that greenlet's handle on the
/// dropping thread: release before dropping.)
public final class RLock: Acquirable, HubHomed {
    private let permits = Permits(1)
    /// The holder (a greenlet of any hub); read and written on `home` only.
    private var owner: AnyGreenlet?
    private var depth = 0
    /// The hub whose thread owns the lock's state.
    public let home: Hub

    /// An unlocked re-entrant lock, belonging to the calling thread's hub (or
    /// the hub a `GreenRuntime.withPlacement` block places on).
    public init() { home = Hub.forNewGreenlet }

    // From another hub, each property asks the home hub (and so switches).

    /// Whether some greenlet holds the lock.
    public var isLocked: Bool {
        if awayFromHome { return readAtHome("RLock.isLocked") { [self] in permits.value == 0 } }
        return permits.value == 0
    }
    /// Whether the running greenlet holds the lock.
    public var isOwnedByCurrent: Bool {
        let me = currentGreenlet
        if awayFromHome {
            let caller = Unmanaged.passUnretained(me)  // see `acquire`
            return readAtHome("RLock.isOwnedByCurrent") { [self] in owner === caller.takeUnretainedValue() }
        }
        return owner != nil && owner === me
    }
    /// How many times the holder has acquired it without releasing (0 when free).
    public var recursionDepth: Int {
        if awayFromHome { return readAtHome("RLock.recursionDepth") { [self] in depth } }
        return depth
    }

    /// Takes the lock, or takes it once more when the caller holds it already.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (the lock is not taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when another greenlet holds it; from another hub, always.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        let me = currentGreenlet
        if awayFromHome {
            // The caller waits until the shipped closure has run, so it may hold
            // the caller unretained (the home hub may free the closure later).
            let caller = Unmanaged.passUnretained(me)
            if timeout == .zero {
                return try home.callNonBlocking { [self] in try acquire(for: caller.takeUnretainedValue(), timeout: .zero) }
            }
            return try home.call { [self] in try acquire(for: caller.takeUnretainedValue(), timeout: timeout) }
        }
        return try acquire(for: me, timeout: timeout)
    }

    /// Home hub: `acquire` on behalf of `me` (the running greenlet, or a
    /// caller on another hub whose proxy runs this).
    private func acquire(for me: AnyGreenlet, timeout: Duration?) throws -> Bool {
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
    /// - Note: never switches; from another hub, switches to wait for the
    ///   answer (and never throws an error injected into the caller).
    public func release() throws {
        let me = currentGreenlet
        if awayFromHome {
            let caller = Unmanaged.passUnretained(me)  // see `acquire`
            return try home.callNonBlocking { [self] in try release(by: caller.takeUnretainedValue()) }
        }
        try release(by: me)
    }

    /// Home hub: `release` on behalf of `me`.
    private func release(by me: AnyGreenlet) throws {
        guard let owner, owner === me else { throw CoordinationError.notOwner }
        depth -= 1
        if depth == 0 {
            self.owner = nil
            permits.release()
        }
    }
}
