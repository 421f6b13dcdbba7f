/// What is wrong with bytes received from the broker. Decoding never traps:
/// every read is bounds-checked and ends in one of these.
public enum FrameError: Error, Equatable, CustomStringConvertible {
    /// A frame, method or field ended before its declared length.
    case truncated(what: String)
    /// A frame's last byte was not 0xCE.
    case badFrameEnd(UInt8)
    /// A frame type other than method (1), header (2), body (3), heartbeat (8).
    case unknownFrameType(UInt8)
    /// A frame larger than the negotiated frame-max.
    case frameTooLarge(size: Int, max: Int)
    /// A method this client does not know (class id, method id).
    case unknownMethod(classId: UInt16, methodId: UInt16)
    /// A field-table value of a type this client does not know.
    case unknownFieldType(UInt8)
    /// A content header or body frame with no method before it, or bodies beyond the declared size.
    case unexpectedContent(String)
    /// A heartbeat on a channel other than 0, or a channel the client never opened.
    case badChannel(UInt16)
    /// A field table nested deeper than the client accepts.
    case tooDeep

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated \(what)"
        case .badFrameEnd(let b): return "frame end byte 0x\(String(b, radix: 16)) instead of 0xce"
        case .unknownFrameType(let t): return "unknown frame type \(t)"
        case .frameTooLarge(let size, let max): return "frame of \(size) bytes over frame-max \(max)"
        case .unknownMethod(let c, let m): return "unknown method \(c).\(m)"
        case .unknownFieldType(let t): return "unknown field type 0x\(String(t, radix: 16))"
        case .unexpectedContent(let why): return "unexpected content: \(why)"
        case .badChannel(let c): return "bad channel \(c)"
        case .tooDeep: return "field table nested too deep"
        }
    }
}
