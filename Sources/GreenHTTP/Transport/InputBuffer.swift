import Green

/// Bytes received from a stream and not yet parsed: a fixed buffer the
/// parser reads in place (it copies what it keeps, so the buffer never grows).
/// One per connection; used by one greenlet at a time.
final class InputBuffer {
    private let storage: UnsafeMutableRawPointer
    let capacity: Int
    private var start = 0
    private var end = 0

    init(capacity: Int = 16384) {
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes waiting to be parsed.
    var count: Int { end - start }
    var isEmpty: Bool { start == end }

    /// The bytes waiting to be parsed (valid until the next fill or consume).
    var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage + start, count: end - start) }

    /// Marks `n` bytes as parsed.
    func consume(_ n: Int) {
        start += n
        if start == end {
            start = 0
            end = 0
        }
    }

    /// Drops everything buffered.
    func clear() {
        start = 0
        end = 0
    }

    /// Receives once from `stream` into the free space.
    /// - Returns: false at the end of the stream.
    /// - Throws: the stream's errors (`SocketError.timedOut` at `deadline`); injected errors.
    /// - Note: switches while nothing has arrived.
    func fill(from stream: any ByteStream, deadline: ContinuousClock.Instant?) throws -> Bool {
        if end == capacity {
            if start == 0 { return true }  // full: the caller must parse first
            storage.copyMemory(from: storage + start, byteCount: end - start)
            end -= start
            start = 0
        }
        var timeout: Duration? = nil
        if let deadline {
            let left = deadline - ContinuousClock.now
            if left <= .zero { throw SocketError.timedOut }
            timeout = left
        }
        let n = try stream.recv(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end), timeout: timeout)
        if n == 0 { return false }
        end += n
        return true
    }
}
