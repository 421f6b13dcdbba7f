/// How big a mailbox may grow, and what a send to a full one does.
public enum MailboxPolicy: Sendable {
    /// No limit: `send` never blocks.
    case unbounded
    /// At most `capacity` messages; the sender blocks until there is room (backpressure).
    case blockSender(capacity: Int)
    /// At most `capacity`; a message that does not fit is dropped and counted as a dead letter.
    case dropNewest(capacity: Int)
    /// At most `capacity`; `send` throws `MailboxError.full`.
    case failSend(capacity: Int)

    var capacity: Int? {
        switch self {
        case .unbounded: return nil
        case .blockSender(let c), .dropNewest(let c), .failSend(let c): return c
        }
    }
}

/// Why a send failed.
public enum MailboxError: Error, Equatable, CustomStringConvertible {
    /// The mailbox is full and its policy is `.failSend`.
    case full(actor: String, capacity: Int)
    /// The actor has ended; the message went to the dead letters.
    case actorDead(actor: String)
    /// `ask` got no reply in time; a late reply will be dropped.
    case noReply(actor: String)

    public var description: String {
        switch self {
        case .full(let a, let c): return "mailbox of '\(a)' is full (\(c) messages)"
        case .actorDead(let a): return "actor '\(a)' has ended"
        case .noReply(let a): return "no reply from '\(a)' in time"
        }
    }
}
