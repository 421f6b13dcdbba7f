import Glibc

/// What a green socket call can fail with, named for the cases a caller
/// handles (refused, reset, timed out, closed) and carrying `errno` otherwise.
public enum SocketError: Error, Equatable, CustomStringConvertible {
    /// The peer refused the connection (`ECONNREFUSED`).
    case connectionRefused
    /// The peer reset the connection (`ECONNRESET`).
    case connectionReset
    /// Writing to a connection the peer has closed (`EPIPE`).
    case brokenPipe
    /// The call's own `timeout:` elapsed first, or the kernel gave up (`ETIMEDOUT`).
    case timedOut
    /// The socket was closed, by this process, before or during the call.
    case closed
    /// The address is already bound by another socket (`EADDRINUSE`).
    case addressInUse
    /// The address cannot be bound here (`EADDRNOTAVAIL`).
    case addressNotAvailable
    /// No route to the host or network (`EHOSTUNREACH`, `ENETUNREACH`).
    case unreachable
    /// Name resolution failed: `getaddrinfo`'s code and message.
    case resolutionFailed(host: String, code: Int32, message: String)
    /// Another greenlet is already waiting on this socket in the same direction.
    case concurrentUse
    /// A text address that is not an IPv4 or IPv6 literal, or a port out of range.
    case invalidAddress(String)
    /// Any other failure of a system call: its name and `errno`.
    case system(call: String, errno: Int32)

    /// Maps an `errno` of `call` to the named case when there is one.
    public static func from(errno code: Int32, call: String) -> SocketError {
        switch code {
        case ECONNREFUSED: return .connectionRefused
        case ECONNRESET: return .connectionReset
        case EPIPE: return .brokenPipe
        case ETIMEDOUT: return .timedOut
        case EBADF: return .closed
        case EADDRINUSE: return .addressInUse
        case EADDRNOTAVAIL: return .addressNotAvailable
        case EHOSTUNREACH, ENETUNREACH: return .unreachable
        default: return .system(call: call, errno: code)
        }
    }

    /// Whether this is how a peer going away usually shows (reset, broken pipe, closed).
    public var isDisconnect: Bool {
        switch self {
        case .connectionReset, .brokenPipe, .closed: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .connectionRefused: return "connection refused"
        case .connectionReset: return "connection reset by peer"
        case .brokenPipe: return "broken pipe"
        case .timedOut: return "timed out"
        case .closed: return "socket closed"
        case .addressInUse: return "address already in use"
        case .addressNotAvailable: return "address not available"
        case .unreachable: return "host or network unreachable"
        case .resolutionFailed(let host, let code, let message):
            return "cannot resolve '\(host)': \(message) (\(code))"
        case .concurrentUse: return "another greenlet is already waiting on this socket in that direction"
        case .invalidAddress(let text): return "invalid address '\(text)'"
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

/// What a `BufferedReader` adds to the socket's own errors.
public enum ReaderError: Error, Equatable, CustomStringConvertible {
    /// A line longer than `limit` bytes (not counting its `\n`). What was read
    /// of it is dropped, and the next read skips the rest of it, so the stream
    /// stays usable: the caller can refuse the line and carry on.
    case lineTooLong(limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "line longer than \(limit) bytes"
        }
    }
}
