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
