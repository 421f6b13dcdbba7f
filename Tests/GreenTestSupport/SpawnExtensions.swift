import Glibc

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+),
/// `posix_spawn_file_actions_addchdir_np` (2.29+) and `pipe2` (2.9+): the
/// headers declare them only under `_GNU_SOURCE`, which Swift's Glibc module
/// does not define, so they are looked up by name once.
enum SpawnExtensions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias Chdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    static let pipe2Function: Pipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }
    static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    static let chdir: Chdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: Chdir.self) }

    /// Makes the child close every descriptor from `lowest` up before `exec`.
    /// Traps on a glibc older than 2.34 (Debian 12 has 2.36): without it the
    /// child would inherit this process's thousands of sockets.
    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
        guard let closeFrom else { fatalError("glibc without posix_spawn_file_actions_addclosefrom_np (needs 2.34+)") }
        precondition(closeFrom(&actions, lowest) == 0, "posix_spawn_file_actions_addclosefrom_np failed")
    }

    /// Makes the child change to `directory` before `exec`.
    static func addChdir(_ actions: inout posix_spawn_file_actions_t, _ directory: String) {
        guard let chdir else { fatalError("glibc without posix_spawn_file_actions_addchdir_np (needs 2.29+)") }
        precondition(chdir(&actions, directory) == 0, "posix_spawn_file_actions_addchdir_np failed")
    }

    /// `pipe2(fds, flags)`: a pipe whose descriptors get `flags` (O_CLOEXEC)
    /// atomically, so no child spawned meanwhile by another thread inherits them.
    /// Returns 0, or -1 with `errno` set.
    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        guard let pipe2Function else { fatalError("glibc without pipe2") }
        return pipe2Function(fds, flags)
    }
}
