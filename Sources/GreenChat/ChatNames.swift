import Glibc
import Green

/// The names taken in a `MultiHubChatRoom`, on every hub at once, with the
/// hub each user is on: a name is claimed when a connection gives it and freed
/// when that connection has told the others it left.
///
/// Thread-safe: every member may be called from any hub or thread. A mutex
/// guards the dictionary; it is held only for a lookup or an update (never
/// across a switch or a blocking call), once per join and per leave.
final class ChatNames: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var hubOf: [String: Int] = [:]
    /// Names to free once this many more hubs have queued their leave notice.
    private var releases: [String: Int] = [:]

    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }

    /// Takes `name` for a user on hub `hub` if nobody has it.
    /// - Returns: false when the name is taken. Never switches; any thread.
    func claim(_ name: String, hub: Int) -> Bool {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard hubOf[name] == nil else { return false }
        hubOf[name] = hub
        return true
    }

    /// Frees `name`. Never switches; any thread.
    func release(_ name: String) {
        pthread_mutex_lock(&lock)
        hubOf[name] = nil
        pthread_mutex_unlock(&lock)
    }

    /// Frees `name` once `count` hubs have called `arrived(_:)` for it (at
    /// once when `count` is 0): a name is held until every hub has queued its
    /// user's leave notice. Never switches; any thread.
    func release(_ name: String, afterArrivals count: Int) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if count == 0 { hubOf[name] = nil } else { releases[name] = count }
    }

    /// One more hub has queued the leave notice of `name` (see
    /// `release(_:afterArrivals:)`). Never switches; any thread.
    func arrived(_ name: String) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard let n = releases[name] else { return }
        if n <= 1 {
            releases[name] = nil
            hubOf[name] = nil
        } else {
            releases[name] = n - 1
        }
    }

    /// Every name taken now, sorted. Never switches; any thread.
    var all: [String] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return hubOf.keys.sorted()
    }

    /// The hub index of the user named `name`, if any. Never switches; any thread.
    func hub(of name: String) -> Int? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return hubOf[name]
    }
}

/// Another hub's room of a `MultiHubChatRoom`, as one room sees it: reached
/// only through `hub` (`runThreadsafe`, `Hub.call`), never touched from here.
struct ChatPeer: @unchecked Sendable {
    let hub: Hub
    let room: ChatRoom
}
