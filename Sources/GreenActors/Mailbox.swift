import Green
import Synchronization

/// One message in a mailbox's remote inbox (see `Mailbox`): a raw block, the
/// next node's address (0 at the end) then the message. Not a generic class:
/// allocating a `Node<Message>` from unspecialized code looks its metadata up
/// at run time on every message; a raw block needs only `Message`'s size and
/// alignment, which the mailbox's own metadata carries.
@usableFromInline
struct RemoteNode<Message> {
    let raw: UnsafeMutableRawPointer

    /// Where the message starts: after the link, at the message's alignment.
    @inline(__always)
    static var messageOffset: Int { Swift.max(MemoryLayout<UInt>.size, MemoryLayout<Message>.alignment) }

    /// A node holding `message`, not linked.
    @inline(__always)
    init(_ message: Message) {
        raw = .allocate(byteCount: Self.messageOffset + MemoryLayout<Message>.size,
                        alignment: Swift.max(MemoryLayout<UInt>.alignment, MemoryLayout<Message>.alignment))
        raw.storeBytes(of: 0, as: UInt.self)
        (raw + Self.messageOffset).initializeMemory(as: Message.self, to: message)
    }

    @inline(__always)
    init(bits: UInt) { raw = UnsafeMutableRawPointer(bitPattern: bits).unsafelyUnwrapped }

    @inline(__always)
    var bits: UInt { UInt(bitPattern: raw) }

    /// The next node's bits (0 at the end).
    @inline(__always)
    var next: UInt {
        get { raw.load(as: UInt.self) }
        nonmutating set { raw.storeBytes(of: newValue, as: UInt.self) }
    }

    /// Moves the message out and frees the node.
    @inline(__always)
    func take() -> Message {
        let m = (raw + Self.messageOffset).assumingMemoryBound(to: Message.self).move()
        raw.deallocate()
        return m
    }
}

/// The ring of user messages, behind a pointer: accesses through it carry no
/// exclusivity checks, and `@inlinable` sends are specialized at the caller.
@usableFromInline
struct MessageRing<Message> {
    @usableFromInline var buffer: UnsafeMutablePointer<Message>
    @usableFromInline var mask: Int
    @usableFromInline var head = 0
    @usableFromInline var count = 0
    /// Messages put so far (for a polite `stop` after what was queued).
    @usableFromInline var putCount = 0
    @usableFromInline var takeCount = 0
    /// The owner is parked waiting for mail.
    @usableFromInline var ownerWaiting = false
    /// System notices waiting (they live in `Mailbox.notices`).
    var noticeCount = 0
    /// A polite stop: end after this many messages were taken (-1: none).
    var stopAfter = -1
    /// A forced kill was requested: the run loop ends after the current message.
    var forcedKill = false

    init(capacity: Int) {
        buffer = .allocate(capacity: capacity)
        mask = capacity - 1
    }
}

