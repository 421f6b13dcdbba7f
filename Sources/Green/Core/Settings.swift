import Atomics

/// Process-wide settings of Green.
public enum Green {
    private static let stackSize = ManagedAtomic<Int>(256 * 1024)
    private static let poolCap = ManagedAtomic<Int>(1024)

    /// The stack size a greenlet gets unless `spawn(stackSize:)` says otherwise:
    /// 256 KiB of address space, of which only the touched pages cost memory.
    /// Changing it affects greenlets spawned afterwards.
    public static var defaultStackSize: Int {
        get { stackSize.load(ordering: .relaxed) }
        set { stackSize.store(max(16 * 1024, newValue), ordering: .relaxed) }
    }

    /// How many returned stacks each hub keeps for reuse (default 1024).
    public static var stackPoolCapacity: Int {
        get { poolCap.load(ordering: .relaxed) }
        set { poolCap.store(max(0, newValue), ordering: .relaxed) }
    }
}
