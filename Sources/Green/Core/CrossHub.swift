import CGreenContext
import CLibev

// How code on one hub (or on a plain thread) reaches another hub.
//
// Rule: a greenlet never moves to another OS thread once it has started (its
// frames may hold addresses of thread-locals), and every object that greenlets
// block on belongs to one hub, its *home*. State of a home-bound object is only
// ever touched on its home thread, so the primitives keep their single-thread
// logic and need no locks. Another hub reaches it by *shipping the operation*:
//
// - `Hub.call(_:)` runs a closure in a fresh greenlet on the home hub (so it may
//   block there, as `queue.get()` does) while the caller parks on its own hub.
//   The result comes back through the caller hub's thread-safe entry, so a
//   waiter is always woken on its own hub. If the caller is killed or times out
//   meanwhile, the kill is forwarded to the proxy greenlet and the caller waits
//   for it to end: what the proxy already took (an item, a permit) is returned
//   and the kill is thrown at the caller's next blocking call, exactly as for a
//   local waiter that was served and then killed. Nothing is lost.
// - Fire-and-forget operations (an actor's send, a non-blocking kill) travel as
//   closures through `runThreadsafe`, in order per sending thread.
//
// This is Seastar's "submit to the owning shard" rather than locks on shared
// state: the same-hub path pays one thread-local load and one compare.
//
// Hub-local types that are not shipped (sockets, timeouts, readers) check
// `preconditionOnHub` and stop the program naming both hubs, never racing silently.

extension Hub {
    /// Whether the calling thread is this hub's thread. Any thread; cheap
    /// (one thread-local load and a compare).
    @inline(__always)
    public var isCurrentThread: Bool {
        guard let rec = green_get_current() else { return false }
        return rec.pointee.hub_hot == UnsafeMutableRawPointer(hot)
    }

    /// An opaque value naming this hub, for inlinable fast paths that compare it
    /// with `Hub.currentToken` (an actor's send checks "same hub?" this way). Any thread.
    public var token: UnsafeMutableRawPointer { UnsafeMutableRawPointer(hot) }

    /// The calling thread's hub's `token`, or nil on a thread without a hub.
    /// One thread-local load. Any thread.
    @inlinable @inline(__always)
    public static var currentToken: UnsafeMutableRawPointer? { green_get_current()?.pointee.hub_hot }

    /// "hub #N" (with its runtime index when it belongs to one). Any thread.
    public var description: String {
        if let runtime, let i = runtime.hubs.firstIndex(where: { $0 === self }) {
            return "hub #\(id) (\(i) of runtime \(runtime.id))"
        }
        return "hub #\(id)"
    }

