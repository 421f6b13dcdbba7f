import Green

/// The reply slot of one request (`ask`): the receiving actor answers through it.
/// A reply that comes after the asker gave up is dropped, not delivered anywhere.
public final class Reply<Value> {
    private var result: Result<Value, any Error>?
    private var waiter: AnyGreenlet?
    private var abandoned = false
    /// The actor asked, for error messages.
    let target: String
    /// The asker's hub: the slot's state lives there; an answer from another
    /// hub travels to it.
    private let home: Hub

    init(target: String) {
        self.target = target
        home = Hub.current
    }

    /// Answers with `value`. Answering twice, or after the asker gave up, does nothing.
    /// - Note: does not switch. Any hub or thread (the answer travels to the asker's hub).
    public func callAsFunction(_ value: Value) { complete(.success(value)) }

    /// Answers with an error, which the asker's `ask` throws.
    public func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ r: Result<Value, any Error>) {
        if _slowPath(!home.isCurrentThread) {
            _ = home.runThreadsafe { [self] in complete(r) }
            return
        }
        guard result == nil, !abandoned else { return }
        result = r
        if let waiter {
            self.waiter = nil
            waiter.hub.wake(waiter)
        }
    }

    /// Waits for the answer until `timeout` from now (a spurious wake-up
    /// parks again for what is left, not for the whole span).
    func wait(timeout: Duration?) throws -> Value {
        let hub = Hub.current
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while result == nil {
            var left: Duration?
            if let deadline {
                left = deadline - ContinuousClock.now
                if left! <= .zero { throw giveUp(MailboxError.noReply(actor: target)) }
            }
            waiter = AnyGreenlet.current
            let woken: Bool
            do { woken = try hub.park(timeout: left) } catch { throw giveUp(error) }
            if !woken && result == nil { throw giveUp(MailboxError.noReply(actor: target)) }
        }
        return try result!.get()
    }

    /// Abandons the slot (a later answer is dropped) and returns `error`.
    private func giveUp(_ error: any Error) -> any Error {
        abandoned = true
        waiter = nil
        return error
    }
}

extension GreenActor {
    /// Sends the message `make` builds around a reply slot, and waits for the answer
    /// (Erlang's `gen_server:call`).
    ///
    /// ```swift
    /// let n: Int = try counter.ask { .get(replyTo: $0) }
    /// ```
    /// Like Erlang's `call`, it watches the actor while it waits: if the actor
    /// ends before answering (it failed handling the request, or was killed,
    /// or stopped), the ask fails at once with `actorDead` instead of waiting
    /// out its timeout.
    /// - Parameter timeout: how long to wait (default 5 s); nil waits forever.
    /// - Throws: `MailboxError.noReply` on timeout (a later reply is dropped),
    ///   `MailboxError.actorDead` when the actor has ended or ends before it
    ///   answers, what the actor passed to `fail`, and errors injected into the caller.
    /// - Note: switches. Call it from the actor's hub.
    public func ask<Value>(timeout: Duration? = .seconds(5), _ make: (Reply<Value>) -> Message) throws -> Value {
        let reply = Reply<Value>(target: name)
        // The link callback runs on the hub once the actor is dead (after its
        // own, which turns the unhandled request into a dead letter).
        let watch = link { dead in reply.fail(MailboxError.actorDead(actor: dead.name)) }
        defer { unlink(watch) }
        try send(make(reply))
        return try reply.wait(timeout: timeout)
    }
}
