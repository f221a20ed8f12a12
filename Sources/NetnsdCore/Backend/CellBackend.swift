import IPCWire

/// What a session asks of the kernel, behind one seam: creating a cell, and
/// through the cell its counters, its workload and its teardown. The daemon uses
/// `KernelCellBackend`; tests of the request rules use a fake, so they need no
/// root. Every refusal is a `RefusedRequest` carrying its reply's code.
protocol CellBackend: Sendable {
    /// Creates (or, with `attached`, attaches) the cell of `request`.
    func createCell(_ request: CreateCell, attached: consuming OwnedFD?) throws(RefusedRequest) -> any BackendCell
}

/// One live cell as a session holds it. The session keeps it under its lock; a
/// dropped cell closes its descriptors.
protocol BackendCell: AnyObject {
    var id: CellID { get }
    /// The host-side uplink interface, for status.
    var uplinkInterface: String? { get }
    /// Where the namespace is pinned, for status.
    var pinPath: String? { get }
    /// Duplicates of the descriptors `CellCreated` carries, with their names.
    func replyDescriptors() throws(RefusedRequest) -> CellDescriptors
    func readCounters() throws(RefusedRequest) -> [CountersReport.Entry]
    /// Forks the workload of `plan` into the cell, parked before `execve`.
    func spawnWorkload(_ plan: WorkloadPlan) throws(RefusedRequest) -> SpawnedWorkload
    /// Removes uplink, pin and (attached) table; the descriptors stay open until
    /// the cell is dropped (see `Cell.tearDown`). Idempotent.
    func tearDown() throws
    /// Flushes and ends the flow log once nothing in the cell can send.
    func endFlowLog() throws
}

/// A workload between spawn and reap. `waitForExit` runs on the reaper's thread,
/// the rest under the session's lock.
protocol BackendWorkload: AnyObject, Sendable {
    var pid: Int32 { get }
    /// The absolute paths of its cgroup leaves, for status.
    var cgroupLeaves: [String] { get }
    /// Releases the parked workload into `execve`. Only once.
    func start() throws(SystemCallError)
    func signal(_ signal: Int32) throws(SystemCallError)
    /// Ends everything in its cgroup (DestroyCell, a closed connection).
    func killAll()
    /// Blocks until the workload ends.
    func waitForExit() -> WorkloadOutcome
    /// After the reap: kills what is left in its cgroup and removes the leaves;
    /// returns whether nothing it forked can remain.
    func clearAfterReap() -> Bool
}

/// The descriptors of a `CellCreated` reply, in the order of `names`.
struct CellDescriptors: ~Copyable {
    var descriptors: DescriptorSet
    var names: [String]
}

/// Everything a spawn needs beyond the cell: the request, checked ids and mounts,
/// the client's stdio (owned by the request frame until the child has dup'ed
/// them) and the Landlock ABI to use.
struct WorkloadPlan {
    let request: SpawnWorkload
    let identity: WorkloadIdentity
    /// For each `request.mounts[i]`, whether its source is a directory (`FilesystemView.checkMounts`).
    let sourceIsDirectory: [Bool]
    let stdio: [Int32]?
    /// The sealed memfds of `request.secretFiles`, in order (checked by `SecretDescriptors.check`).
    let secrets: [Int32]
    let client: PeerCredentials
    let landlockABI: Int
}

/// A parked workload and what `WorkloadSpawned` reports about it.
struct SpawnedWorkload {
    let workload: any BackendWorkload
    let layers: [ConfinementLayer]
    let enforcement: [LimitEnforcement]
}

/// What `wait4` reports about an ended workload.
struct WorkloadOutcome: Sendable, Equatable {
    var exitCode: Int32?
    var signal: Int32?
    var userMicroseconds: UInt64 = 0
    var systemMicroseconds: UInt64 = 0
    var maxResidentKilobytes: UInt64 = 0
}