/// An actor's inbox.
///
/// The hot path: `put` appends to an inline ring and, when the owner is
/// parked waiting, calls `wake` once; `take` pops. No allocation per message
/// once the ring has grown to its working size, no lock (one hub, one thread).
/// System notices (exits, downs) wait in a queue of their own.
///
/// A final class with non-mutating methods: the owner parks inside `waitForMail`,
/// which must not be inside an exclusive access.
///
/// Sends from another hub or thread go to the *remote inbox*, a lock-free
/// multi-producer stack (Treiber): a push is one allocation and one CAS, with
/// release ordering so the message is published with the node. The sender
/// whose push finds the stack empty, and only that one, schedules a drain on the
/// owner's hub: the mailbox is itself the `ThreadsafeJob` it submits (its
/// `run()` drains), so the submit's retain, the job's link and the inbox's
/// head are in the object's first bytes, which the owner's hub reads next
/// anyway, rather than in three objects (fewer cache lines cross the cores).
/// Submitting costs no syscall when that hub is awake. The drain takes the
/// whole stack with one acquiring exchange, reverses it (so each sender's
/// messages keep their order) and appends to the ring, on the owner's thread.
/// Invariant: while the stack is non-empty, exactly one drain is scheduled and
/// has not yet made its exchange (so the mailbox is submitted again only after
/// its `run()` has begun). Nothing on the same-hub path touches it.
@usableFromInline
final class Mailbox<Message>: ThreadsafeJob, @unchecked Sendable {
    /// The remote inbox: the top node's bits (0 when empty). Stored inline,
    /// beside the job link, on the object's first cache line.
    private let remote = Atomic<UInt>(0)
    @usableFromInline let ring: UnsafeMutablePointer<MessageRing<Message>>
    @usableFromInline let limit: Int
    @usableFromInline unowned(unsafe) let hub: Hub
    /// `hub.token`, kept here so `send` checks "same hub?" with one load and a compare.
    @usableFromInline let hubToken: UnsafeMutableRawPointer?
    /// Set once, right after init (so its accesses need no exclusivity check).
    @exclusivity(unchecked) @usableFromInline unowned(unsafe) var owner: AnyGreenlet!
    let policy: MailboxPolicy
    private var notices: [SystemNotice] = []
    private var noticeHead = 0
    /// Senders parked on a full `.blockSender` mailbox, oldest first.
    private let blockedSenders = WaitList()
    /// The message of each blocked sender, by sender (a greenlet blocks in one
    /// send at a time). Hand-off, as in Green's coordination primitives: when
    /// the owner takes a message it moves the oldest blocked sender's message
    /// into the ring for it, so the ring stays full while senders wait and no
    /// newcomer overtakes them (strict FIFO).
    private var blockedSends: [ObjectIdentifier: BlockedSend] = [:]

    final class BlockedSend {
        enum Outcome { case waiting, delivered, ownerEnded }
        var message: Message?
        var outcome = Outcome.waiting
        init(_ m: Message) { message = m }
    }

    init(policy: MailboxPolicy, hub: Hub) {
        self.policy = policy
        self.hub = hub
        self.hubToken = hub.token
        limit = policy.capacity ?? Int.max
        ring = .allocate(capacity: 1)
        ring.initialize(to: MessageRing(capacity: 64))
        super.init()
    }

    deinit {
        drain { _ in }
        var n = remote.exchange(0, ordering: .acquiring)
        while n != 0 {
            let node = RemoteNode<Message>(bits: n)
            n = node.next
            _ = node.take()
        }
        ring.pointee.buffer.deallocate()
        ring.deinitialize(count: 1)
        ring.deallocate()
    }

    /// User messages waiting.
    @usableFromInline var count: Int { ring.pointee.count }

    /// Appends `m`, or per the policy blocks, drops (returns false) or throws when full.
    /// - Note: switches only with `.blockSender` and a full mailbox.
    @inlinable @inline(__always)
    func put(_ m: Message) throws -> Bool {
        if ring.pointee.count >= limit { return try putWhenFull(m) }
        append(m)
        return true
    }

    @inlinable @inline(__always)
    func append(_ m: Message) {
        let r = ring
        if r.pointee.count > r.pointee.mask { grow() }
        (r.pointee.buffer + ((r.pointee.head &+ r.pointee.count) & r.pointee.mask)).initialize(to: m)
        r.pointee.count &+= 1
        r.pointee.putCount &+= 1
        if r.pointee.ownerWaiting {
            r.pointee.ownerWaiting = false
            hub.wake(owner)
        }
    }

    @usableFromInline
    func putWhenFull(_ m: Message) throws -> Bool {
        switch policy {
        case .unbounded:
            break
        case .blockSender:
            return try putBlocking(m)
        case .dropNewest:
            return false
        case .failSend(let c):
            throw MailboxError.full(actor: owner.name, capacity: c)
        }
        append(m)
        return true
    }

