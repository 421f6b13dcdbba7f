/// A `Group` that runs at most `size` members at once: gevent's `Pool`.
///
/// Spawning into a full pool blocks the spawner until a member finishes.
///
/// ```swift
/// let pool = Pool(20)
/// let pages = try pool.map(download, urls)   // at most 20 downloads at once
/// ```
///
/// Thread-safety: hub-local, as `Group`.
public final class Pool: Group {
    /// The most members at once.
    public let size: Int
    private let slots: Permits

    /// A pool of at most `size` (1 or more) members at once.
    public init(_ size: Int) {
        precondition(size > 0, "Pool size must be at least 1")
        self.size = size
        slots = Permits(size)
        super.init()
    }

    /// A pool of at most `size` members at once.
    public convenience init(size: Int) { self.init(size) }

    override func reserveSlot(timeout: Duration?) throws -> Bool { try slots.acquire(timeout: timeout) }
    override func releaseSlot() { slots.release() }

    /// How many more members could join without waiting.
    public var freeCount: Int { preconditionHome(); return slots.value }
    /// Whether a spawn would block.
    public var isFull: Bool { preconditionHome(); return slots.value == 0 }

    /// Waits until a member could join without waiting (gevent's `wait_available`).
    /// - Parameter timeout: nil waits without limit; zero only checks.
    /// - Returns: `true` when a slot is free, `false` when `timeout` elapsed first.
    /// - Throws: an error injected into the caller; `GreenError.negativeTimeout`.
    /// - Note: switches while the pool is full.
    @discardableResult
    public func waitAvailable(timeout: Duration? = nil) throws -> Bool {
        preconditionHome()
        guard try slots.acquire(timeout: timeout) else { return false }
        slots.release()
        return true
    }
}
