/// One value of an AMQP field table (arguments, headers, server properties),
/// with RabbitMQ's type letters.
public indirect enum FieldValue: Equatable, Sendable {
    case bool(Bool)
    case int8(Int8)
    case uint8(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case float(Float)
    case double(Double)
    /// A decimal: `value` / 10^`scale`.
    case decimal(scale: UInt8, value: UInt32)
    case string(String)
    case bytes([UInt8])
    /// Seconds since the Unix epoch.
    case timestamp(UInt64)
    case table(FieldTable)
    case array([FieldValue])
    case void

    /// The value as text, when it is a string.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The value as an integer, when it is one of the integer types.
    public var int: Int? {
        switch self {
        case .int8(let i): return Int(i)
        case .uint8(let i): return Int(i)
        case .int16(let i): return Int(i)
        case .uint16(let i): return Int(i)
        case .int32(let i): return Int(i)
        case .uint32(let i): return Int(i)
        case .int64(let i): return Int(i)
        default: return nil
        }
    }
}

/// An AMQP field table: ordered keys to values (queue arguments such as
/// `x-message-ttl`, message headers). Order is kept as written.
public struct FieldTable: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    /// The entries in order.
    public private(set) var entries: [(String, FieldValue)] = []

    /// An empty table.
    public init() {}

    /// A table of these entries, in order.
    public init(dictionaryLiteral elements: (String, FieldValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    /// The value under `key`; setting nil removes it.
    public subscript(key: String) -> FieldValue? {
        get { entries.first { $0.0 == key }?.1 }
        set {
            if let i = entries.firstIndex(where: { $0.0 == key }) {
                if let newValue { entries[i].1 = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }

    public static func == (a: FieldTable, b: FieldTable) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
