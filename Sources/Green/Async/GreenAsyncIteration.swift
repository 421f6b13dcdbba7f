/// An `AsyncSequence` iterated by green code with a plain `for` loop: each
/// step is an `awaitAsync` of the sequence's `next()`, so only the iterating
/// greenlet parks while its hub runs the others.
///
/// ```swift
/// for line in response.body.greenValues { try handle(line) }      // in a greenlet
/// ```
///
/// The loop form cannot throw: an error ends the loop, is kept in
/// `failure`, and is thrown at the greenlet's next blocking call (as
/// `Queue`'s loop does with a kill). To have every error thrown at once, use
/// `nextElement(timeout:)` in a `while let` loop:
///
/// ```swift
/// let values = stream.greenValues
/// while let v = try values.nextElement(timeout: .seconds(5)) { ... }
/// ```
///
/// A step that ends early (timeout, kill) cancels its Task and ends the
/// iteration: the async iterator is never used by two steps at once.
///
/// Thread-safety: use it from one greenlet.
public final class GreenAsyncValues<Base: AsyncSequence>: Sequence, IteratorProtocol where Base.Element: Sendable {
    private let box: IteratorBox<Base.AsyncIterator>
    private var done = false
    /// The error that ended a `for` loop over this, if one did.
    public private(set) var failure: (any Error)?

    init(_ base: Base) { box = IteratorBox(base.makeAsyncIterator()) }

    /// The next element, or nil at the end of the sequence.
    /// - Throws: what the sequence's `next()` threw, unchanged; `Timeout` when
    ///   `timeout` elapsed first; errors injected into the caller; as
    ///   `awaitAsync`. After an error the iteration is over.
    /// - Note: switches.
    public func nextElement(timeout: Duration? = nil) throws -> Base.Element? {
        if done { return nil }
        let box = self.box
        do {
            let element = try awaitAsync(timeout: timeout) { try await box.next() }
            if element == nil { done = true }
            return element
        } catch {
            done = true
            throw error
        }
    }

    /// The next element for a `for` loop; nil at the end or on an error (kept in
    /// `failure` and thrown at the greenlet's next blocking call).
    /// - Note: switches.
    public func next() -> Base.Element? {
        do {
            return try nextElement()
        } catch {
            failure = error
            reinjectForNextBlockingCall(error)
            return nil
        }
    }
}

/// The async iterator, stepped by one Task at a time (each step's Task ends,
/// or is abandoned with the iteration ended, before another can start).
private final class IteratorBox<Iterator: AsyncIteratorProtocol>: @unchecked Sendable where Iterator.Element: Sendable {
    private var iterator: Iterator
    init(_ iterator: Iterator) { self.iterator = iterator }
    func next() async throws -> Iterator.Element? { try await iterator.next() }
}

extension AsyncSequence where Element: Sendable {
    /// This sequence for green code: a plain `for` loop whose every step
    /// parks only the calling greenlet (see `GreenAsyncValues`).
    /// Does not switch; iterating does.
    public var greenValues: GreenAsyncValues<Self> { GreenAsyncValues(self) }
}