    /// The hub a runtime is placing a greenlet on, if a constructor runs under
    /// `GreenRuntime.withPlacement`.
    static var placementTarget: Hub? {
        guard let raw = green_get_placement_hub() else { return nil }
        return Unmanaged<Hub>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The hub a greenlet constructed now will belong to: the one a runtime's
    /// placement names (`GreenRuntime.withPlacement`), else the calling thread's.
    /// Subclasses that make hub-bound state in their initializer (an actor's
    /// mailbox) use it. Any thread.
    public static var forNewGreenlet: Hub { placementTarget ?? current }

    /// The calling thread's hub for messages, without creating one.
    static var callerDescription: String {
        existing.map(\.description) ?? "a thread without a hub"
    }

    /// Stops the program, naming both hubs, when the caller is not on this hub's
    /// thread: hub-local objects (sockets, timeouts, readers) call it on entry.
    @inline(__always)
    public func preconditionOnHub(_ what: @autoclosure () -> String) {
        if _slowPath(!isCurrentThread) { hubLocalMisuse(what()) }
    }

    @inline(never)
    func hubLocalMisuse(_ what: String) -> Never {
        fatalError("Green: \(what) belongs to \(description) and was used from \(Hub.callerDescription); "
            + "it is hub-local (see its documentation for what may cross hubs)")
    }

    /// Runs `body` on this hub, in a greenlet of its own (so it may block), and
    /// waits for it cooperatively on the caller's hub; on this hub's own thread
    /// it just calls `body`.
    ///
    /// If the caller is killed or a started `Timeout` fires while it waits, the
    /// error is forwarded to the proxy greenlet and the caller waits for it to
    /// end: a value the proxy already obtained is returned and the error is
    /// thrown at the caller's next blocking call; otherwise the error is thrown.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw; `GreenError.hubGone` when this hub has ended;
    ///   `GreenError.blockingInHub` when called from a hub greenlet; errors
    ///   injected into the caller.
    /// - Note: switches. May be called from any hub or thread.
    public func call<T>(_ body: @escaping () throws -> T) throws -> T {
        if isCurrentThread { return try body() }
        let callerHub = Hub.current
        let me = callerHub.current
        if me === callerHub.hubGreenlet { throw GreenError.blockingInHub }
        try me.throwPendingError()
        let call = CrossHubCall<T>(caller: me, callerHub: callerHub)
        // The reply arrives through an unreferenced watcher: keep the caller's
        // loop alive while it is out.
        ev_ref(callerHub.loop)
        defer { ev_unref(callerHub.loop) }
        let posted = runThreadsafe { call.startProxy(body) }
        if !posted { throw GreenError.hubGone(hub: description) }
        var injected: (any Error)?
        while !call.done {
            do {
                _ = try callerHub.park()
            } catch {
                guard injected == nil else { continue }
                injected = error
                if !runThreadsafe({ call.killProxy(error) }) { throw error }
            }
        }
        let result = call.result!
        if let injected {
            if case .success(let value) = result {
                me.pendingError = injected
                return value
            }
            throw injected
        }
        return try result.get()
    }
}

/// One `Hub.call` in flight. `result` and `proxy` are written on the home hub;
/// `done` and the read of `result` happen on the caller's hub after the reply
/// crossed `runThreadsafe` (its queue publishes with release and drains with
/// acquire, which orders them).
///
/// `caller` and `callerHub` are unowned: the caller waits (uninterruptibly)
/// until the reply has run on its own hub, so both outlive every use, and the
/// home hub must never drop the last reference to a greenlet of another hub.
private final class CrossHubCall<T>: @unchecked Sendable {
    unowned(unsafe) let caller: AnyGreenlet
    unowned(unsafe) let callerHub: Hub
    var result: Result<T, any Error>?
    var proxy: AnyGreenlet?
    var done = false

    init(caller: AnyGreenlet, callerHub: Hub) {
        self.caller = caller
        self.callerHub = callerHub
    }

    /// Home hub: spawns the proxy greenlet; its end sends the reply.
    func startProxy(_ body: @escaping () throws -> T) {
        let g = Greenlet<Void>(name: "call from \(callerHub)") { [self] in result = Result { try body() } }
        proxy = g
        g.link { [self] g in
            if result == nil { result = .failure(g.error ?? GreenletExit()) }
            proxy = nil
            let posted = callerHub.runThreadsafe { [self] in
                done = true
                callerHub.wake(caller)
            }
            // The caller's hub has ended: nobody waits.
            _ = posted
        }
        try! g.start()
    }

    /// Home hub: forwards an error injected into the caller.
    func killProxy(_ error: any Error) {
        try? proxy?.kill(error, block: false)
    }
}

/// An object whose state lives on one hub (its `home`) and whose operations,
/// called from elsewhere, are shipped there (`Hub.call`, `runThreadsafe`).
public protocol HubHomed: AnyObject {
    /// The hub that owns the object's state.
    var home: Hub { get }
}

extension HubHomed {
    /// Whether the caller is on another hub or thread than `home`. Any thread; cheap.
    @inline(__always)
    public var awayFromHome: Bool { !home.isCurrentThread }
}
