import CGreenContext

/// A hub's pool of default-size stacks.
///
/// Mapping a stack costs syscalls; reusing one costs a `madvise(MADV_DONTNEED)`
/// that gives back every page it touched except the top `keepResident` bytes,
/// so resident memory follows the live greenlets, not the high-water mark.
/// Stacks of other sizes are unmapped on return.
final class StackPool {
    @exclusivity(unchecked)
    private var free: [green_stack] = []
    /// Stacks kept for reuse at most; beyond it returned stacks are unmapped.
    @exclusivity(unchecked)
    var cap: Int
    /// Bytes at the top of a pooled stack left resident (its hottest pages).
    let keepResident = 8 * 1024
    @exclusivity(unchecked)
    private(set) var mappedCount = 0

    init(cap: Int) { self.cap = cap }

    /// The number of used stacks waiting in the pool for reuse.
    var pooledCount: Int { free.count }
    /// Stacks mapped in advance and never used yet.
    var freshCount: Int { fresh.count }

    /// Fresh default-size stacks mapped in a slab, not yet used.
    @exclusivity(unchecked)
    private var fresh: [green_stack] = []
    /// Stacks mapped at once when the pool runs dry.
    let slabCount = 64

    func take(size: Int) throws -> green_stack {
        if size == Green.defaultStackSize {
            if let s = free.popLast() { return s }
            if fresh.isEmpty { try refill(size: size) }
            return fresh.removeLast()
        }
        var s = green_stack()
        let rc = green_stack_alloc(size, &s)
        if rc != 0 { throw GreenError.stackAllocationFailed(errno: rc) }
        mappedCount += 1
        return s
    }

    private func refill(size: Int) throws {
        var slab = [green_stack](repeating: green_stack(), count: slabCount)
        let rc = slab.withUnsafeMutableBufferPointer { green_stack_alloc_slab(size, slabCount, $0.baseAddress) }
        if rc != 0 { throw GreenError.stackAllocationFailed(errno: rc) }
        fresh = slab.reversed()
        mappedCount += slabCount
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
        for var s in free + fresh { green_stack_free(&s) }
        mappedCount -= free.count + fresh.count
        free.removeAll()
        fresh.removeAll()
    }
}
