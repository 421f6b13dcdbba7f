/// The items of a `Queue` or `Channel`, read from async code with `for try await`.
///
/// ```swift
/// let jobs = try await Green.run {
///     let q = Queue<Int>()
///     spawn { for i in 1...3 { try q.put(i) }; q.close() }
///     return q.asyncValues
/// }
/// for try await job in jobs { print(job) }   // 1 2 3, ends once closed and drained
/// ```
///
/// Each `next()` takes one item with the source's own `get` semantics, on the
/// source's hub: an item already there is taken at once on the hub greenlet,
/// with no greenlet made; otherwise a greenlet waits in `get` while the Task
/// suspends. So items are taken only as the async reader asks for them, in
/// order, each by exactly one reader, and a Task cancelled while it waits
/// takes nothing (its greenlet is killed with `CancellationError`, which
/// `next()` throws). The iteration ends when the source is closed and drained.
///
/// Thread-safety: made on the source's hub (by green code), then usable from
/// any Task: the source itself is only ever touched on its hub.
public struct GreenSourceValues<Element: Sendable>: AsyncSequence, @unchecked Sendable {
    private let hub: Hub
    /// Takes an item: nil when closed and drained; `QueueError.empty` when
    /// none came within the timeout (zero: none is there now).
    private let take: (Duration?) throws -> Element?

    init(hub: Hub, take: @escaping (Duration?) throws -> Element?) {
        self.hub = hub
        self.take = take
    }

    /// An iterator; see the type's description.
    public func makeAsyncIterator() -> Iterator { Iterator(source: self) }

    /// Takes the items one by one; see `GreenSourceValues`.
    public struct Iterator: AsyncIteratorProtocol {
        private let source: GreenSourceValues
        private var finished = false

        init(source: GreenSourceValues) { self.source = source }

        /// The next item, or nil once the source is closed and drained.
        /// - Throws: `CancellationError` when the Task was cancelled while
        ///   waiting (no item was taken); `AsyncBridgeError.hubEnded`.
        public mutating func next() async throws -> Element? {
            if finished { return nil }
            let take = UncheckedSendable(source.take)
            do {
                let item = try await runGreenlet(on: source.hub, tryFirst: { () throws -> Element?? in
                    do { return .some(try take.value(.zero)) } catch QueueError.empty { return nil }
                }, { try take.value(nil) })
                if item == nil { finished = true }
                return item
            } catch {
                finished = true
                throw error
            }
        }
    }
}

/// A value carried across threads by code that keeps it on one hub (the
/// invariant is the carrier's to state).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension Queue where Element: Sendable {
    /// The queue's items as an `AsyncSequence` for async code (see
    /// `GreenSourceValues`). Call it on the queue's hub; iterate anywhere.
    /// Does not switch.
    public var asyncValues: GreenSourceValues<Element> {
        GreenSourceValues(hub: Hub.current) { [self] timeout in try nextItem(timeout: timeout) }
    }
}

extension Channel where Element: Sendable {
    /// The channel's items as an `AsyncSequence` for async code (see
    /// `GreenSourceValues`). Call it on the channel's hub; iterate anywhere.
    /// Does not switch.
    public var asyncValues: GreenSourceValues<Element> {
        GreenSourceValues(hub: Hub.current) { [self] timeout in try nextItem(timeout: timeout) }
    }
}
