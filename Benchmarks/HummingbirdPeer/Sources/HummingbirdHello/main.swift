// The seeds' WSGI hello world on Hummingbird 2, one event-loop thread:
// `hummingbird-hello PORT` answers every GET with "Hello Cruel World!" (text/html).
import Hummingbird
import NIOPosix

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8000 : 8000
let body = ByteBuffer(string: "Hello Cruel World!")
let router = Router()
router.get("/") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: body))
}
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1))
)
try await app.runService()
