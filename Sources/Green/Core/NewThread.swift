import CGreenContext
import Glibc

/// Runs `body` on a new OS thread with a hub of its own, waits for it, and
/// returns its result. The thread's hub is torn down when the thread ends.
///
/// Use it to keep green code off threads that must not block — Swift
/// concurrency's cooperative pool (Swift Testing runs tests there) — or to run
/// several hubs side by side.
/// - Throws: whatever `body` throws.
/// - Note: blocks the calling OS thread (not cooperatively) until `body` ends.
public func runInNewThread<T>(stackSize: Int = 8 << 20, _ body: @escaping () throws -> T) throws -> T {
    var result: Result<T, any Error>?
    guard let thread = startOSThread(stackSize: stackSize, detached: false, { result = Result { try body() } }) else {
        preconditionFailure("Green: pthread_create failed")
    }
    pthread_join(thread, nil)
    return try result!.get()
}

/// Starts an OS thread running `body` (the one place Green creates threads:
/// `runInNewThread`, the thread pool's workers, the blocked-hub monitor).
/// - Returns: the thread, or nil when the system refused one (`body` then never runs).
func startOSThread(stackSize: Int, detached: Bool, _ body: @escaping () -> Void) -> pthread_t? {
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    defer { pthread_attr_destroy(&attr) }
    pthread_attr_setstacksize(&attr, stackSize)
    if detached { pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED)) }
    var thread = pthread_t()
    let raw = Unmanaged.passRetained(ThreadBox(body)).toOpaque()
    let rc = pthread_create(&thread, &attr, { raw in
        Unmanaged<ThreadBox>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
    }, raw)
    if rc != 0 {
        Unmanaged<ThreadBox>.fromOpaque(raw).release()
        return nil
    }
    return thread
}

private final class ThreadBox {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// The resident memory of this process in bytes (from /proc/self/statm).
public func residentBytes() -> Int { Int(green_resident_bytes()) }
