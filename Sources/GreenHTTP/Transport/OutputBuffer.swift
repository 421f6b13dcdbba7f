import Green

/// Bytes of responses (or requests) built and not yet sent: heads, small
/// bodies and chunks are appended here and go out in one send.
/// One per connection; used by one greenlet at a time.
final class OutputBuffer {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 16384) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }
    var isEmpty: Bool { bytes.isEmpty }

    @inline(__always) func append(_ byte: UInt8) { bytes.append(byte) }
    @inline(__always) func append(_ more: [UInt8]) { bytes.append(contentsOf: more) }
    @inline(__always) func append(_ more: UnsafeRawBufferPointer) { bytes.append(contentsOf: more) }
    @inline(__always) func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
    func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends `n` in decimal.
    func appendDecimal(_ n: Int) {
        precondition(n >= 0)
        if n < 10 { bytes.append(48 + UInt8(n)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var i = 20
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                i -= 1
                d[i] = 48 + UInt8(v % 10)
                v /= 10
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[i..<20]))
        }
    }

    /// Appends `n` in lower-case hexadecimal (chunk sizes).
    func appendHex(_ n: Int) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var shift = (Int.bitWidth - n.leadingZeroBitCount + 3) / 4 * 4 - 4
        if n == 0 { bytes.append(48); return }
        while shift >= 0 {
            bytes.append(hex[(n >> shift) & 15])
            shift -= 4
        }
    }

    /// Sends everything buffered.
    /// - Throws: the stream's errors; `SocketError.timedOut` after `timeout`; injected errors.
    ///   On an error the buffer is dropped (the connection is done for).
    /// - Note: switches while the stream is full.
    func flush(to stream: any ByteStream, timeout: Duration?) throws {
        guard !bytes.isEmpty else { return }
        defer { bytes.removeAll(keepingCapacity: true) }
        try bytes.withUnsafeBytes { try stream.sendAll($0, timeout: timeout) }
    }
}

extension OutputBuffer {
    /// Drops the last `n` bytes.
    func dropLast(_ n: Int) { bytes.removeLast(n) }
}
