/// SwiftConcurrencyPrimitives: the two building blocks of the swift-runtime workloads.
///
/// - `Inbox`: an actor's mailbox in the Swift idiom, an unbounded `AsyncStream` that one Task
///   consumes while others yield messages into its continuation.
/// - `Gate`: one event many Tasks park on until it opens, built on continuations.
import Synchronization

/// A mailbox: the consuming Task iterates `messages`; senders call `send`.
struct Inbox<Message: Sendable>: Sendable {
    let messages: AsyncStream<Message>
    private let continuation: AsyncStream<Message>.Continuation

    init() {
        (messages, continuation) = AsyncStream.makeStream(of: Message.self)
    }

    func send(_ message: Message) {
        continuation.yield(message)
    }

    /// Ends `messages` once the messages already sent have been consumed.
    func close() {
        continuation.finish()
    }
}

/// An event that Tasks park on until it opens. It also tells when a given number have parked.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var parked: [UnsafeContinuation<Void, Never>] = []
        var expected: Int
        var onAllParked: UnsafeContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    /// A closed gate; `allParked()` returns once `expected` Tasks are parked on it.
    init(expected: Int) {
        var state = State(expected: expected)
        state.parked.reserveCapacity(expected)
        self.state = Mutex(state)
    }

    /// Suspends until the gate opens (returns at once if it is open).
    func park() async {
        await withUnsafeContinuation { (waiter: UnsafeContinuation<Void, Never>) in
            let (isOpen, lastParked) = state.withLock { state -> (Bool, UnsafeContinuation<Void, Never>?) in
                guard !state.isOpen else { return (true, nil) }
                state.parked.append(waiter)
                guard state.parked.count == state.expected else { return (false, nil) }
                defer { state.onAllParked = nil }
                return (false, state.onAllParked)
            }
            if isOpen { waiter.resume() }
            lastParked?.resume()
        }
    }

    /// Suspends until the expected number of Tasks are parked (or the gate is open).
    func allParked() async {
        await withUnsafeContinuation { (waiter: UnsafeContinuation<Void, Never>) in
            let done = state.withLock { state in
                guard !state.isOpen && state.parked.count < state.expected else { return true }
                state.onAllParked = waiter
                return false
            }
            if done { waiter.resume() }
        }
    }

    /// Opens the gate, resuming every parked Task.
    func open() {
        let parked = state.withLock { state in
            state.isOpen = true
            defer { state.parked = [] }
            return state.parked
        }
        for waiter in parked { waiter.resume() }
    }
}
