import Atomics
import Glibc

/// A hub's queue of *stealable* greenlets: started by `GreenRuntime.spawn`
/// from another thread with a placement that did not name the hub (see the
/// stealing rule in GreenRuntime.swift), not yet taken by their hub or an idle
/// one.
///
/// Filled directly by the thread that starts them, so a thief can take from it
/// while the owner is stuck in a greenlet that does not yield (the owner's
/// thread-safe entry would never be drained then).
///
/// Memory ordering: every element, and every field of an element written
/// before it was pushed (its self-retain, its state), is handed over by the
/// mutex: a push's unlock releases, a taker's lock acquires. `count` mirrors
/// the number of elements for lock-free peeking (relaxed: a hint, written
/// under the mutex; a stale zero only delays a steal, because the pusher also
/// nudges a thief, and the owner drains the queue at every loop pass).
///
/// Each element holds its greenlet's self-retain (`AnyGreenlet.start`), and
/// nothing else: so a thief that moves the element into a local variable
/// holds the only strong reference exactly when no handle, link closure or
/// pending cross-thread job refers to the greenlet.
final class StealQueue: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    /// Oldest first.
    private var items: [Unmanaged<AnyGreenlet>] = []
    private var closed = false
    /// A wake-up job is on its way to the owner (set by a push, cleared by `takeAll`).
    private var ownerWakePending = false
    /// Elements queued now (relaxed hint; see the type's comment). An
    /// `UnsafeAtomic` (a pointer, no reference counting) so that idle hubs
    /// peek at each other's queues without touching a shared reference count.
    let count = UnsafeAtomic<Int>.create(0)

    init() { pthread_mutex_init(&lock, nil) }

    deinit {
        // A hub's queue is closed and emptied before its hub goes; nothing left here.
        pthread_mutex_destroy(&lock)
        count.destroy()
    }

    /// Any thread: queues `g` (its self-retain). Returns `accepted: false` once
    /// the queue is closed (the caller then starts `g` the ordinary way), and
    /// `wakeOwner: true` when the caller must send the owner its wake-up job.
    func push(_ g: Unmanaged<AnyGreenlet>) -> (accepted: Bool, wakeOwner: Bool) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard !closed else { return (false, false) }
        items.append(g)
        count.store(items.count, ordering: .relaxed)
        let wake = !ownerWakePending
        ownerWakePending = true
        return (true, wake)
    }

    /// Owner's thread: takes everything queued, oldest first.
    func takeAll() -> [Unmanaged<AnyGreenlet>] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        ownerWakePending = false
        return takeAllLocked()
    }

    /// Owner's thread, as its hub stops: refuses pushes from now on and takes
    /// what is queued.
    func close() -> [Unmanaged<AnyGreenlet>] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        closed = true
        return takeAllLocked()
    }

    private func takeAllLocked() -> [Unmanaged<AnyGreenlet>] {
        let out = items
        items = []
        count.store(0, ordering: .relaxed)
        return out
    }

    /// A thief's thread: takes up to half the queue (at least one), oldest
    /// first, of the greenlets that may move (see `mayMove`). Those that may
    /// not stay, in order, for the owner. Looks at no more than 256 elements.
    func steal() -> [AnyGreenlet] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let queued = items.count
        guard !closed, queued > 0 else { return [] }
        let want = (queued + 1) / 2
        let scanEnd = min(queued, 256)
        var out: [AnyGreenlet] = []
        var kept = 0
        for read in 0..<queued {
            let u = items[read]
            if out.count < want && read < scanEnd, let g = StealQueue.mayMove(u) {
                out.append(g)
            } else {
                items[kept] = u
                kept += 1
            }
        }
        items.removeLast(queued - kept)
        count.store(kept, ordering: .relaxed)
        return out
    }

    /// The greenlet of `u` as a strong reference (its self-retain, moved out
    /// of the queue) if the caller holds the only reference to it of any kind;
    /// else nil, and `u` keeps the self-retain.
    ///
    /// Why "only reference" makes the move race-free: a greenlet's hub may be
    /// read without synchronization by anyone holding a reference (`kill`,
    /// `join`, `link` read `hub` to find where to go). With no other strong
    /// reference, and no weak or unowned one from which a strong one could be
    /// made, no other thread can reach the greenlet until the thief publishes
    /// it again; checked in that order, because a new weak or unowned reference
    /// can only be made from a strong one. Accesses made by threads that held
    /// a reference before happen before the check: their releases decrement
    /// the count with release ordering, and the fence below acquires (the same
    /// edge that lets a `deinit` read what others wrote).
    /// The one case the two checks cannot see: a thread holding only a weak
    /// reference that, between them, turns it into a strong one and drops the
    /// weak one. Green itself holds a greenlet weakly only in the callback of
    /// `linkFailure(to:)` (the greenlet to kill); a program that links a
    /// fire-and-forget greenlet so, or holds one weakly, should keep its handle
    /// until it has started.
    @inline(never)
    private static func mayMove(_ u: Unmanaged<AnyGreenlet>) -> AnyGreenlet? {
        var g = u.takeRetainedValue()
        guard isKnownUniquelyReferenced(&g),
              _getWeakRetainCount(g) == 1, _getUnownedRetainCount(g) == 1
        else {
            _ = Unmanaged.passRetained(g) // back to the queue's reference
            return nil
        }
        atomicMemoryFence(ordering: .acquiring)
        return g
    }
}
