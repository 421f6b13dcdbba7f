import Green

/// Many replies to one request, read by async code as an `AsyncSequence`
/// (an actor's answer that comes in parts: a countdown, a subscription, rows).
///
/// ```swift
/// enum Msg { case countdown(from: Int, to: ReplyStream<Int>) }
/// // in the actor:  for n in (1...k).reversed() { replies(n) }; replies.finish()
/// let numbers = try await Green.run { try counter.replies { .countdown(from: 3, to: $0) } }
/// for try await n in numbers { print(n) }   // 3 2 1
/// ```
///
/// The actor writes with `callAsFunction`, `finish()` or `fail(_:)`; none of
/// them blocks or switches, and each may be called from any thread. Replies
/// are buffered until read. If the actor ends before it finishes the stream,
/// the stream fails with `MailboxError.actorDead`. Replies after the end, or
/// after the reader stopped (its Task cancelled), are dropped.
public final class ReplyStream<Value: Sendable>: Sendable {
    private let continuation: AsyncThrowingStream<Value, any Error>.Continuation
    /// The replies, for `for try await` (one reader).
    public let values: AsyncThrowingStream<Value, any Error>

    /// A stream nobody has written to yet.
    public init() {
        (values, continuation) = AsyncThrowingStream.makeStream(of: Value.self, throwing: (any Error).self)
    }

    /// Sends one reply. Does not switch; any thread.
    public func callAsFunction(_ value: Value) { continuation.yield(value) }

    /// Ends the replies: the reader's loop ends. Does not switch; any thread.
    public func finish() { continuation.finish() }

    /// Ends the replies with `error`, which the reader's loop throws. Does not
    /// switch; any thread.
    public func fail(_ error: any Error) { continuation.finish(throwing: error) }

    /// Calls `body` once the stream has ended (finished, failed, or its reader
    /// stopped), on whatever thread ended it.
    func onEnd(_ body: @escaping @Sendable () -> Void) {
        continuation.onTermination = { _ in body() }
    }
}

extension GreenActor {
    /// Sends the message `make` builds around a new reply stream, and returns
    /// the stream's replies for async code to read (see `ReplyStream`).
    ///
    /// - Returns: the replies; they fail with `MailboxError.actorDead` if the
    ///   actor ends before finishing them.
    /// - Throws: what `send` throws (`MailboxError.actorDead`, `.full`, errors
    ///   injected into the caller).
    /// - Note: switches only when `send` blocks (a full `.blockSender` mailbox).
    ///   Call it in green code of the actor's hub (inside `Green.run` from
    ///   async code).
    public func replies<Value: Sendable>(
        _ make: (ReplyStream<Value>) -> Message
    ) throws -> AsyncThrowingStream<Value, any Error> {
        let stream = ReplyStream<Value>()
        let actorName = name
        let token = link { _ in stream.fail(MailboxError.actorDead(actor: actorName)) }
        do {
            try send(make(stream))
        } catch {
            unlink(token)
            throw error
        }
        // Unlink once the reader is done (or the actor finished the stream) so
        // a long-lived actor does not collect one link per request. The actor is
        // touched only on its hub; holding it until then is bounded by its life
        // (its end fails the stream, which ends this).
        let hub = Hub.current
        let owner = HubOwned(self)
        stream.onEnd {
            hub.runThreadsafe { owner.value.unlink(token) }
        }
        return stream.values
    }
}

/// An object of one hub carried to another thread only to be handed back to
/// that hub (through `runThreadsafe`), never touched elsewhere.
private struct HubOwned<Value: AnyObject>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
