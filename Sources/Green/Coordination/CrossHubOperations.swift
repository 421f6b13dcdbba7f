import CLibev

// How the coordination primitives cross hubs (see Core/CrossHub.swift for the
// rule: an object's state is touched only on its home hub's thread).
//
// Every thread-safe primitive starts each public member with one branch,
// `if awayFromHome { ... }`; the same-hub path after it is the single-thread
// code it always was. From another hub or thread, a member is shipped home in
// one of three ways, chosen by what it must give back:
//
// | the member                              | shipped with          | the caller                    |
// |-----------------------------------------|-----------------------|-------------------------------|
// | may block (`get`, `put` when bounded,   | `home.call`           | parks until the proxy greenlet |
// | `wait`, `acquire`, `join`)              |                       | on home ends                  |
// | never blocks, but answers (`getNowait`, | `home.callNonBlocking`| parks until the answer comes  |
// | `putNowait`, unbounded `put`, `set`,    |                       | back                          |
// | `release` that may throw, properties)   |                       |                               |
// | never blocks, never throws, returns     | `home.runThreadsafe`  | goes on at once               |
// | nothing (`Event.set`, `close`,          |                       |                               |
// | `Semaphore.release`)                    |                       |                               |
//
// The difference between the first two: `home.call` is a blocking call, so an
// error injected into the caller (kill, `Timeout`) may end it (it is forwarded
// to the proxy; what the proxy obtained is kept and the error is thrown at the
// caller's next blocking call). `callNonBlocking` ships an operation that
// completes at once on home, exactly as a local call would: it never throws an
// error injected into the caller (one already pending stays pending, one
// arriving while it waits becomes pending), so a `release()` in a `defer` of a
// greenlet being killed still releases. Both keep the caller's order: closures
// a thread sends to one hub run there in the order sent.
//
// A hub callback (a link callback, a libev callback) cannot wait: from a
// callback of another hub, members that wait for the home hub throw
// `GreenError.blockingInHub` (properties stop the program, naming both hubs);
// the ones that travel alone work from anywhere. Members that wait also throw
// `GreenError.hubGone` once the home hub has ended.

extension Hub {
    /// Runs `body`, which must not block, on this hub's thread (in a hub
    /// callback) and returns what it returned or throws what it threw; the
    /// caller waits for the answer cooperatively on its own hub. On this hub's
    /// own thread it just calls `body`.
    ///
    /// Errors injected into the caller (kill, a started `Timeout`) are never
    /// thrown here: `body` runs to its end as a local non-blocking call would,
    /// and the error is thrown at the caller's next blocking call.
    /// - Throws: what `body` threw; `GreenError.hubGone` when this hub has
    ///   ended (then `body` did not run); `GreenError.blockingInHub` when
    ///   called from a hub greenlet of another hub (a callback cannot wait).
    /// - Note: switches (from another hub). May be called from any hub or thread.
    func callNonBlocking<T>(_ body: @escaping () throws -> T) throws -> T {
        if isCurrentThread { return try body() }
        let callerHub = Hub.current
        let me = callerHub.current
        if me === callerHub.hubGreenlet { throw GreenError.blockingInHub }
        let reply = NonBlockingReply<T>()
        // The answer arrives through an unreferenced watcher: keep the
        // caller's loop alive while it is out.
        ev_ref(callerHub.loop)
        defer { ev_unref(callerHub.loop) }
        // The jobs hold the caller and its hub unretained: the caller waits
        // here until the answer job has run on its own hub, so both outlive
        // every use; and this hub may drop its job after the caller (even
        // its thread) is gone, so a strong reference could be the last one
        // and free a greenlet or hub on the wrong thread.
        let caller = Unmanaged.passUnretained(me)
        let callerHubRef = Unmanaged.passUnretained(callerHub)
        let posted = runThreadsafe {
            reply.result = Result { try body() }
            let hub = callerHubRef.takeUnretainedValue()
            _ = hub.runThreadsafe {
                reply.done = true
                callerHubRef.takeUnretainedValue().wake(caller.takeUnretainedValue())
            }
        }
        if !posted { throw GreenError.hubGone(hub: description) }
        // `park` throws a pending error at once: hold it aside while waiting.
        var deferred = me.pendingError
        me.pendingError = nil
        while !reply.done {
            do {
                _ = try callerHub.park()
            } catch {
                deferred = error  // the latest injection wins, as for a local greenlet
            }
        }
        if let deferred { me.pendingError = deferred }
        return try reply.result!.get()
    }
}

/// The answer of one `callNonBlocking`: `result` is written on the home hub and
/// read on the caller's hub after the reply crossed `runThreadsafe` (its queue
/// publishes with release and drains with acquire); `done` is written and read
/// on the caller's hub only.
private final class NonBlockingReply<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    var done = false
}

extension HubHomed {
    /// Reads state of the object for a property called from another hub or
    /// thread: asks `home` (the caller waits cooperatively for the answer).
    ///
    /// When `home` has ended, its thread no longer touches the object and
    /// every operation shipped there fails, so the state is frozen: it is read
    /// directly. That read is ordered after the home thread's writes before it
    /// closed: the close swaps the thread-safe entry's head for its "closed"
    /// mark with release ordering, and a refused `runThreadsafe` read that
    /// mark with acquire ordering.
    ///
    /// Called from a hub greenlet (a callback) of another hub, which cannot
    /// wait, it stops the program naming both hubs.
    /// - Note: switches.
    func readAtHome<T>(_ what: @autoclosure () -> String, _ read: @escaping () -> T) -> T {
        do {
            return try home.callNonBlocking(read)
        } catch GreenError.hubGone {
            return read()
        } catch {
            fatalError("Green: \(what()) of an object of \(home.description) was read from a callback of "
                + "\(Hub.callerDescription); from another hub a read waits for the answer: read it from a greenlet")
        }
    }
}
