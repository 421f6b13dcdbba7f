/// A set of greenlets handled together: gevent's `Group`.
///
/// Greenlets spawned into (or added to) a group leave it when they finish.
/// `join` waits for all, `kill` kills all, and `map`/`imap`/`imapUnordered`
/// run a function over a sequence with one greenlet per item. `Pool` is a group
/// with a limit on how many members run at once.
///
/// ```swift
/// let group = Group()
/// for url in urls { try group.spawn { try fetch(url) } }
/// try group.join(onError: .collect)
/// ```
///
/// Errors stay inside each greenlet (see `Greenlet`), unless the caller asks
/// for them with an `ErrorPolicy`.
///
/// Thread-safety: hub-local. A group belongs to the hub that made it (its
/// `home`), holds greenlets of that hub only (it links to them, and links are
/// hub-local), and spawns there. Every public member called from another hub
/// or thread, or adding a greenlet of another hub, stops the program with a
/// message naming both hubs. To run work over several hubs, give each hub a
/// group of its own, or spawn with a `GreenRuntime` and join the greenlets
/// (`join` and `get` work across hubs).
public class Group {
    private var members: [ObjectIdentifier: AnyGreenlet] = [:]
    /// Woken whenever a member leaves.
    private let changes = WaiterQueue<Void>()
    /// Failures of members that left while a `join` was running.
    private var failureLog: [any Error] = []
    private var activeJoins = 0
    /// The hub the group belongs to.
    public let home: Hub

    /// An empty group, belonging to the calling thread's hub (or the hub a
    /// `GreenRuntime.withPlacement` block places on).
    public init() { home = Hub.forNewGreenlet }

    /// Stops the program unless called on the group's hub.
    @inline(__always)
    func preconditionHome() { home.preconditionOnHub("\(type(of: self))") }

    /// How many greenlets are members.
    public var count: Int { preconditionHome(); return members.count }
    /// Whether the group has no member.
    public var isEmpty: Bool { preconditionHome(); return members.isEmpty }
    /// The members, in no particular order.
    public var greenlets: [AnyGreenlet] { preconditionHome(); return Array(members.values) }
    /// Whether `g` is a member.
    public func contains(_ g: AnyGreenlet) -> Bool { preconditionHome(); return members[ObjectIdentifier(g)] != nil }

    // MARK: Slots (a Pool limits them)

    func reserveSlot(timeout: Duration?) throws -> Bool { true }
    func releaseSlot() {}

    /// Makes `g` a member whose slot is reserved already.
    func adopt(_ g: AnyGreenlet) {
        members[ObjectIdentifier(g)] = g
        g.link { [weak self] g in self?.departed(g) }
    }

    /// A member finished (or was discarded): frees its slot, wakes joiners.
    /// Idempotent.
    func departed(_ g: AnyGreenlet) {
        guard members.removeValue(forKey: ObjectIdentifier(g)) != nil else { return }
        if activeJoins > 0, g.isDead, !g.isSuccessful, let e = g.failureValue { failureLog.append(e) }
        releaseSlot()
        for w in changes.popAllParked() { w.wake() }
    }

    // MARK: Members

    /// Adds a greenlet (started or not); it leaves the group when it finishes.
    /// Adding a member again does nothing.
    /// - Throws: for a `Pool`, an error injected into the caller while it waits
    ///   for a free slot (the greenlet is then not added).
    /// - Note: switches only when a `Pool` is full. `g` must belong to the
    ///   group's hub (else the program stops, naming both hubs).
    public func add(_ g: AnyGreenlet) throws {
        preconditionHome()
        g.hub.preconditionOnHub("greenlet '\(g.name)' added to a \(type(of: self))")
        if contains(g) { return }
        _ = try reserveSlot(timeout: nil)
        adopt(g)
    }

    /// Removes `g` from the group without stopping it (its `Pool` slot is freed).
    /// - Note: never switches.
    public func discard(_ g: AnyGreenlet) { preconditionHome(); departed(g) }

    /// Starts a greenlet running `body` as a member of the group.
    /// - Returns: its handle.
    /// - Throws: for a `Pool`, an error injected into the caller while it waits
    ///   for a free slot (nothing is spawned then).
    /// - Note: a `Pool` that is full blocks the caller until a member finishes;
    ///   otherwise does not switch (the greenlet runs when the caller next blocks).
    @discardableResult
    public func spawn<T>(name: String? = nil, stackSize: Int? = nil, _ body: @escaping () throws -> T) throws -> Greenlet<T> {
        preconditionHome()
        _ = try reserveSlot(timeout: nil)
        let g = Greenlet(name: name, stackSize: stackSize, body)
        adopt(g)
        try! g.start()
        return g
    }

    // MARK: Join and kill

