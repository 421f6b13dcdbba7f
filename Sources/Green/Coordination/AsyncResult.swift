/// A value (or an error) that will be set once, which greenlets can wait for:
/// gevent's `AsyncResult`, a future.
///
/// ```swift
/// let result = AsyncResult<String>()
/// spawn { try sleep(.milliseconds(50)); try result.set("Hello!") }
/// print(try result.get())
/// ```
///
/// Thread-safety: thread-safe. The result belongs to the hub that made it (its
/// `home`); every member may be called from another hub or a plain thread and
/// runs there (see CrossHubOperations.swift): `wait` and `get` wait there in a
/// proxy greenlet; `set`, `getNowait` and the properties ask for the answer
/// (so from another hub they switch, and `set` still throws `alreadySet`).
/// `wait(any:)` and `iwait` take it on its own hub only.
public final class AsyncResult<Value>: Waitable, HubHomed {
    private var outcome: Result<Value, any Error>?
    private let waiters = WaiterQueue<Void>()
    private let signals = SignalList()
    /// The hub whose thread owns the result's state.
    public let home: Hub

    /// A result not set yet, belonging to the calling thread's hub (or the
    /// hub a `GreenRuntime.withPlacement` block places on).
    public init() { home = Hub.forNewGreenlet }

    // From another hub, each property asks the home hub (and so switches).

    /// Whether a value or an error was set.
    public var isReady: Bool {
        if awayFromHome { return readAtHome("AsyncResult.isReady") { [self] in outcome != nil } }
        return outcome != nil
    }

    /// Whether a value (not an error) was set.
    public var isSuccessful: Bool {
        if awayFromHome { return readAtHome("AsyncResult.isSuccessful") { [self] in isSuccessful } }
        if case .success = outcome { return true }
        return false
    }

    /// The value, once set; nil before, or when an error was set.
    public var value: Value? {
        if awayFromHome { return readAtHome("AsyncResult.value") { [self] in value } }
        if case .success(let v) = outcome { return v }
        return nil
    }

    /// The error, once set; nil before, or when a value was set.
    public var error: (any Error)? {
        if awayFromHome { return readAtHome("AsyncResult.error") { [self] in error } }
        if case .failure(let e) = outcome { return e }
        return nil
    }

    /// Sets the value and wakes every waiter.
    /// - Throws: `CoordinationError.alreadySet` when a value or error was set before.
    /// - Note: never switches; from another hub, switches to wait for the
    ///   answer (and never throws an error injected into the caller).
    public func set(_ value: Value) throws {
        try complete(.success(value))
    }

    /// Sets an error, which `get` then throws; wakes every waiter.
    /// - Throws: `CoordinationError.alreadySet` when a value or error was set before.
    /// - Note: never switches; from another hub, as `set(_:)`.
    public func set(error: any Error) throws {
        try complete(.failure(error))
    }

    /// Runs `body` (on the caller's hub) and sets what it returns, or the
    /// error it throws.
    /// - Throws: `CoordinationError.alreadySet` (checked before `body` runs).
    /// - Note: switches when `body` does; from another hub, as `set(_:)`.
    public func set(from body: () throws -> Value) throws {
        if isReady { throw CoordinationError.alreadySet }
        let r = Result { try body() }
        try complete(r)
    }

    private func complete(_ r: Result<Value, any Error>) throws {
        if awayFromHome { return try home.callNonBlocking { [self] in try complete(r) } }
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
    /// - Note: switches when not set yet; from another hub, always.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws -> Bool {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in outcome != nil } }
            return try home.call { [self] in try wait(timeout: timeout) }
        }
        return try waitHere(timeout: timeout)
    }

    /// `wait` on the home hub, `timeout` validated.
    private func waitHere(timeout: Duration?) throws -> Bool {
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
    /// - Note: switches when not set yet; from another hub, always.
    public func get(timeout: Duration? = nil) throws -> Value {
        let timeout = try validated(timeout)
        if awayFromHome {
            if timeout == .zero { return try home.callNonBlocking { [self] in try getNowait() } }
            return try home.call { [self] in try get(timeout: timeout) }
        }
        if try !waitHere(timeout: timeout) { throw Timeout(timeout ?? .zero) }
        return try outcome!.get()
    }

    /// The value if set, without blocking (gevent's `get_nowait`).
    /// - Throws: the error that was set; a `Timeout` of zero when not set yet.
    /// - Note: never switches; from another hub, switches to wait for the answer.
    public func getNowait() throws -> Value {
        if awayFromHome { return try home.callNonBlocking { [self] in try getNowait() } }
        guard let outcome else { throw Timeout(.zero) }
        return try outcome.get()
    }

    // MARK: Waitable

    /// Signaled once set.
    public var isSignaled: Bool { outcome != nil }
    /// See `Waitable`: the result's home.
    public var waitableHome: Hub? { home }
    /// See `Waitable`.
    public func subscribe(_ signal: WaitSignal) { signals.add(signal) }
    /// See `Waitable`.
    public func unsubscribe(_ signal: WaitSignal) { signals.remove(signal) }
}
