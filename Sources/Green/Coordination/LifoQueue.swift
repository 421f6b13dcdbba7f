/// A queue that returns the most recently added item first: gevent's `LifoQueue`.
///
/// Everything else is `Queue`'s: `maxSize`, blocking, FIFO order among blocked
/// greenlets, `close()`, kill-safety, thread-safety (every member may be
/// called from another hub or thread; see `Queue`). An item put while a getter
/// waits goes straight to that getter.
public final class LifoQueue<Element>: Queue<Element> {
    private var stack: [Element] = []

    /// An empty LIFO queue; `maxSize` as for `Queue`.
    public override init(maxSize: Int? = nil) { super.init(maxSize: maxSize) }

    override var storedCount: Int { stack.count }
    override func store(_ item: Element) { stack.append(item) }
    override func unstore() -> Element { stack.removeLast() }
    override func storedNext() -> Element? { stack.last }
}