    /// Waits until the group is empty (greenlets added meanwhile included).
    /// - Parameters:
    ///   - timeout: nil waits without limit; zero only checks.
    ///   - onError: nil ignores the members' errors (read them from the
    ///     greenlets); `.failFast` kills the rest at the first member that
    ///     fails and throws its error; `.collect` waits for all, then throws
    ///     `JobFailures` if any failed. Only members that finish while `join`
    ///     runs are checked.
    /// - Returns: `true` when the group is empty, `false` when `timeout` elapsed first.
    /// - Throws: per `onError`; an error injected into the caller;
    ///   `GreenError.negativeTimeout`.
    /// - Note: switches while the group is not empty.
    @discardableResult
    public func join(timeout: Duration? = nil, onError: ErrorPolicy? = nil) throws -> Bool {
        preconditionHome()
        let timeout = try validated(timeout)
        let me = currentGreenlet
        activeJoins += 1
        let start = failureLog.count
        defer {
            activeJoins -= 1
            if activeJoins == 0 { failureLog.removeAll() }
        }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if onError == .failFast, failureLog.count > start {
                let e = failureLog[start]
                try kill()
                throw e
            }
            // A joiner that is itself a member (e.g. a job joining its own
            // group) waits for the others.
            if members.isEmpty || (members.count == 1 && contains(me)) {
                if onError == .collect, failureLog.count > start {
                    throw JobFailures(failureLog[start...].enumerated().map { (index: $0.offset, error: $0.element) })
                }
                return true
            }
            let left = deadline.map { max($0 - ContinuousClock.now, .zero) }
            if left == .zero { return false }
            let w = Waiter<Void>(me)
            changes.append(w)
            if try !block(w, in: changes, timeout: left) { return false }
        }
    }

    /// Kills every member (the caller excepted, if a member) with `error`.
    /// - Parameters:
    ///   - block: wait until they have finished and left the group.
    ///   - timeout: how long to wait when blocking.
    /// - Throws: an error injected into the caller while it waits.
    /// - Note: switches when `block` is true.
    public func kill(_ error: any Error = GreenletExit(), block: Bool = true, timeout: Duration? = nil) throws {
        preconditionHome()
        let victims = greenlets.filter { $0 !== currentGreenlet }
        try killAll(victims, error, block: block, timeout: timeout)
        if block {
            // Their link callbacks may not have run yet: leave now.
            for g in victims where g.isDead { departed(g) }
        }
    }

    // MARK: Map

    /// Runs `body` on every item, one greenlet each (as many at once as the
    /// group allows), and returns the results in the order of `items`.
    ///
    /// ```swift
    /// let pages = try Pool(20).map(urls) { url in try download(url) }
    /// ```
    /// - Parameter onError: `.failFast` (default): at the first failure the
    ///   other jobs are killed and waited for, and that error is thrown;
    ///   `.collect`: every job runs, then `JobFailures` lists every failure.
    /// - Throws: per `onError` (a job that was killed counts as failed with
    ///   `GreenletExit`); an error injected into the caller, after which the
    ///   remaining jobs are killed.
    /// - Note: switches.
    public func map<S: Sequence, Out>(
        _ items: S, onError: ErrorPolicy = .failFast, _ body: @escaping (S.Element) throws -> Out
    ) throws -> [Out] {
        preconditionHome()
        let it = MapIterator(group: self, items: items, ordered: true, policy: onError, body: body)
        defer { it.cancel(block: false) }
        var out: [Out] = []
        out.reserveCapacity(items.underestimatedCount)
        while let v = try it.next() { out.append(v) }
        return out
    }

    /// `map` with gevent's argument order: `try Pool(20).map(download, urls)`.
    /// - Throws: as `map(_:onError:_:)` with `.failFast`.
    /// - Note: switches.
    public func map<S: Sequence, Out>(_ body: @escaping (S.Element) throws -> Out, _ items: S) throws -> [Out] {
        try map(items, onError: .failFast, body)
    }

    /// Runs `body` on every item and returns each outcome, value or error, in
    /// the order of `items`; waits for every job.
    /// - Throws: only an error injected into the caller (the remaining jobs
    ///   are then killed).
    /// - Note: switches.
    public func mapResults<S: Sequence, Out>(
        _ items: S, _ body: @escaping (S.Element) throws -> Out
    ) throws -> [Result<Out, any Error>] {
        preconditionHome()
        let it = MapIterator(group: self, items: items, ordered: true, policy: .collect, body: body)
        defer { it.cancel(block: false) }
        var out: [Result<Out, any Error>] = []
        while let (_, r) = try it.nextResult() { out.append(r) }
        return out
    }

    /// Like `map`, but yields the results one by one, in the order of `items`,
    /// as they become available; the jobs start at once.
    ///
    /// ```swift
    /// let results = pool.imap(urls) { try download($0) }
    /// while let page = try results.next() { ... }
    /// ```
    /// - Note: does not switch; the iterator's `next()` does.
    public func imap<S: Sequence, Out>(
        _ items: S, onError: ErrorPolicy = .failFast, _ body: @escaping (S.Element) throws -> Out
    ) -> MapIterator<Out> {
        preconditionHome()
        return MapIterator(group: self, items: items, ordered: true, policy: onError, body: body)
    }

    /// Like `imap`, but yields the results in the order the jobs finish.
    /// - Note: does not switch; the iterator's `next()` does.
    public func imapUnordered<S: Sequence, Out>(
        _ items: S, onError: ErrorPolicy = .failFast, _ body: @escaping (S.Element) throws -> Out
    ) -> MapIterator<Out> {
        preconditionHome()
        return MapIterator(group: self, items: items, ordered: false, policy: onError, body: body)
    }
}

