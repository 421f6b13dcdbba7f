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
    let box = ThreadBox { result = Result { try body() } }
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setstacksize(&attr, stackSize)
    defer { pthread_attr_destroy(&attr) }
    var thread = pthread_t()
    let raw = Unmanaged.passRetained(box).toOpaque()
    let rc = pthread_create(&thread, &attr, { raw in
        let box = Unmanaged<ThreadBox>.fromOpaque(raw!).takeRetainedValue()
        box.run()
        return nil
    }, raw)
    precondition(rc == 0, "Green: pthread_create failed (\(rc))")
    pthread_join(thread, nil)
    return try result!.get()
}

private final class ThreadBox {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// The resident memory of this process in bytes (from /proc/self/statm).
public func residentBytes() -> Int { Int(green_resident_bytes()) }
