/// Big-endian encoding of AMQP's primitive types into a byte array.
/// A value type: build a frame in one, hand its bytes to the socket.
struct WireWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24)); bytes.append(UInt8((v >> 16) & 0xff))
        bytes.append(UInt8((v >> 8) & 0xff)); bytes.append(UInt8(v & 0xff))
    }
    mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xffff_ffff)) }

    /// A short string: one length byte, at most 255 bytes (longer text is cut at 255 bytes).
    mutating func shortString(_ s: String) {
        let utf8 = Array(s.utf8.prefix(255))
        u8(UInt8(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func longString(_ s: String) { longBytes(Array(s.utf8)) }

    mutating func longBytes(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    /// Consecutive bit fields packed into one octet, the first in bit 0.
    mutating func bits(_ flags: Bool...) {
        var b: UInt8 = 0
        for (i, f) in flags.enumerated() where f { b |= 1 << UInt8(i) }
        u8(b)
    }

    mutating func table(_ t: FieldTable) {
        var inner = WireWriter()
        for (key, value) in t.entries {
            inner.shortString(key)
            inner.value(value)
        }
        longBytes(inner.bytes)
    }

    mutating func value(_ v: FieldValue) {
        switch v {
        case .bool(let b): u8(UInt8(ascii: "t")); u8(b ? 1 : 0)
        case .int8(let i): u8(UInt8(ascii: "b")); u8(UInt8(bitPattern: i))
        case .uint8(let i): u8(UInt8(ascii: "B")); u8(i)
        case .int16(let i): u8(UInt8(ascii: "s")); u16(UInt16(bitPattern: i))
        case .uint16(let i): u8(UInt8(ascii: "u")); u16(i)
        case .int32(let i): u8(UInt8(ascii: "I")); u32(UInt32(bitPattern: i))
        case .uint32(let i): u8(UInt8(ascii: "i")); u32(i)
        case .int64(let i): u8(UInt8(ascii: "l")); u64(UInt64(bitPattern: i))
        case .float(let f): u8(UInt8(ascii: "f")); u32(f.bitPattern)
        case .double(let d): u8(UInt8(ascii: "d")); u64(d.bitPattern)
        case .decimal(let scale, let value): u8(UInt8(ascii: "D")); u8(scale); u32(value)
        case .string(let s): u8(UInt8(ascii: "S")); longString(s)
        case .bytes(let b): u8(UInt8(ascii: "x")); longBytes(b)
        case .timestamp(let t): u8(UInt8(ascii: "T")); u64(t)
        case .table(let t): u8(UInt8(ascii: "F")); table(t)
        case .array(let a):
            u8(UInt8(ascii: "A"))
            var inner = WireWriter()
            for item in a { inner.value(item) }
            longBytes(inner.bytes)
        case .void: u8(UInt8(ascii: "V"))
        }
    }
}

/// Bounds-checked big-endian decoding: every read past the end throws
/// `FrameError.truncated`, never traps.
struct WireReader {
    let bytes: [UInt8]
    private(set) var index: Int
    let end: Int
    private let what: String

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, what: String = "frame") {
        self.bytes = bytes
        index = start
        self.end = min(end ?? bytes.count, bytes.count)
        self.what = what
    }

    var remaining: Int { end - index }
    var isAtEnd: Bool { index >= end }

    private mutating func need(_ n: Int) throws {
        if n < 0 || end - index < n { throw FrameError.truncated(what: what) }
    }

    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { index += 1 }
        return bytes[index]
    }

    mutating func u16() throws -> UInt16 {
        try need(2)
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func u32() throws -> UInt32 {
        try need(4)
        defer { index += 4 }
        return UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
            | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
    }

    mutating func u64() throws -> UInt64 { UInt64(try u32()) << 32 | UInt64(try u32()) }

    mutating func take(_ n: Int) throws -> [UInt8] {
        try need(n)
        defer { index += n }
        return Array(bytes[index..<index + n])
    }

    mutating func skip(_ n: Int) throws {
        try need(n)
        index += n
    }

    mutating func shortString() throws -> String {
        let n = Int(try u8())
        return String(decoding: try take(n), as: UTF8.self)
    }

    mutating func longBytes() throws -> [UInt8] { try take(Int(try u32())) }

    mutating func longString() throws -> String { String(decoding: try longBytes(), as: UTF8.self) }

    /// Reads one octet of packed bits; `count` of them, the first in bit 0.
    mutating func bits(_ count: Int) throws -> [Bool] {
        let b = try u8()
        return (0..<count).map { b & (1 << UInt8($0)) != 0 }
    }

    mutating func table(depth: Int = 0) throws -> FieldTable {
        if depth > 16 { throw FrameError.tooDeep }
        let length = Int(try u32())
        try need(length)
        var inner = WireReader(bytes, from: index, to: index + length, what: "field table")
        index += length
        var table = FieldTable()
        while !inner.isAtEnd {
            let key = try inner.shortString()
            table[key] = try inner.value(depth: depth)
        }
        return table
    }

    mutating func value(depth: Int) throws -> FieldValue {
        let type = try u8()
        switch type {
        case UInt8(ascii: "t"): return .bool(try u8() != 0)
        case UInt8(ascii: "b"): return .int8(Int8(bitPattern: try u8()))
        case UInt8(ascii: "B"): return .uint8(try u8())
        case UInt8(ascii: "s"): return .int16(Int16(bitPattern: try u16()))
        case UInt8(ascii: "u"): return .uint16(try u16())
        case UInt8(ascii: "I"): return .int32(Int32(bitPattern: try u32()))
        case UInt8(ascii: "i"): return .uint32(try u32())
        case UInt8(ascii: "l"), UInt8(ascii: "L"): return .int64(Int64(bitPattern: try u64()))
        case UInt8(ascii: "f"): return .float(Float(bitPattern: try u32()))
        case UInt8(ascii: "d"): return .double(Double(bitPattern: try u64()))
        case UInt8(ascii: "D"): return .decimal(scale: try u8(), value: try u32())
        case UInt8(ascii: "S"): return .string(try longString())
        case UInt8(ascii: "x"): return .bytes(try longBytes())
        case UInt8(ascii: "T"): return .timestamp(try u64())
        case UInt8(ascii: "F"): return .table(try table(depth: depth + 1))
        case UInt8(ascii: "A"):
            if depth > 16 { throw FrameError.tooDeep }
            let length = Int(try u32())
            try need(length)
            var inner = WireReader(bytes, from: index, to: index + length, what: "field array")
            index += length
            var items: [FieldValue] = []
            while !inner.isAtEnd { items.append(try inner.value(depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "V"): return .void
        default: throw FrameError.unknownFieldType(type)
        }
    }
}
