import Green
import GreenAMQP
import Testing

struct Job: Codable, Equatable {
    let id: Int
    let title: String
}

extension BrokerTests {
    @Suite struct RemoteQueueTests {
        @Test func putGetGetNowaitAndIteration() throws {
            try withBroker {
                let client = try AMQPClient.connect(Broker.configuration)
                defer { try? client.close() }
                let name = uniqueName("remote")
                let jobs = try RemoteQueue<Job>(name: name, client: client, durable: false)
                #expect(throws: QueueError.empty) { try jobs.getNowait() }
                for i in 0..<5 { try jobs.put(Job(id: i, title: "job \(i)")) }
                #expect(try jobs.count == 5)
                #expect(try jobs.getNowait() == Job(id: 0, title: "job 0"))
                #expect(try jobs.get(timeout: .seconds(30)).id == 1)
                let producer = spawn { for i in 5..<8 { try jobs.put(Job(id: i, title: "late")) } }
                var ids: [Int] = []
                for job in jobs {
                    ids.append(job.id)
                    if job.id == 7 { try jobs.close() }
                }
                try producer.get()
                #expect(ids == [2, 3, 4, 5, 6, 7])
                #expect(throws: QueueError.closed) { try jobs.get(timeout: .zero) }
                _ = try client.deleteQueue(name)
            }
        }

        @Test func aGetTimesOutAsEmpty() throws {
            try withBroker {
                let client = try AMQPClient.connect(Broker.configuration)
                defer { try? client.close() }
                let name = uniqueName("empty")
                let q = try RemoteQueue<Int>(name: name, client: client, durable: false)
                #expect(throws: QueueError.empty) { try q.get(timeout: .milliseconds(200)) }
                _ = try client.deleteQueue(name)
            }
        }

        /// A poison message: it is rejected and counted with its reason; the
        /// items around it arrive.
        @Test func aMessageThatDoesNotDecodeIsRejectedAndSkipped() throws {
            try withBroker {
                let client = try AMQPClient.connect(Broker.configuration)
                defer { try? client.close() }
                let name = uniqueName("poison")
                let q = try RemoteQueue<Job>(name: name, client: client, durable: false)
                try q.put(Job(id: 1, title: "a"))
                try client.publish([UInt8](text: "{not json"), routingKey: name)
                try q.put(Job(id: 2, title: "b"))
                #expect(try q.get(timeout: .seconds(30)).id == 1)
                #expect(try q.get(timeout: .seconds(30)).id == 2)
                #expect(q.undecodable.count == 1)
                #expect(q.undecodable.first?.body == [UInt8](text: "{not json"))
                #expect(try q.count == 0)
                _ = try client.deleteQueue(name)
            }
        }

        /// Two processes' worth of queues (two clients): each item is taken once.
        @Test func twoConsumersShareTheWork() throws {
            try withBroker {
                let a = try AMQPClient.connect(Broker.configuration)
                let b = try AMQPClient.connect(Broker.configuration)
                defer { try? a.close(); try? b.close() }
                let name = uniqueName("shared")
                let qa = try RemoteQueue<Int>(name: name, client: a, durable: false)
                let qb = try RemoteQueue<Int>(name: name, client: b, durable: false)
                for i in 0..<40 { try qa.put(i) }
                var taken: [Int] = []
                let ga = spawn { while let i = try? qa.get(timeout: .milliseconds(500)) { taken.append(i) } }
                let gb = spawn { while let i = try? qb.get(timeout: .milliseconds(500)) { taken.append(i) } }
                try ga.get(); try gb.get()
                #expect(taken.sorted() == Array(0..<40))
                _ = try a.deleteQueue(name)
            }
        }
    }
}
