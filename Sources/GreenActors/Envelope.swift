/// What travels through a mailbox: a typed user message, or a system notice.
enum Envelope<Message> {
    case user(Message)
    case exit(ExitSignal)
    case down(DownSignal)
    case stop
}
