import CGreenContext

/// A hub's pool of default-size stacks.
///
/// Mapping a stack costs syscalls; reusing one costs a `madvise(MADV_DONTNEED)`
/// that gives back every page it touched except the top `keepResident` bytes,
/// so resident memory follows the live greenlets, not the high-water mark.
/// Stacks of other sizes are unmapped on return.
final class StackPool {
    private var free: [green_stack] = []
    /// Stacks kept for reuse at most; beyond it returned stacks are unmapped.
    var cap: Int
    /// Bytes at the top of a pooled stack left resident (its hottest pages).
    let keepResident = 8 * 1024
    private(set) var mappedCount = 0

    init(cap: Int) { self.cap = cap }

    /// The number of stacks waiting in the pool.
    var pooledCount: Int { free.count }

    func take(size: Int) throws -> green_stack {
        if size == Green.defaultStackSize, let s = free.popLast() { return s }
        var s = green_stack()
        let rc = green_stack_alloc(size, &s)
        if rc != 0 { throw GreenError.stackAllocationFailed(errno: rc) }
        mappedCount += 1
        return s
    }

    func give(_ s: green_stack, size: Int) {
        if size == Green.defaultStackSize && free.count < cap {
            var s = s
            green_stack_discard(&s, keepResident)
            free.append(s)
        } else {
            var s = s
            green_stack_free(&s)
            mappedCount -= 1
        }
    }

    func drain() {
        for var s in free { green_stack_free(&s) }
        mappedCount -= free.count
        free.removeAll()
    }
}
