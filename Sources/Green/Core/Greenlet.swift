import CGreenContext
/// A green thread with a typed result: gevent's `Greenlet`, Swift-shaped.
///
/// Create one with `spawn { ... }`, or subclass and override `run()` (the
/// seeds' `_run`), then `start()` it:
///
/// ```swift
/// final class Hello: Greenlet<Void> {
///     override func run() throws { print("Hi there!") }
/// }
/// let g = Hello(); try g.start(); try g.join()
/// ```
///
/// An error thrown inside stays inside: it ends this greenlet, not its spawner;
/// `get()` rethrows it. One nobody ever reads is logged once through swift-log.
open class Greenlet<Value>: AnyGreenlet {
    @exclusivity(unchecked)
    private var body: (() throws -> Value)?
    // Its return value, once it has returned: in `resultInline` when it fits
    // in three words (most results), else in a box whose address is the first
    // word of `resultInline`. Not a `Value?`: this
    // generic code would fetch `Optional<Value>`'s metadata (a runtime hash
    // lookup, about 300 instructions) to store it and again to destroy it, on
    // every greenlet that ends.
    // Whether it is set: `hasResult`, a byte of AnyGreenlet's.
    @exclusivity(unchecked)
    private var resultInline: (UInt, UInt, UInt) = (0, 0, 0)

    @inline(__always)
    private static var resultFitsInline: Bool {
        MemoryLayout<Value>.size <= MemoryLayout<(UInt, UInt, UInt)>.size
            && MemoryLayout<Value>.alignment <= MemoryLayout<UInt>.alignment
    }

    private func storeResult(_ value: Value) {
        if Self.resultFitsInline {
            withUnsafeMutableBytes(of: &resultInline) { _ = $0.baseAddress!.initializeMemory(as: Value.self, to: value) }
        } else {
            let box = UnsafeMutableRawPointer.allocate(
                byteCount: MemoryLayout<Value>.size, alignment: MemoryLayout<Value>.alignment)
            _ = box.initializeMemory(as: Value.self, to: value)
            resultInline.0 = UInt(bitPattern: box)
        }
        hasResult = true
    }

    /// A copy of the stored result; only when `hasResult`.
    private func loadResult() -> Value {
        if Self.resultFitsInline {
            return withUnsafeBytes(of: &resultInline) { $0.baseAddress!.assumingMemoryBound(to: Value.self).pointee }
        }
        return resultBox.unsafelyUnwrapped.assumingMemoryBound(to: Value.self).pointee
    }

    /// The box of a result too large for `resultInline` (raw: a typed
    /// pointer's metadata is another lookup in generic code).
    private var resultBox: UnsafeMutableRawPointer? {
        Self.resultFitsInline ? nil : UnsafeMutableRawPointer(bitPattern: resultInline.0)
    }

    /// A greenlet that will run `body` once started.
    /// - Parameters:
    ///   - name: for logs and crash reports ("Greenlet-N" by default).
    ///   - stackSize: bytes of stack (default `Green.defaultStackSize`).
    public init(name: String? = nil, stackSize: Int? = nil, _ body: @escaping () throws -> Value) {
        self.body = body
        super.init(spawnedName: name, stackSize: stackSize)
    }

    /// A greenlet whose subclass overrides `run()`.
    public init(name: String? = nil, stackSize: Int? = nil) {
        super.init(spawnedName: name, stackSize: stackSize)
    }

    /// The greenlet's work. Override it in a subclass, or pass a body to `init`.
    /// - Note: may switch, like any code running in a greenlet.
    /// The default runs the body once: it is moved out of the stored property
    /// (a copy would cost a retain/release pair) and released when it returns.
    open func run() throws -> Value {
        guard let body else {
            fatalError("Greenlet '\(name)': override run() or pass a body to init")
        }
        // Not `body.take()`: generic code would fetch `Optional<closure>`'s
        // metadata for it (about 450 instructions a greenlet, callgrind).
        self.body = nil
        return try body()
    }

