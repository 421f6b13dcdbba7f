/// The error `kill()` injects by default. A greenlet that ends by throwing it
/// ends *normally*: it counts as a clean exit, not a failure, as in gevent.
public struct GreenletExit: Error, Hashable, CustomStringConvertible {
    /// Creates the default kill error.
    public init() {}
    public var description: String { "GreenletExit" }
}

/// Misuse and dead ends of the greenlet core, each named.
public enum GreenError: Error, Equatable, CustomStringConvertible {
    /// A blocking call found that nothing left on this hub can ever wake it:
    /// no greenlet is ready, no timer or I/O watcher is active. Like gevent's
    /// `LoopExit` and Go's "all goroutines are asleep".
    case wouldBlockForever
    /// A blocking call was made from the hub itself (a link callback, a libev
    /// callback): the hub must never block.
    case blockingInHub
    /// A time span given to a blocking call was negative.
    case negativeTimeout(Duration)
    /// `start()` was called on a greenlet that had already started or been killed.
    case alreadyStarted(name: String)
    /// A greenlet was used from a thread other than its hub's.
    case wrongThread
    /// The operating system refused memory for a greenlet's stack (errno).
    case stackAllocationFailed(errno: Int32)
    /// libev could not create an event loop for this thread's hub.
    case loopCreationFailed
    /// The hub a call had to run on has ended (its thread exited or its runtime stopped).
    case hubGone(hub: String)
    /// A hub-local object was used from another hub or thread where that is
    /// not allowed (greenlet-only operations such as `start(after:)`).
    case wrongHub(what: String, owner: String, caller: String)

    public var description: String {
        switch self {
        case .wouldBlockForever:
            return "this call would block forever: no greenlet is ready and no timer or I/O can wake it"
        case .blockingInHub: return "a blocking call was made from the hub (callbacks must not block)"
        case .negativeTimeout(let d): return "negative timeout \(d)"
        case .alreadyStarted(let n): return "greenlet '\(n)' was already started"
        case .wrongThread: return "greenlet used from a thread other than its hub's"
        case .stackAllocationFailed(let e): return "could not map a greenlet stack (errno \(e))"
        case .loopCreationFailed: return "libev could not create an event loop"
        case .hubGone(let h): return "\(h) has ended"
        case .wrongHub(let what, let owner, let caller):
            return "\(what) belongs to \(owner) and was used from \(caller)"
        }
    }
}

/// The error a greenlet linked with `linkFailure(to:)` receives when its peer fails.
public struct LinkedFailure: Error, CustomStringConvertible {
    /// The name of the greenlet that failed.
    public let peer: String
    /// The error it failed with.
    public let reason: any Error
    public var description: String { "linked greenlet '\(peer)' failed: \(reason)" }
}
