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
/// Thread-safety: for the greenlets of one hub (see Waiters.swift for where
/// cross-thread wake-ups would go).
public final class Semaphore: Acquirable {
    let permits: Permits

    /// A semaphore with `value` free permits (0 or more).
    public init(_ value: Int = 1) {
        precondition(value >= 0, "Semaphore value must not be negative")
        permits = Permits(value)
    }

    /// Free permits.
    public var value: Int { permits.value }
    /// Whether no permit is free (an acquire would block).
    public var isLocked: Bool { permits.value == 0 }
    /// How many greenlets are blocked in `acquire`.
    public var waiting: Int { permits.waiting }

    /// Takes a permit, blocking while none is free.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (no permit is taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when no permit is free.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        try permits.acquire(timeout: timeout)
    }

    /// Gives a permit back, to the longest-waiting greenlet if any.
    /// - Note: never switches; a woken waiter runs later.
    public func release() { permits.release() }
}

/// A `Semaphore` that may not be released more often than it was acquired:
/// gevent's `BoundedSemaphore`.
public final class BoundedSemaphore: Acquirable {
    let permits: Permits
    /// The number of permits it started with, and the most it may hold.
    public let initialValue: Int

    /// A bounded semaphore with `value` free permits (0 or more), at most `value`.
    public init(_ value: Int = 1) {
        precondition(value >= 0, "BoundedSemaphore value must not be negative")
        permits = Permits(value)
        initialValue = value
    }

    /// Free permits.
    public var value: Int { permits.value }
    /// Whether no permit is free (an acquire would block).
    public var isLocked: Bool { permits.value == 0 }
    /// How many greenlets are blocked in `acquire`.
    public var waiting: Int { permits.waiting }

    /// Takes a permit, blocking while none is free.
    /// - Parameter timeout: nil waits without limit; zero never blocks.
    /// - Returns: `true` when taken, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (no permit is taken then);
    ///   `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when no permit is free.
    @discardableResult
    public func acquire(timeout: Duration? = nil) throws -> Bool {
        try permits.acquire(timeout: timeout)
    }

    /// Gives a permit back, to the longest-waiting greenlet if any.
    /// - Throws: `CoordinationError.releasedTooOften` when every permit is
    ///   already free (the count is left unchanged).
    /// - Note: never switches.
    public func release() throws {
        if permits.value >= initialValue { throw CoordinationError.releasedTooOften }
        permits.release()
    }
}
