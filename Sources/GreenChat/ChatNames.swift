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
