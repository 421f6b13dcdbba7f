import Green
import GreenActors

/// Runs green code on a thread of its own (Swift Testing uses the cooperative pool).
func green<T>(_ body: @escaping () throws -> T) throws -> T { try runInNewThread(body) }

struct Boom: Error, Equatable {}

/// An ordered record of what actors did, shared on one hub.
final class Journal {
    var entries: [String] = []
    func add(_ s: String) { entries.append(s) }
}

/// A worker that logs its start and stop, and crashes on "crash".
final class Worker: GreenActor<String> {
    let journal: Journal
    init(_ name: String, _ journal: Journal) {
        self.journal = journal
        super.init(name: name)
    }
    override func willStart() throws { journal.add("start \(name)") }
    override func didStop(_ reason: ExitReason) { journal.add("stop \(name)") }
    override func receive(_ message: String) throws {
        if message == "crash" { throw Boom() }
        if message == "sleep" { try sleep(.seconds(30)) }
    }
}

func workerSpec(_ id: String, _ journal: Journal, restart: ChildSpec.Restart = .permanent) -> ChildSpec {
    ChildSpec(id: id, restart: restart) {
        let w = Worker(id, journal)
        try w.start()
        return w
    }
}

/// Lets the hub run everything that is ready (exits, link notices, restarts)
/// until nothing is: an event, not a time. The calling greenlet yields until
/// the ready queue stays empty across more than two hand-off budgets, so the
/// hub has run its callbacks (link notices) in between with nothing left.
/// Timers and I/O are not waited for.
func settle() throws {
    var quiet = 0
    while quiet < 300 {
        try yieldGreenlet()
        quiet = Hub.current.readyCount == 0 ? quiet + 1 : 0
    }
}
