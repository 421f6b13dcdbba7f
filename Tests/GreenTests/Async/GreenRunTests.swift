import Glibc
import Green
import Testing

@Suite struct GreenRunTests {
    @Test func returnsTheGreenletsValue() async throws {
        let got = try await Green.run {
            let q = Queue<Int>()
            spawn { try q.put(42) }
            return try q.get()
        }
        #expect(got == 42)
    }

    @Test func rethrowsTheGreenletsErrorWholeAndTyped() async throws {
        await #expect(throws: Boom(tag: "green")) {
            try await Green.run { () throws -> Int in
                try sleep(.zero)
                throw Boom(tag: "green")
            }
        }
    }

    @Test func cancellingTheTaskKillsTheGreenletWithCancellationError() async throws {
        let parked = Signal<Void>()
        let unwound = Signal<Void>()
        let task = Task {
            try await Green.run { () -> Int in
                defer { unwound.send(()) }
                let never = Event()
                parked.send(())
                _ = try never.wait()
                return 1
            }
        }
        await parked.next()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        await unwound.next()  // its defer ran: the kill unwound it
    }

    @Test func aTaskCancelledBeforehandDoesNotRunTheBody() async throws {
        let log = Signal<String>()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await Green.run { log.send("ran"); return 1 }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        log.send("end")
        #expect(await log.next() == "end")
    }

    @Test func manyConcurrentCallers() async throws {
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 1...200 {
                group.addTask {
                    try await Green.run {
                        try yieldGreenlet()
                        return i
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 200 * 201 / 2)
    }

    @Test func runsOnOneProcessWideHub() async throws {
        let a = try await Green.run { UInt(pthread_self()) }
        let b = try await Green.run { UInt(pthread_self()) }
        #expect(a == b)
    }

    @Test func fromATaskOnThatHubNothingCrossesThreads() async throws {
        let hubThread = try await Green.run { UInt(pthread_self()) }
        let seen = try await Task(executorPreference: Green.executor) {
            let caller = UInt(pthread_self())
            let inside = try await Green.run { UInt(pthread_self()) }
            return [caller, inside]
        }.value
        #expect(seen == [hubThread, hubThread])
    }
}
