/// Rooms in several processes made one (GreenChatLink's `RoomLink` joins
/// them through a broker): a room reports what its own users broadcast and
/// takes what the others' users broadcast.
extension ChatRoom {
    /// Calls `hook` with every message the room broadcasts for its own users
    /// (their lines `NAME> TEXT\n` and the `## NAME joined from IP.\n` and
    /// `## NAME left the chat.\n` notices), as it queues it for them; not
    /// with messages given to `relay(_:)`. One hook at a time; nil removes it.
    /// `hook` runs on the room's hub and must not block.
    /// - Note: does not switch. On the room's hub.
    public func onBroadcast(_ hook: (([UInt8]) -> Void)?) { linkHook = hook }

    /// Queues `message` (a whole line, `\n` included) for every user here as
    /// a broadcast (a user too far behind is evicted as for any broadcast),
    /// without passing it to the `onBroadcast` hook.
    /// - Note: does not switch. On the room's hub.
    public func relay(_ message: [UInt8]) { broadcast(message, fromElsewhere: true) }
}
