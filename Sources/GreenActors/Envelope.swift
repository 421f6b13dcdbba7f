/// A system notice in a mailbox. User messages travel apart, in the typed ring,
/// so the hot path handles no enum of a generic payload. Notices are taken
/// before user messages; Erlang orders messages only between one sender and
/// one receiver, and a notice and a user message never share a sender.
enum SystemNotice {
    case exit(ExitSignal)
    case down(DownSignal)
}
