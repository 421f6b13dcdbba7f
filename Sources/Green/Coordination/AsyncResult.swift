/// A value (or an error) that will be set once, which greenlets can wait for:
/// gevent's `AsyncResult`, a future.
///
/// ```swift
/// let result = AsyncResult<String>()
/// spawn { try sleep(.milliseconds(50)); try result.set("Hello!") }
/// print(try result.get())
/// ```
///
/// Thread-safety: for the greenlets of one hub (see Waiters.swift for where
/// cross-thread wake-ups would go).
public final class AsyncResult<Value>: Waitable {
    private var outcome: Result<Value, any Error>?
    private let waiters = WaiterQueue<Void>()
    private let signals = SignalList()

    /// A result not set yet.
    public init() {}

    /// Whether a value or an error was set.
    public var isReady: Bool { outcome != nil }

    /// Whether a value (not an error) was set.
    public var isSuccessful: Bool {
        if case .success = outcome { return true }
        return false
    }

    /// The value, once set; nil before, or when an error was set.
    public var value: Value? {
        if case .success(let v) = outcome { return v }
        return nil
    }

    /// The error, once set; nil before, or when a value was set.
    public var error: (any Error)? {
        if case .failure(let e) = outcome { return e }
        return nil
    }

    /// Sets the value and wakes every waiter.
    /// - Throws: `CoordinationError.alreadySet` when a value or error was set before.
    /// - Note: never switches.
    public func set(_ value: Value) throws {
        try complete(.success(value))
    }

    /// Sets an error, which `get` then throws; wakes every waiter.
    /// - Throws: `CoordinationError.alreadySet` when a value or error was set before.
    /// - Note: never switches.
    public func set(error: any Error) throws {
        try complete(.failure(error))
    }

    /// Runs `body` and sets what it returns, or the error it throws.
    /// - Throws: `CoordinationError.alreadySet` (checked before `body` runs).
    /// - Note: switches when `body` does.
    public func set(from body: () throws -> Value) throws {
        if outcome != nil { throw CoordinationError.alreadySet }
        let r = Result { try body() }
        try complete(r)
    }

    private func complete(_ r: Result<Value, any Error>) throws {
        if outcome != nil { throw CoordinationError.alreadySet }
        outcome = r
        for w in waiters.popAllParked() { w.wake() }
        signals.notifyAll()
    }

    /// Waits until the result is set.
    /// - Parameter timeout: nil waits without limit; zero only checks.
    /// - Returns: `true` when set, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller (never the result's own
    ///   error); `GreenError.negativeTimeout`; `GreenError.wouldBlockForever`.
    /// - Note: switches when not set yet.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if outcome != nil { return true }
        if timeout == .zero { return false }
        let w = Waiter<Void>(currentGreenlet)
        waiters.append(w)
        return try block(w, in: waiters, timeout: timeout)
    }

    /// Waits until the result is set and returns the value.
    /// - Parameter timeout: nil waits without limit; zero only checks.
    /// - Throws: the error that was set; a `Timeout` when `timeout` elapses first
    ///   (as gevent); an error injected into the caller; `GreenError.negativeTimeout`.
    /// - Note: switches when not set yet.
    public func get(timeout: Duration? = nil) throws -> Value {
        if try !wait(timeout: timeout) { throw Timeout(timeout ?? .zero) }
        return try outcome!.get()
    }

    /// The value if set, without blocking (gevent's `get_nowait`).
    /// - Throws: the error that was set; a `Timeout` of zero when not set yet.
    /// - Note: never switches.
    public func getNowait() throws -> Value {
        guard let outcome else { throw Timeout(.zero) }
        return try outcome.get()
    }

    // MARK: Waitable

    /// Signaled once set.
    public var isSignaled: Bool { outcome != nil }
    /// See `Waitable`.
    public func subscribe(_ signal: WaitSignal) { signals.add(signal) }
    /// See `Waitable`.
    public func unsubscribe(_ signal: WaitSignal) { signals.remove(signal) }
}
