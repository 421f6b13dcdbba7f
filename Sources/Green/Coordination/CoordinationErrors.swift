/// Why a queue or channel operation failed: gevent's `Empty` and `Full`, plus
/// `closed` (beyond gevent, as Go channels have).
public enum QueueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A get found nothing: `getNowait` on an empty queue, or a get whose
    /// `timeout:` elapsed (gevent's `Empty`).
    case empty
    /// A put found no room: `putNowait` on a full queue (or a channel nobody
    /// waits on), or a put whose `timeout:` elapsed (gevent's `Full`).
    case full
    /// The queue was closed: a put after `close()`, a put blocked when it was
    /// closed, or a get after everything left was drained.
    case closed

    /// A sentence saying what went wrong.
    public var description: String {
        switch self {
        case .empty: return "the queue is empty"
        case .full: return "the queue is full"
        case .closed: return "the queue is closed"
        }
    }
}

/// Misuse of a coordination primitive, each named.
public enum CoordinationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `AsyncResult.set` (value or error) was called on a result already set.
    case alreadySet
    /// A `BoundedSemaphore` was released more often than acquired, or a `Lock`
    /// was released while unlocked.
    case releasedTooOften
    /// An `RLock` was released by a greenlet that does not hold it.
    case notOwner
    /// `JoinableQueue.taskDone()` was called more often than items were put.
    case taskDoneTooOften

    /// A sentence saying what went wrong.
    public var description: String {
        switch self {
        case .alreadySet: return "the result was already set (a result can be set once)"
        case .releasedTooOften: return "released more often than acquired"
        case .notOwner: return "the lock is released by a greenlet that does not hold it"
        case .taskDoneTooOften: return "taskDone() called more times than there were items"
        }
    }
}

/// What a group or pool does when one of its jobs fails.
public enum ErrorPolicy: Sendable {
    /// The first failure ends the wait: the remaining jobs are killed (and
    /// waited for), then that error is thrown.
    case failFast
    /// Every job runs to its end; then, if any failed, a `JobFailures` listing
    /// every error is thrown.
    case collect
}

/// The errors of the jobs that failed under `ErrorPolicy.collect`.
public struct JobFailures: Error, CustomStringConvertible {
    /// Each failed job's position in the input (for `map`/`imap`), or its
    /// order of finishing (for `join`), with its error, in that order.
    public let failures: [(index: Int, error: any Error)]

    /// Failures listed by index.
    public init(_ failures: [(index: Int, error: any Error)]) { self.failures = failures }

    /// A sentence saying what went wrong.
    public var description: String {
        "\(failures.count) job(s) failed: " + failures.map { "#\($0.index): \($0.error)" }.joined(separator: ", ")
    }
}