    /// Parks the sender until the owner takes its message in (see `blockedSends`).
    /// - Throws: `actorDead` (the message becomes a dead letter) when the owner
    ///   ends first; errors injected into the sender (the message is not sent).
    private func putBlocking(_ m: Message) throws -> Bool {
        let key = ObjectIdentifier(AnyGreenlet.current)
        let b = BlockedSend(m)
        blockedSends[key] = b
        defer { blockedSends[key] = nil }
        while b.outcome == .waiting {
            // Room with nobody served (the owner found no parked sender to
            // hand off to, e.g. this one was woken by something else): take it.
            if ring.pointee.count < limit {
                append(b.message.unsafelyUnwrapped)
                return true
            }
            _ = try blockedSenders.wait()
        }
        if b.outcome == .ownerEnded { throw ownerEnded(b.message.unsafelyUnwrapped) }
        return true
    }

    /// On a take: moves the message of the oldest parked blocked sender into
    /// the ring and wakes it.
    private func admitBlockedSender() {
        guard let g = blockedSenders.wakeOne(), let b = blockedSends[ObjectIdentifier(g)] else { return }
        b.outcome = .delivered
        let m = b.message.unsafelyUnwrapped
        b.message = nil
        append(m)
    }

    /// Records `m` as a dead letter and returns the error a send to an ended owner throws.
    private func ownerEnded(_ m: Message) -> MailboxError {
        DeadLetters.record(to: owner.name, m, why: "actor ended")
        return MailboxError.actorDead(actor: owner.name)
    }

    /// Whether a user message waits.
    @inline(__always)
    var hasMessage: Bool { ring.pointee.count != 0 }

    /// Takes the oldest user message, if any.
    @inline(__always)
    func popMessage() -> Message? {
        hasMessage ? takeMessage() : nil
    }

    /// Takes the oldest user message; one must be waiting. Returns it bare,
    /// not in an Optional: the generic run loop then pays no enum-tag calls.
    @inline(__always)
    func takeMessage() -> Message {
        let r = ring
        let m = (r.pointee.buffer + (r.pointee.head & r.pointee.mask)).move()
        r.pointee.head &+= 1
        r.pointee.count &-= 1
        r.pointee.takeCount &+= 1
        if limit != Int.max && !blockedSenders.isEmpty { admitBlockedSender() }
        return m
    }

    /// Queues a system notice (never refused, never blocks).
    func put(notice: SystemNotice) {
        notices.append(notice)
        ring.pointee.noticeCount += 1
        if ring.pointee.ownerWaiting {
            ring.pointee.ownerWaiting = false
            hub.wake(owner)
        }
    }

    /// Removes the exit notices from `peer` still queued (after an unlink).
    func removeExitNotices(from peer: AnyGreenlet) {
        guard ring.pointee.noticeCount > 0 else { return }
        let kept = notices[noticeHead...].filter { notice in
            if case .exit(let s) = notice, s.peer === peer { return false }
            return true
        }
        notices = Array(kept)
        noticeHead = 0
        ring.pointee.noticeCount = kept.count
    }

    /// Takes the oldest system notice, if any.
    @inline(__always)
    func popNotice() -> SystemNotice? {
        if ring.pointee.noticeCount == 0 { return nil }
        return takeNotice()
    }

    private func takeNotice() -> SystemNotice? {
        guard noticeHead < notices.count else { return nil }
        ring.pointee.noticeCount -= 1
        let n = notices[noticeHead]
        noticeHead += 1
        if noticeHead == notices.count {
            notices.removeAll(keepingCapacity: true)
            noticeHead = 0
        }
        return n
    }


