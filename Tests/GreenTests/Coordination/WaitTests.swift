import Green
import Testing

@Suite struct CoordinationWaitTests {
    @Test func waitAnyReturnsTheFirstSignaled() throws {
        try green { () throws in
            let e1 = Event(), e2 = Event()
            let r = AsyncResult<Int>()
            let q = Queue<Int>()
            spawn {
                try sleep(.milliseconds(5))
                e2.set()
            }
            let first = try wait(any: [e1, e2, r, q], timeout: .seconds(10))
            #expect(first === e2)

            spawn { try q.put(1) }
            #expect(try wait(any: [e1, r, q]) === q)
            #expect(try q.getNowait() == 1)

            spawn { try r.set(3) }
            #expect(try wait(any: [e1, r, q]) === r)

            let g = spawn { try sleep(.milliseconds(2)) }
            #expect(try wait(any: [e1, g, q]) === g)
        }
    }

    @Test func waitAnyTimeoutsAndEdgeCases() throws {
        try green { () throws in
            let e = Event()
            #expect(try wait(any: [e], timeout: .zero) == nil)
            #expect(try wait(any: [e], timeout: .milliseconds(3)) == nil)
            #expect(try wait(any: [], timeout: nil) == nil)
            #expect(throws: GreenError.negativeTimeout(.seconds(-1))) { try wait(any: [e], timeout: .seconds(-1)) }
            let set = Event(isSet: true)
            #expect(try wait(any: [e, set], timeout: .zero) === set, "already signaled: no wait")
            let closed = Queue<Int>()
            closed.close()
            #expect(try wait(any: [e, closed]) === closed, "a closed queue is signaled")
        }
    }

    @Test func waitAnyIgnoresASignalThatWasUndoneAndDoesNotDisturbOtherWaits() throws {
        try green { () throws in
            let q = Queue<Int>()
            let stealer = spawn { try q.get() }
            let waiter = spawn { try wait(any: [q], timeout: .milliseconds(30)) }
            try settle()
            try q.put(1)   // handed to the stealer: q never becomes non-empty
            #expect(try stealer.get() == 1)
            #expect(try waiter.get() == nil)
        }
    }

    @Test func killedMultiWaiterLeavesNoTrace() throws {
        try green { () throws in
            let e = Event()
            let q = Queue<Int>()
            let w = spawn { try wait(any: [e, q]) }
            try settle()
            try w.kill()
            #expect(w.isDead && w.isSuccessful)
            // Signaling afterwards must not disturb anything.
            e.set()
            try q.put(1)
            #expect(try q.getNowait() == 1)
        }
    }

    @Test func iwaitYieldsInCompletionOrderEachOnce() throws {
        try green { () throws in
            let gates = [Event(), Event(), Event()]
            let gs = gates.map { gate in spawn { try gate.wait() } }
            let it = try iwait(gs)
            for i in [1, 2, 0] {
                gates[i].set()
                #expect(try it.next() === gs[i])
            }
            #expect(try it.next() == nil)
        }
    }

    @Test func iwaitTimeoutCoversTheWholeIteration() throws {
        try green { () throws in
            let fast = Event(isSet: true)
            let never = Event()
            let it = try iwait([never, fast], timeout: .milliseconds(10))
            #expect(try it.next() === fast)
            #expect(try it.next() == nil)
            #expect(try it.next() == nil)
            // A park elsewhere while an iterator is alive is not cut short by its signal.
            let e = Event(), other = Event()
            let it2 = try iwait([e, other])
            spawn { e.set() }
            #expect(try it2.next() === e)
            let setter = spawn { other.set() }
            let woken = try Hub.current.park(timeout: .milliseconds(5))
            #expect(!woken, "the park timed out: the iterator's signal did not wake it")
            try setter.join()
            #expect(try it2.next() === other)
        }
    }

    @Test func waitAllWaitsForEveryOne() throws {
        try green { () throws in
            let r = AsyncResult<Int>()
            let e = Event()
            spawn { try r.set(1) }
            spawn { try sleep(.milliseconds(2)); e.set() }
            let done = try wait(all: [r, e], timeout: .seconds(10))
            #expect(done.count == 2 && done[0] === r && done[1] === e)
            let partial = try wait(all: [r, Event()], timeout: .milliseconds(5))
            #expect(partial.count == 1)
        }
    }
}
