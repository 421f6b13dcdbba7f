// A program the tests run as a child process: for behaviour that ends a
// process, and for process-wide figures (resident memory, descriptors,
// mappings) that other tests running beside them in the test process would blur.
import CGreenContext
import Glibc
import Green

final class Holder { var items: [Int] = [] }

func recurse(_ n: Int) -> Int {
    var pad = (n, n, n, n, n, n, n, n)
    return withUnsafeMutableBytes(of: &pad) { $0.count } + (n == 0 ? 0 : recurse(n - 1))
}

let mode = CommandLine.arguments.dropFirst().first ?? ""
switch mode {
case "overflow":
    // Recurses far past a 64 KiB stack: the overflow handler names the greenlet.
    let g = spawn(name: "deep-diver", stackSize: 64 * 1024) { recurse(1_000_000) }
    _ = try? g.get()
    print("unreachable")
case "access":
    // Blocks inside a mutating access of class storage: the debug build traps.
    let holder = Holder()
    let g = spawn(name: "modifier") {
        holder.items.withUnsafeMutableBufferPointer { _ in try? sleep(.milliseconds(5)) }
    }
    spawn(name: "other") { holder.items.append(1) }
    try g.join()
    // With the runtime linked statically, switches skip the exclusivity swap
    // when it would change nothing (green_context.h): say whether that was on.
    print("finished without trap; exclusivity fast path \(green_access_head != nil ? "on" : "off")")
case "sigterm":
    // A SIGTERM handler that shuts down cleanly while a worker runs forever.
    let worker = spawn(name: "run-forever") { while true { try sleep(.milliseconds(10)) } }
    let handler = onSignal(SIGTERM) {
        print("got SIGTERM, shutting down")
        try worker.kill()
    }
    print("ready")
    fflush(stdout)
    try worker.join()
    withExtendedLifetime(handler) {}
    print("clean exit")
case "wrong-hub":
    // A hub-local object used from another hub: stops naming both (CrossHubCoordinationTests).
    try misuseAcrossHubs(CommandLine.arguments.dropFirst(2).first ?? "")
case "spawn-kill-memory":
    // 90,000 spawn/park/kill cycles after a warm-up of 10,000: prints the
    // growth of resident memory and the hub's stack counts.
    let hub = Hub.current
    func cycle(_ n: Int) throws {
        var batch: [Greenlet<Void>] = []
        for _ in 0..<n { batch.append(spawn { try sleep(.seconds(30)) }) }
        try yieldGreenlet()  // every one starts, takes a stack and parks
        try killAll(batch)
    }
    for _ in 0..<5 { try cycle(2000) }
    let before = residentBytes()
    for _ in 0..<45 { try cycle(2000) }
    let growth = residentBytes() - before
    print("growth=\(growth) pooled=\(hub.pooledStackCount) cap=\(hub.stackPoolCapacity)")
case "thread-exit":
    // 1,000 threads ending with their hubs in one case (ThreadExit.swift): prints the growths.
    let args = CommandLine.arguments.dropFirst(2)
    try threadExitFigures(case: args.first ?? "", threads: args.dropFirst().first.flatMap { Int($0) } ?? 1000)
default:
    print("usage: GreenTestChild overflow|access|sigterm|spawn-kill-memory|wrong-hub CASE|thread-exit CASE")
    exit(64)
}
