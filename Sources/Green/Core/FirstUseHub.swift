/// The hub a hub-local object belongs to, fixed by its first use.
///
/// For objects that may be made on one thread and handed to a greenlet of
/// another before anyone uses them (a reader over a socket accepted on one hub
/// and served on another, an actor's wait list made under
/// `GreenRuntime.withPlacement`): the first `check` binds the object to the
/// caller's hub; every later one stops the program, naming both hubs, when
/// the caller is on another hub or thread. Cheap: a load and, once bound, the
/// compare of `Hub.preconditionOnHub`.
///
/// Stored as a `var` in a final class; `check` is a short mutating access
/// that never switches.
struct FirstUseHub {
    private var hub: Hub?

    init() {}

    /// Binds to the caller's hub at the first call; afterwards stops the
    /// program when called from another hub or thread. `what` names the
    /// object in the message.
    @inline(__always)
    mutating func check(_ what: @autoclosure () -> String) {
        if let hub { hub.preconditionOnHub(what()) } else { hub = Hub.current }
    }

    /// Like `check`, but leaves an unbound object unbound.
    @inline(__always)
    func checkIfBound(_ what: @autoclosure () -> String) {
        if let hub { hub.preconditionOnHub(what()) }
    }
}
