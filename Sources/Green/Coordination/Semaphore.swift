/// Something a greenlet acquires and releases: `Lock`, `RLock`, `Semaphore`,
/// `BoundedSemaphore`. Gives them the scoped `withLock { }`.
public protocol Acquirable: AnyObject {
    /// Acquires, blocking for at most `timeout` (nil: no limit; zero: never blocks).
    /// - Returns: whether it was acquired.
    func acquire(timeout: Duration?) throws -> Bool
    /// Releases what `acquire` took.
    func release() throws
}

extension Acquirable {
    /// Acquires, runs `body`, and releases, however `body` ends.
    ///
    /// ```swift
    /// try lock.withLock { balance += 1 }
    /// ```
    /// - Parameter timeout: how long to wait for it; nil waits without limit.
    /// - Throws: a `Timeout` when it could not be acquired within `timeout`;
    ///   whatever `body` throws; an error injected into the caller while it
    ///   waits (nothing is acquired then); `GreenError.negativeTimeout`.
    /// - Note: switches while waiting, and whenever `body` does.
    public func withLock<R>(timeout: Duration? = nil, _ body: () throws -> R) throws -> R {
        guard try acquire(timeout: timeout) else { throw Timeout(timeout ?? .zero) }
        defer { try? release() }
        return try body()
    }
}

/// A count of permits with a FIFO of greenlets waiting for one; the core of
/// the semaphores and locks. A release hands its permit straight to the
/// longest-waiting greenlet, so a waiter is never overtaken, and one that was
/// killed or timed out while parked never takes a permit.
final class Permits {
    /// Free permits. Invariant: while a greenlet is parked here, it is 0.
    private(set) var value: Int
    private let waiters = WaiterQueue<Void>()

    init(_ value: Int) { self.value = value }

    var waiting: Int { waiters.parkedCount }

    func acquire(timeout: Duration?) throws -> Bool {
        let timeout = try validated(timeout)
        if value > 0 {
            value -= 1
            return true
        }
        if timeout == .zero { return false }
        let w = Waiter<Void>(currentGreenlet)
        waiters.append(w)
        return try block(w, in: waiters, timeout: timeout)
    }

    func release() {
        if let w = waiters.popParked() {
            w.wake()  // the permit goes to w
        } else {
            value += 1
        }
    }

    /// `acquire` for a caller on another hub than `home`, the owner's hub: a
    /// zero timeout asks for the answer, any other waits in a proxy greenlet.
    func acquireAway(at home: Hub, timeout: Duration?) throws -> Bool {
        let timeout = try validated(timeout)
        if timeout == .zero { return try home.callNonBlocking { [self] in try acquire(timeout: .zero) } }
        return try home.call { [self] in try acquire(timeout: timeout) }
    }
}

/// A counter of permits greenlets acquire and release: gevent's `Semaphore`.
///
/// `acquire` takes a permit, blocking while none is free; `release` gives one
/// back, directly to the longest-waiting greenlet if any. A greenlet killed or
/// timed out while waiting takes no permit, so the count stays right.
///
/// ```swift
/// let slots = Semaphore(3)
/// try slots.withLock { try download(url) }   // at most 3 at once
/// ```
///
/// Thread-safety: thread-safe. The semaphore belongs to the hub that made it
/// (its `home`); from another hub or a plain thread, a blocking `acquire`
/// waits there in a proxy greenlet (while the caller waits on its own hub), a
/// zero-timeout `acquire` and the properties ask for the answer, and
/// `release` travels there without waiting (see CrossHubOperations.swift).
/// Permits are conserved across hubs: a caller killed while its acquire waits
/// either took no permit (the acquire throws) or took one (the acquire
/// returns `true` and the kill is thrown at its next blocking call).
public final class Semaphore: Acquirable, HubHomed {
    let permits: Permits
    /// The hub whose thread owns the semaphore's state.
    public let home: Hub

