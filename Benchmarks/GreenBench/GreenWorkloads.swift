/// GreenWorkloads: the workloads on Green's runtime (`--runtime green`).
///
/// A stub until the green runtime is wired in: build each line with the `Report` builders in
/// WorkloadReports.swift (e.g. `Report.pingpong(runtime: .green, ...)`) so both runtimes print
/// the same keys.

/// Runs `workload` on green threads and actors and reports what it measured.
func runGreenWorkload(_ workload: Workload, count: Int, senders: Int, hubs: Int) throws -> Report {
    throw GreenRuntimeNotWired(workload: workload)
}

/// The green runtime is not wired into green-bench yet.
struct GreenRuntimeNotWired: Error, CustomStringConvertible {
    let workload: Workload
    var description: String {
        "the green runtime is not wired into green-bench yet (workload '\(workload.rawValue)'); try --runtime swift"
    }
}
