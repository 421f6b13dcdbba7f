import Green

/// A failure that ends the whole connection: every channel on it is gone
/// with it (AMQP 0-9-1 "connection exceptions", socket failures, a broker
/// that stops answering). Reconnecting (`AMQPClient`) is the cure.
public enum AMQPConnectionError: Error, Equatable, CustomStringConvertible {
    /// The broker closed the connection with `connection.close`: its reply
    /// code (320 connection-forced, 501 frame-error, 503 command-invalid,
    /// 530 not-allowed...), its text, and the method that caused it (0, 0 if none).
    case closedByBroker(code: UInt16, text: String, classId: UInt16, methodId: UInt16)
    /// The broker refused the user name or password (403 ACCESS_REFUSED during the handshake).
    case accessRefused(String)
    /// The socket failed (reset, refused, closed, timed out).
    case socket(SocketError)
    /// The broker closed the socket without a `connection.close`.
    case connectionLost
    /// No frame came from the broker for two heartbeat intervals.
    case heartbeatMissed(interval: Duration)
    /// The broker sent bytes that are not AMQP 0-9-1 as this client knows it;
    /// the client closed the connection (with 501/505 when it still could).
    case protocolViolation(FrameError)
    /// The broker does not speak AMQP 0-9-1 (it answered the protocol header with another).
    case unsupportedProtocol([UInt8])
    /// The handshake did not finish within its timeout.
    case handshakeTimedOut
    /// `close()` was called: the connection was closed by this program.
    case closedByClient

    public var description: String {
        switch self {
        case .closedByBroker(let code, let text, let c, let m):
            return "the broker closed the connection: \(code) \(text)" + (c == 0 ? "" : " (method \(c).\(m))")
        case .accessRefused(let text): return "the broker refused the login: \(text)"
        case .socket(let e): return "socket: \(e)"
        case .connectionLost: return "the broker closed the socket"
        case .heartbeatMissed(let d): return "no heartbeat from the broker for \(d * 2)"
        case .protocolViolation(let e): return "protocol violation: \(e)"
        case .unsupportedProtocol(let header): return "the broker speaks another protocol: \(header)"
        case .handshakeTimedOut: return "the AMQP handshake timed out"
        case .closedByClient: return "the connection was closed by this program"
        }
    }
}

/// A failure that ends one channel: the connection and its other channels
/// live on (AMQP "channel exceptions": 403 access-refused, 404 not-found,
/// 405 resource-locked, 406 precondition-failed), or the channel's use after
/// it was closed. Open a new channel to go on.
public enum AMQPChannelError: Error, Equatable, CustomStringConvertible {
    /// The broker closed the channel with `channel.close`: its reply code
    /// (404 NOT_FOUND for a missing queue, 406 PRECONDITION_FAILED for a
    /// redeclaration with other flags or an unknown delivery tag...), its text
    /// and the method that caused it.
    case closedByBroker(code: UInt16, text: String, classId: UInt16, methodId: UInt16)
    /// The channel was closed by this program (`close()`).
    case closedByClient
    /// The connection under the channel ended; the connection's error says why.
    case connectionClosed(AMQPConnectionError)
    /// The broker has no channel number left (channel-max reached).
    case noChannelNumberLeft
    /// The broker sent a method this client did not expect at this point on the channel.
    case unexpected(String)

    /// The broker's reply code, when the broker closed the channel.
    public var replyCode: UInt16? {
        if case .closedByBroker(let code, _, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .closedByBroker(let code, let text, let c, let m):
            return "the broker closed the channel: \(code) \(text)" + (c == 0 ? "" : " (method \(c).\(m))")
        case .closedByClient: return "the channel was closed by this program"
        case .connectionClosed(let e): return "the connection closed: \(e)"
        case .noChannelNumberLeft: return "no channel number left on this connection"
        case .unexpected(let what): return "unexpected from the broker: \(what)"
        }
    }
}

/// Why a publish with publisher confirms did not end confirmed. The message
/// may or may not have reached a queue except for `nacked` (the broker says it
/// did not take it) and `returned` (unroutable with `mandatory`).
public enum AMQPPublishError: Error, Equatable, CustomStringConvertible {
    /// The broker answered `basic.nack`: it could not take the message.
    case nacked(sequence: UInt64)
    /// The message was `mandatory` and no queue was bound for it: `basic.return`.
    case returned(code: UInt16, text: String, exchange: String, routingKey: String)
    /// The channel or connection ended before the broker confirmed: the message
    /// may have been taken or not. Publish it again to be sure (at least once).
    case unconfirmed(sequence: UInt64, reason: String)
    /// The confirm did not come within the caller's timeout (it may still come).
    case confirmTimedOut(sequence: UInt64)

    public var description: String {
        switch self {
        case .nacked(let s): return "publish #\(s) was nacked by the broker"
        case .returned(let code, let text, let x, let rk):
            return "publish was returned: \(code) \(text) (exchange '\(x)', routing key '\(rk)')"
        case .unconfirmed(let s, let why): return "publish #\(s) unconfirmed: \(why)"
        case .confirmTimedOut(let s): return "publish #\(s): no confirm within the timeout"
        }
    }
}

/// A broker URL that cannot be used: `amqp://user:password@host:port/vhost`.
public struct AMQPURLError: Error, Equatable, CustomStringConvertible {
    /// The text given.
    public let url: String
    /// What is wrong with it.
    public let reason: String
    public var description: String { "bad AMQP URL '\(url)': \(reason)" }
}
