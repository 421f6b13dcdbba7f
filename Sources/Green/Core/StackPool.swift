import CGreenContext

/// A hub's pool of default-size stacks.
///
/// Mapping a stack costs syscalls. A returned stack first waits in `recent`
/// with its pages still resident, and is the first one reused: a greenlet that
/// ends and one that starts (skynet, a server's request greenlets) trade a
/// warm stack with no syscall. When `recent` is full, its stacks go to `free`
/// after one vectored `MADV_DONTNEED` that gives back every page they touched
/// but the top `keepResident` bytes, so resident memory follows the live
/// greenlets, not the high-water mark (at most `discardBatch` stacks hold
/// deeper pages at any time). Stacks of other sizes are unmapped on return.
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

    /// Returned stacks not yet discarded, reused first (LIFO: the warmest).
    @exclusivity(unchecked)
    private var recent: [green_stack] = []
    /// How many returned stacks wait in `recent` before one call discards them.
    let discardBatch = 32

    /// The number of used stacks waiting in the pool for reuse.
    var pooledCount: Int { free.count + recent.count }
    /// Stacks beyond the cap waiting to be unmapped in a batch.
    var surplusCount: Int { surplus.count }
    /// Stacks mapped in advance and never used yet.
    var freshCount: Int { fresh.count }

    /// Fresh default-size stacks mapped in a slab, not yet used.
    @exclusivity(unchecked)
    private var fresh: [green_stack] = []
    /// Stacks mapped at once when the pool runs dry.
    let slabCount = 64

    func take(size: Int) throws -> green_stack {
        if size == Green.defaultStackSize {
            if let s = recent.popLast() { return s }
            if let s = free.popLast() { return s }
            if let s = surplus.popLast() { return s }
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
        if size == Green.defaultStackSize && free.count + recent.count < cap {
            recent.append(s)
            if recent.count >= discardBatch { discardRecent() }
        } else if size == Green.defaultStackSize {
            // Beyond the cap: unmapped in batches, neighbours from one slab in
            // one munmap (a tree of greenlets ending returns thousands at once).
            surplus.append(s)
            if surplus.count >= surplusBatch { unmapSurplus() }
        } else {
            var s = s
            green_stack_free(&s)
            mappedCount -= 1
        }
    }

    /// Default-size stacks returned beyond the cap, waiting to be unmapped.
    @exclusivity(unchecked)
    private var surplus: [green_stack] = []
    /// How many surplus stacks are unmapped at once.
    let surplusBatch = 256

    private func unmapSurplus() {
        _ = surplus.withUnsafeMutableBufferPointer { green_stack_free_batch($0.baseAddress, $0.count) }
        mappedCount -= surplus.count
        surplus.removeAll(keepingCapacity: true)
    }

    /// Gives back the deep pages of every stack in `recent` and moves them to `free`.
    private func discardRecent() {
        recent.withUnsafeBufferPointer { green_stack_discard_batch($0.baseAddress, $0.count, keepResident) }
        free.append(contentsOf: recent)
        recent.removeAll(keepingCapacity: true)
    }

    func drain() {
        for var s in free + recent + fresh { green_stack_free(&s) }
        mappedCount -= free.count + recent.count + fresh.count
        unmapSurplus()
        free.removeAll()
        recent.removeAll()
        fresh.removeAll()
    }
}