    /// Any thread: pushes `m` on the remote inbox; the first push into an empty
    /// inbox schedules the drain on the owner's hub. If that hub has ended, the
    /// message (and any pushed with it) goes to the dead letters.
    @usableFromInline
    func putRemote(_ m: Message) {
        let node = RemoteNode(m)
        var seen = remote.load(ordering: .relaxed)
        while true {
            node.next = seen
            // Release: publishes the node. Acquire: a push that finds the inbox
            // empty read the drain's releasing exchange, so the hub is done
            // with this job's link (cleared before `run`) before it submits
            // the mailbox again and writes the link. (One `lock cmpxchg` on x86.)
            let (done, now) = remote.weakCompareExchange(
                expected: seen, desired: node.bits, successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
            if done { break }
            seen = now
        }
        guard seen == 0 else { return }
        // The submit's retain keeps this mailbox alive until the drain has run.
        if !hub.submit(self) {
            let name = owner.name
            var n = remote.exchange(0, ordering: .acquiring)
            while n != 0 {
                let node = RemoteNode<Message>(bits: n)
                n = node.next
                DeadLetters.record(to: name, node.take(), why: "actor's hub ended")
            }
        }
    }

    /// The drain, as the `ThreadsafeJob` `putRemote` submits (owner's hub).
    override func run() { drainRemote() }

    /// Owner's hub: moves everything in the remote inbox to the ring, oldest first.
    func drainRemote() {
        // Acquire: the nodes' contents. Release: see `putRemote`.
        let top = remote.exchange(0, ordering: .acquiringAndReleasing)
        var reversed: UInt = 0
        var n = top
        while n != 0 {
            let node = RemoteNode<Message>(bits: n)
            n = node.next
            node.next = reversed
            reversed = node.bits
        }
        let owner: AnyGreenlet = self.owner
        while reversed != 0 {
            let node = RemoteNode<Message>(bits: reversed)
            reversed = node.next
            let message = node.take()
            if owner.isDead {
                DeadLetters.record(to: owner.name, message, why: "actor ended")
            } else if ring.pointee.count >= limit {
                DeadLetters.record(to: owner.name, message, why: "mailbox full")
            } else {
                append(message)
            }
        }
    }

    /// Asks the owner to end once it has taken what is queued now.
    func requestStop() {
        ring.pointee.stopAfter = ring.pointee.putCount
        if ring.pointee.ownerWaiting {
            ring.pointee.ownerWaiting = false
            hub.wake(owner)
        }
    }

    /// Whether a polite stop is due.
    @inline(__always)
    var stopDue: Bool {
        let s = ring.pointee.stopAfter
        return s >= 0 && ring.pointee.takeCount >= s
    }

    /// Parks the owner until a message, a notice or a stop request arrives.
    /// - Throws: errors injected into the owner (kill, shutdown).
    /// - Note: switches.
    func waitForMail() throws {
        ring.pointee.ownerWaiting = true
        do {
            try Hub.parkRunning()
        } catch {
            ring.pointee.ownerWaiting = false
            throw error
        }
    }

    /// Removes every user message, oldest first, handing each to `body`; drops
    /// notices; wakes blocked senders, which throw `actorDead` once the owner has ended.
    func drain(_ body: (Message) -> Void) {
        // Blocked senders first, so that no take below lets one in.
        for b in blockedSends.values where b.outcome == .waiting { b.outcome = .ownerEnded }
        blockedSenders.wakeAll()
        while let m = popMessage() { body(m) }
        notices.removeAll()
        noticeHead = 0
        ring.pointee.noticeCount = 0
    }

    @usableFromInline
    func grow() {
        let r = ring
        let oldCap = r.pointee.mask + 1
        let newBuf = UnsafeMutablePointer<Message>.allocate(capacity: oldCap * 2)
        let head = r.pointee.head & r.pointee.mask
        let firstRun = min(r.pointee.count, oldCap - head)
        newBuf.moveInitialize(from: r.pointee.buffer + head, count: firstRun)
        (newBuf + firstRun).moveInitialize(from: r.pointee.buffer, count: r.pointee.count - firstRun)
        r.pointee.buffer.deallocate()
        r.pointee.buffer = newBuf
        r.pointee.mask = oldCap * 2 - 1
        r.pointee.head = 0
    }
}
