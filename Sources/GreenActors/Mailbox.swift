import Green

/// An actor's inbox: a growable ring of envelopes stored inline.
///
/// The hot path: `put` is an append plus, when the owner is parked waiting,
/// one `wake`; `take` is a pop. No allocation per message once the ring has
/// grown to its working size, no lock (everything runs on one hub's thread).
///
/// A final class with non-mutating methods: the owner parks inside `take`,
/// which must not be inside an exclusive access.
///
/// Cross-thread sends (a later issue) would enter through `Hub.runThreadsafe`
/// and call `put` on the owner's hub, leaving this type unchanged.
final class Mailbox<Message> {
    private var buffer: UnsafeMutablePointer<Envelope<Message>>
    private var mask: Int
    private var head = 0
    private(set) var count = 0
    let policy: MailboxPolicy
    private let limit: Int
    unowned(unsafe) let hub: Hub
    unowned(unsafe) var owner: AnyGreenlet!
    private var ownerWaiting = false
    private let blockedSenders = WaitList()

    init(policy: MailboxPolicy, hub: Hub) {
        self.policy = policy
        self.hub = hub
        limit = policy.capacity ?? Int.max
        let cap = 64
        buffer = .allocate(capacity: cap)
        mask = cap - 1
    }

    deinit {
        drain { _ in }
        buffer.deallocate()
    }

    /// Appends `e` (or blocks, drops or throws per the policy when full).
    /// - Returns: false when the message was dropped.
    /// - Note: switches only with `.blockSender` and a full mailbox.
    @inline(__always)
    func put(_ e: Envelope<Message>, force: Bool = false) throws -> Bool {
        if count >= limit && !force {
            switch policy {
            case .unbounded: break
            case .blockSender:
                while count >= limit { _ = try blockedSenders.wait() }
            case .dropNewest:
                return false
            case .failSend(let c):
                throw MailboxError.full(actor: owner.name, capacity: c)
            }
        }
        if count > mask { grow() }
        (buffer + ((head &+ count) & mask)).initialize(to: e)
        count &+= 1
        if ownerWaiting {
            ownerWaiting = false
            hub.wake(owner)
        }
        return true
    }

    /// Takes the oldest envelope, parking the owner while the mailbox is empty.
    /// - Throws: errors injected into the owner (kill, shutdown).
    /// - Note: switches when empty.
    @inline(__always)
    func take() throws -> Envelope<Message> {
        while count == 0 {
            ownerWaiting = true
            do {
                _ = try hub.park()
            } catch {
                ownerWaiting = false
                throw error
            }
        }
        let e = (buffer + (head & mask)).move()
        head &+= 1
        count &-= 1
        if !blockedSenders.isEmpty { blockedSenders.wakeOne() }
        return e
    }

    /// Removes every envelope, oldest first, handing each to `body`.
    func drain(_ body: (Envelope<Message>) -> Void) {
        while count > 0 {
            let e = (buffer + (head & mask)).move()
            head &+= 1
            count -= 1
            body(e)
        }
        blockedSenders.wakeAll()
    }

    private func grow() {
        let oldCap = mask + 1
        let newBuf = UnsafeMutablePointer<Envelope<Message>>.allocate(capacity: oldCap * 2)
        for i in 0..<count {
            (newBuf + i).moveInitialize(from: buffer + ((head &+ i) & mask), count: 1)
        }
        buffer.deallocate()
        buffer = newBuf
        mask = oldCap * 2 - 1
        head = 0
    }
}
