import HeapModule

/// A queue that returns its smallest item first: gevent's `PriorityQueue`.
/// Items that compare equal come out in the order they were put.
///
/// ```swift
/// struct Job: Comparable { var priority: Int; var name: String
///     static func < (a: Job, b: Job) -> Bool { a.priority < b.priority } }
/// let jobs = PriorityQueue<Job>()
/// ```
///
/// Everything else is `Queue`'s: `maxSize`, blocking, FIFO order among blocked
/// greenlets, `close()`, kill-safety, thread-safety (every member may be
/// called from another hub or thread; see `Queue`). An item put while a getter
/// waits goes straight to that getter.
public final class PriorityQueue<Element: Comparable>: Queue<Element> {
    private struct Entry: Comparable {
        let item: Element
        let order: UInt64
        static func < (a: Entry, b: Entry) -> Bool {
            a.item < b.item || (!(b.item < a.item) && a.order < b.order)
        }
        static func == (a: Entry, b: Entry) -> Bool { a.order == b.order }
    }

    private var heap = Heap<Entry>()
    private var nextOrder: UInt64 = 0

    /// An empty priority queue; `maxSize` as for `Queue`.
    public override init(maxSize: Int? = nil) { super.init(maxSize: maxSize) }

    override var storedCount: Int { heap.count }
    override func store(_ item: Element) {
        heap.insert(Entry(item: item, order: nextOrder))
        nextOrder &+= 1
    }
    override func unstore() -> Element { heap.removeMin().item }
    override func storedNext() -> Element? { heap.min?.item }
}
