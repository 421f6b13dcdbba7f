import CGreenContext
/// Misuse and dead ends of the bridge between greenlets and async/await, each named.
public enum AsyncBridgeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `awaitAsync` (or another call that parks a greenlet) was made from
    /// synchronous code running inside a Swift `Task`: parking there would switch
    /// greenlets inside async code, which Swift concurrency does not allow (it
    /// keeps the current task in a thread-local). Use `await` directly there,
    /// or `Green.run { ... }` to run green code.
    case calledInsideTask
    /// The hub a call was sent to has ended (its thread exited): the work was
    /// dropped. Never the case for the hub of `Green.run`, which lives as long
    /// as the process.
    case hubEnded

    /// A sentence saying what went wrong.
    public var description: String {
        switch self {
        case .calledInsideTask:
            return "awaitAsync was called from synchronous code inside a Swift Task: a greenlet cannot park inside async code (use await, or Green.run for green code)"
        case .hubEnded:
            return "the hub this call was sent to has ended (its thread exited)"
        }
    }
}

/// Whether the calling code runs inside a Swift `Task` (directly in an async
/// function, or in synchronous code it called).
/// (Swift's `swift_task_getCurrent`, through a C declaration
/// (`green_inside_swift_task`): a thread-local load, where
/// `withUnsafeCurrentTask` costs a closure and a switch over an optional,
/// about 150 instructions per `awaitAsync`.)
@inline(__always)
var isInsideSwiftTask: Bool {
    green_inside_swift_task() != 0
}