    /// A semaphore with `value` free permits (0 or more), belonging to the
    /// calling thread's hub (or the hub a `GreenRuntime.withPlacement` block
    /// places on).
    public init(_ value: Int = 1) {
        precondition(value >= 0, "Semaphore value must not be negative")
        permits = Permits(value)
        home = Hub.forNewGreenlet
    }

    // From another hub, each property asks the home hub (and so switches);
    // releases still on their way there are not counted yet.

    /// Free permits.
    public var value: Int {
        if awayFromHome { return readAtHome("Semaphore.value") { [self] in permits.value } }
        return permits.value
    }
    /// Whether no permit is free (an acquire would block).
    public var isLocked: Bool {
        if awayFromHome { return readAtHome("Semaphore.isLocked") { [self] in permits.value == 0 } }
        return permits.value == 0
    }
    /// How many greenlets are blocked in `acquire` (proxies of callers on other hubs included).
    public var waiting: Int {
        if awayFromHome { return readAtHome("Semaphore.waiting") { [self] in permits.waiting } }
        return permits.waiting
    }

    /// Takes a permit, blocking while none is free.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (no permit is taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when no permit is free; from another hub, always.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        if awayFromHome { return try permits.acquireAway(at: home, timeout: timeout) }
        return try permits.acquire(timeout: timeout)
    }

    /// Gives a permit back, to the longest-waiting greenlet if any.
    /// - Note: never switches; a woken waiter runs later. From another hub,
    ///   the release travels to the semaphore's hub (after the caller's
    ///   earlier operations there) and this returns at once.
    public func release() {
        if awayFromHome { _ = home.runThreadsafe { [self] in permits.release() }; return }
        permits.release()
    }
}

/// A `Semaphore` that may not be released more often than it was acquired:
/// gevent's `BoundedSemaphore`.
///
/// Thread-safety: thread-safe, as `Semaphore`, except that a `release` from
/// another hub asks for the answer (it may throw `releasedTooOften`) and so
/// switches; it never throws an error injected into the caller.
public final class BoundedSemaphore: Acquirable, HubHomed {
    let permits: Permits
    /// The number of permits it started with, and the most it may hold.
    public let initialValue: Int
    /// The hub whose thread owns the semaphore's state.
    public let home: Hub

    /// A bounded semaphore with `value` free permits (0 or more), at most
    /// `value`, belonging to the calling thread's hub (or the hub a
    /// `GreenRuntime.withPlacement` block places on).
    public init(_ value: Int = 1) {
        precondition(value >= 0, "BoundedSemaphore value must not be negative")
        permits = Permits(value)
        initialValue = value
        home = Hub.forNewGreenlet
    }

    // From another hub, each property asks the home hub (and so switches).

    /// Free permits.
    public var value: Int {
        if awayFromHome { return readAtHome("BoundedSemaphore.value") { [self] in permits.value } }
        return permits.value
    }
    /// Whether no permit is free (an acquire would block).
    public var isLocked: Bool {
        if awayFromHome { return readAtHome("BoundedSemaphore.isLocked") { [self] in permits.value == 0 } }
        return permits.value == 0
    }
    /// How many greenlets are blocked in `acquire` (proxies of callers on other hubs included).
    public var waiting: Int {
        if awayFromHome { return readAtHome("BoundedSemaphore.waiting") { [self] in permits.waiting } }
        return permits.waiting
    }

    /// Takes a permit, blocking while none is free.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (no permit is taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when no permit is free; from another hub, always.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        if awayFromHome { return try permits.acquireAway(at: home, timeout: timeout) }
        return try permits.acquire(timeout: timeout)
    }

    /// Gives a permit back, to the longest-waiting greenlet if any.
    /// - Throws: `CoordinationError.releasedTooOften` when every permit is
    ///   already free (the count is left unchanged).
    /// - Note: never switches; from another hub, switches to wait for the
    ///   answer (and never throws an error injected into the caller).
    public func release() throws {
        if awayFromHome { return try home.callNonBlocking { [self] in try release() } }
        if permits.value >= initialValue { throw CoordinationError.releasedTooOften }
        permits.release()
    }
}
