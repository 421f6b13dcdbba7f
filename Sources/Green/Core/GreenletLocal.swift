/// A value each greenlet sees its own copy of (gevent's `local`): TaskLocal
/// cannot serve, its bindings live on the thread and would leak across switches.
///
/// ```swift
/// let requestID = GreenletLocal<Int>(default: 0)
/// spawn { requestID.value = 7; ... }
/// ```
public final class GreenletLocal<Value> {
    private let defaultValue: Value

    /// A local whose value is `default` in every greenlet until set there.
    public init(default defaultValue: Value) { self.defaultValue = defaultValue }

    /// The running greenlet's value.
    public var value: Value {
        get {
            let g = AnyGreenlet.current
            return (g.locals[ObjectIdentifier(self)] as? Value) ?? defaultValue
        }
        set {
            AnyGreenlet.current.locals[ObjectIdentifier(self)] = newValue
        }
    }
}
