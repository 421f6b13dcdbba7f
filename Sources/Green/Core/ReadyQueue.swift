/// The hub's FIFO of runnable greenlets: a growable ring of unretained pointers.
///
/// Invariant: every greenlet in the queue is kept alive by its own self-retain
/// (taken at spawn, dropped at death once it is out of this queue), so the
/// queue itself does no reference counting: the switch path stays free of ARC.
struct ReadyQueue {
    private var buffer: UnsafeMutablePointer<UnsafeMutableRawPointer>
    private var mask: Int
    private var head = 0
    private var tail = 0

    init(capacity: Int = 256) {
        var cap = 1
        while cap < capacity { cap <<= 1 }
        buffer = .allocate(capacity: cap)
        mask = cap - 1
    }

    func deallocate() { buffer.deallocate() }

    var count: Int { tail &- head }
    var isEmpty: Bool { head == tail }

    @inline(__always)
    mutating func append(_ p: UnsafeMutableRawPointer) {
        if tail &- head > mask { grow() }
        buffer[tail & mask] = p
        tail &+= 1
    }

    /// Puts `p` at the head: it runs next (a joiner whose greenlet just ended).
    @inline(__always)
    mutating func pushFront(_ p: UnsafeMutableRawPointer) {
        if tail &- head > mask { grow() }
        head &-= 1
        buffer[head & mask] = p
    }

    /// Removes `p` if it is among the last `window` entries (a greenlet spawned
    /// moments ago), keeping the order of the rest. Returns whether it was there.
    mutating func removeNearTail(_ p: UnsafeMutableRawPointer, window: Int) -> Bool {
        var i = tail &- 1
        let stop = max(head, tail &- window)
        while i >= stop {
            if buffer[i & mask] == p {
                var j = i
                while j &+ 1 < tail {
                    buffer[j & mask] = buffer[(j &+ 1) & mask]
                    j &+= 1
                }
                tail &-= 1
                return true
            }
            i &-= 1
        }
        return false
    }

    @inline(__always)
    mutating func popFirst() -> UnsafeMutableRawPointer? {
        if head == tail { return nil }
        let p = buffer[head & mask]
        head &+= 1
        return p
    }

    private mutating func grow() {
        let oldCap = mask + 1
        let newBuf = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: oldCap * 2)
        for i in 0..<count { newBuf[i] = buffer[(head &+ i) & mask] }
        let n = count
        buffer.deallocate()
        buffer = newBuf
        mask = oldCap * 2 - 1
        head = 0
        tail = n
    }
}