    override func invokeBody() {
        // `run()` took the body unless a subclass overrode it without
        // calling it: drop it then (a store of nil over nil is not free).
        do {
            storeResult(try run())
            if body != nil { body = nil }
            finish(failure: nil)
        } catch {
            if body != nil { body = nil }
            finish(failure: error)
        }
    }

    /// The value it returned, once it has finished successfully; nil before.
    public var value: Value? { hasResult ? loadResult() : nil }

    deinit {
        guard hasResult else { return }
        if let resultBox {
            resultBox.assumingMemoryBound(to: Value.self).deinitialize(count: 1)
            resultBox.deallocate()
        } else if !_isPOD(Value.self) {
            withUnsafeMutableBytes(of: &resultInline) {
                _ = $0.baseAddress!.assumingMemoryBound(to: Value.self).deinitialize(count: 1)
            }
        }
    }

    /// Waits for the greenlet to finish and returns its value.
    /// - Throws: the greenlet's own error; a `Timeout` when `timeout` elapses
    ///   first; errors injected into the caller; `negativeTimeout`.
    /// - Note: switches.
    public func get(timeout: Duration? = nil) throws -> Value {
        if try !join(timeout: timeout) { throw Timeout(timeout ?? .zero) }
        if hasResult { return loadResult() }
        throw error ?? GreenletExit()
    }
}

// MARK: - Spawning

/// Starts a greenlet running `body` on this thread's hub and returns its handle.
/// - Note: does not switch: the new greenlet runs when the caller next blocks or yields.
@discardableResult
public func spawn<T>(name: String? = nil, stackSize: Int? = nil, _ body: @escaping () throws -> T) -> Greenlet<T> {
    let g = Greenlet(name: name, stackSize: stackSize, body)
    try! g.start()
    return g
}

/// Starts a greenlet running `body` after `delay`.
/// - Throws: `negativeTimeout` for a negative delay.
@discardableResult
public func spawn<T>(
    after delay: Duration, name: String? = nil, stackSize: Int? = nil, _ body: @escaping () throws -> T
) throws -> Greenlet<T> {
    let g = Greenlet(name: name, stackSize: stackSize, body)
    try g.start(after: delay)
    return g
}

/// Waits until every greenlet has finished.
/// - Returns: `true` when all finished, `false` when `timeout` elapsed first.
/// - Throws: errors injected into the caller (never the greenlets' own errors).
/// - Note: switches.
@discardableResult
public func joinAll(_ greenlets: [AnyGreenlet], timeout: Duration? = nil) throws -> Bool {
    let timeout = try validated(timeout)
    guard let timeout else {
        for g in greenlets { try g.join() }
        return true
    }
    let deadline = ContinuousClock.now + timeout
    for g in greenlets {
        let left = deadline - ContinuousClock.now
        if try !g.join(timeout: max(left, .zero)) { return false }
    }
    return true
}

/// Kills every greenlet with `error`, then (with `block`) waits for all to finish.
/// - Throws: errors injected into the caller while it waits.
/// - Note: switches when `block` is true.
public func killAll(
    _ greenlets: [AnyGreenlet], _ error: any Error = GreenletExit(), block: Bool = true, timeout: Duration? = nil
) throws {
    for g in greenlets where g !== AnyGreenlet.current { try g.kill(error, block: false) }
    if block { try joinAll(greenlets.filter { $0 !== AnyGreenlet.current }, timeout: timeout) }
}

/// Blocks the running greenlet for `duration` (gevent's `sleep`); zero yields.
/// - Throws: an error injected by `kill` or a started `Timeout`.
/// - Note: switches.
public func sleep(_ duration: Duration) throws {
    try Hub.current.sleep(duration)
}

/// Lets every other ready greenlet run once (gevent's `sleep(0)`).
/// - Throws: an error injected by `kill` or a started `Timeout`.
/// - Note: switches.
public func yieldGreenlet() throws {
    guard let rec = green_get_current() else {
        _ = Hub.current // a new hub: nothing else can be ready yet
        return
    }
    try Hub.yield(rec)
}