/// The results of `Group.imap`/`imapUnordered` (and the engine of `map`).
///
/// A feeder greenlet spawns one job per item into the group (waiting for free
/// slots of a `Pool`); each job's outcome arrives through an internal queue.
/// Dropping the iterator before the end kills the jobs still running.
/// Use it from one greenlet.
///
/// Thread-safety: hub-local, as its group: `next()` from another hub or
/// thread stops the program naming both hubs.
public final class MapIterator<Out> {
    private let state: MapState<Out>
    private let home: Hub
    private let ordered: Bool
    private let policy: ErrorPolicy
    private var buffered: [Int: Result<Out, any Error>] = [:]
    private var nextIndex = 0
    private var delivered = 0
    private var total: Int?
    private var failures: [(index: Int, error: any Error)] = []
    private var finished = false

    init<S: Sequence>(group: Group, items: S, ordered: Bool, policy: ErrorPolicy, body: @escaping (S.Element) throws -> Out) {
        self.ordered = ordered
        self.policy = policy
        home = group.home
        let state = MapState<Out>()
        self.state = state
        // The feeder and the jobs hold the state weakly: the iterator owns it,
        // and dropping the iterator cancels the work (see deinit).
        state.feeder = spawn(name: "map-feeder") { [weak state] in
            var count = 0
            defer { try? state?.events.putNowait(.end(count)) }
            for item in items {
                if state?.cancelled ?? true { return }
                _ = try group.reserveSlot(timeout: nil)
                guard let state, !state.cancelled else {
                    group.releaseSlot()
                    return
                }
                let index = count
                let job = Greenlet<Out> { try body(item) }
                state.jobs[ObjectIdentifier(job)] = job
                group.adopt(job)
                job.link { [weak state] g in
                    guard let state else { return }
                    state.jobs.removeValue(forKey: ObjectIdentifier(g))
                    let outcome: Result<Out, any Error>
                    if let v = (g as! Greenlet<Out>).value {
                        outcome = .success(v)
                    } else {
                        outcome = .failure(g.failureValue ?? GreenletExit())
                    }
                    try? state.events.putNowait(.result(index, outcome))
                }
                try! job.start()
                count += 1
            }
        }
    }

    deinit { state.cancel(block: false) }

    /// Kills the feeder and every job still running.
    func cancel(block: Bool) {
        if block { try? state.cancel(blocking: true) } else { state.cancel(block: false) }
    }

    /// The next job's index and outcome, in the iterator's order (a failure
    /// under `.failFast` comes at once); nil at the end.
    func nextResult() throws -> (Int, Result<Out, any Error>)? {
        while true {
            if finished { return nil }
            if ordered, let r = buffered.removeValue(forKey: nextIndex) {
                nextIndex += 1
                delivered += 1
                return (nextIndex - 1, r)
            }
            if let total, delivered == total {
                finished = true
                return nil
            }
            switch try state.events.get() {
            case .end(let n):
                total = n
            case .result(let i, let r):
                if case .failure = r, policy == .failFast {
                    // Fail fast means at once, not when its turn comes.
                    delivered += 1
                    return (i, r)
                }
                if ordered {
                    buffered[i] = r
                } else {
                    delivered += 1
                    return (i, r)
                }
            }
        }
    }

    /// The next result; nil once every job's result was yielded.
    /// - Throws: with `.failFast`, the first job error (the other jobs are
    ///   killed and waited for, and the iteration ends); with `.collect`, after
    ///   the last success, `JobFailures` if any job failed; an error injected
    ///   into the caller (the iteration can go on after it).
    /// - Note: switches while no result is available.
    public func next() throws -> Out? {
        home.preconditionOnHub("a map iterator")
        while let (i, r) = try nextResult() {
            switch r {
            case .success(let v):
                return v
            case .failure(let e):
                switch policy {
                case .failFast:
                    finished = true
                    try state.cancel(blocking: true)
                    throw e
                case .collect:
                    failures.append((index: i, error: e))
                }
            }
        }
        if !failures.isEmpty {
            let f = failures.sorted { $0.index < $1.index }
            failures = []
            throw JobFailures(f)
        }
        return nil
    }
}

/// What a map's feeder, jobs and iterator share.
final class MapState<Out> {
    enum Event {
        case result(Int, Result<Out, any Error>)
        case end(Int)
    }
    let events = Queue<Event>()
    var jobs: [ObjectIdentifier: AnyGreenlet] = [:]
    var feeder: AnyGreenlet?
    var cancelled = false

    private var victims: [AnyGreenlet] {
        (feeder.map { [$0] } ?? []) + Array(jobs.values)
    }

    func cancel(block: Bool) {
        cancelled = true
        for g in victims { try? g.kill(block: false) }
    }

    func cancel(blocking: Bool) throws {
        cancelled = true
        try killAll(victims, block: blocking)
    }
}
