#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The real backend: cells from `CellFactory`, workloads from `ParkedWorkload`
/// in cgroup leaves under `--cgroup-root`.
struct KernelCellBackend: CellBackend {
    /// The NFLOG hook (FlowlogCore's opener); nil = no nflog fd.
    var flowLogSocket: FlowLogSocketOpener?
    /// Pin every created cell's netns at /run/netns/cellos-<id> (`--pin`).
    var pinNamespaces = false
    /// Where pins are recorded for the restart sweep.
    var pinLedger: String?
    /// Uplinks for cells whose policy allows egress (`--uplink-pool`).
    var uplink: UplinkSettings?
    /// Where workload cgroup leaves are made (`--cgroup-root`).
    var cgroups: CgroupSettings?

    func createCell(_ request: CreateCell, attached: consuming OwnedFD?) throws(RefusedRequest) -> any BackendCell {
        do throws(CellError) {
            let cell: Cell
            if let attached = consume attached {
                cell = try CellFactory.attach(id: request.cellID, namespace: attached, policy: request.policy, flowLogSocket: flowLogSocket)
            } else {
                cell = try CellFactory.create(
                    id: request.cellID, policy: request.policy, flowLogSocket: flowLogSocket, pin: pinNamespaces,
                    pinLedger: pinLedger, uplink: uplink)
            }
            return KernelCell(cell, cgroups: cgroups)
        } catch {
            let code = switch error {
            case .hostNamespace, .notANetworkNamespace, .ipv6RuleWithoutIPv6Uplink: NetnsdSession.ErrorCode.invalidRequest
            case .setupFailed: NetnsdSession.ErrorCode.setupFailed
            case .outOfResources: NetnsdSession.ErrorCode.limitExceeded
            }
            throw RefusedRequest("\(error)", code: code)
        }
    }
}

/// A `Cell` held by a session.
final class KernelCell: BackendCell {
    private var cell: Cell
    private let cgroups: CgroupSettings?

    init(_ cell: consuming Cell, cgroups: CgroupSettings?) {
        self.cell = cell
        self.cgroups = cgroups
    }

    var id: CellID { cell.id }
    var uplinkInterface: String? { cell.uplink?.slot.hostInterface }
    var pinPath: String? { cell.pin?.path }

    // Duplicates for the reply: the kernel copies them into the message, and the
    // cell keeps its own descriptors for as long as it lives.
    func replyDescriptors() throws(RefusedRequest) -> CellDescriptors {
        var descriptors = DescriptorSet()
        var names = CellCreated.requiredNames
        do {
            descriptors.append(try cell.namespace.duplicate())
            descriptors.append(try cell.dnsUDP.duplicate())
            descriptors.append(try cell.dnsTCP.duplicate())
            switch cell.flowLog {
            case .some(let flowLog):
                descriptors.append(try flowLog.duplicate())
                names.append("nflog")
            case .none: break
            }
            switch cell.l7Listener {
            case .some(let listener):
                descriptors.append(try listener.duplicate())
                names.append("l7-tcp")
            case .none: break
            }
            switch cell.l7Listener6 {
            case .some(let listener):
                descriptors.append(try listener.duplicate())
                names.append("l7-tcp6")
            case .none: break
            }
        } catch {
            let code = CellError.exhaustionErrors.contains(error.errno) ? NetnsdSession.ErrorCode.limitExceeded : NetnsdSession.ErrorCode.setupFailed
            throw RefusedRequest("cell \(cell.id): duplicating its descriptors for the reply: \(error)", code: code)
        }
        return CellDescriptors(descriptors: descriptors, names: names)
    }

    func readCounters() throws(RefusedRequest) -> [CountersReport.Entry] {
        do {
            return try cell.readCounters().entries.map {
                CountersReport.Entry(label: $0.label, packets: $0.count.packets, bytes: $0.count.bytes)
            }
        } catch {
            throw RefusedRequest("reading counters of cell \(cell.id): \(error)", code: NetnsdSession.ErrorCode.setupFailed)
        }
    }

    func tearDown() throws { try cell.tearDown() }

    func endFlowLog() throws { try cell.endFlowLog() }

    func spawnWorkload(_ plan: WorkloadPlan) throws(RefusedRequest) -> SpawnedWorkload {
        let request = plan.request
        let workload: ParkedWorkload
        let confinement: ChildConfinement
        do {
            let filter: [UInt8]
            do { filter = try BaselineSeccomp.compile(request.seccompProfile) } catch {
                throw CellError.setupFailed(cell: request.cellID.value, step: "compiling the \(request.seccompProfile.name) seccomp filter", reason: "\(error)")
            }
            let resolvConf: String
            do {
                resolvConf = try ResolvConf.write(cell.policy.resolver)
                if request.filesystemView { try FilesystemView.prepareMountPoint() }
            } catch {
                throw CellError.setupFailed(cell: request.cellID.value, step: "preparing the cell's resolv.conf", reason: "\(error)")
            }
            // The child's mount keeps the file; its name is gone once the child is parked.
            defer { unlink(resolvConf) }
            let view = request.filesystemView
                ? FilesystemView(request, identity: plan.identity, resolvConf: resolvConf, sourceIsDirectory: plan.sourceIsDirectory, secretDescriptors: plan.secrets) : nil
            confinement = ChildConfinement(
                view: view, landlock: LandlockRules(abi: plan.landlockABI, view: view, workspace: request.workspace), client: plan.client)
            workload = try ParkedWorkload.spawn(
                request, as: plan.identity, in: cell.namespace, resolvConf: resolvConf, confinement: confinement, seccompFilter: filter,
                stdio: plan.stdio)
        } catch {
            throw RefusedRequest("\(error)", code: NetnsdSession.ErrorCode.setupFailed)
        }
        // Into its cgroup leaves while parked, so everything it will ever fork is inside.
        var workloadCgroups: WorkloadCgroups?
        let enforcement: [LimitEnforcement]
        if let cgroups {
            do {
                let created = try WorkloadCgroups.create(
                    cgroups, name: "cell-\(request.cellID)-\(workload.pid)", pid: workload.pid, limits: request.cgroupLimits,
                    endWorkload: {
                        try? workload.signal(SIGKILL)
                        _ = workload.waitForExit()
                    })
                workloadCgroups = created
                enforcement = created.enforcement
            } catch {
                // `create` killed and reaped the workload before removing its leaves.
                throw RefusedRequest("cell \(request.cellID): cgroup limits: \(error)", code: NetnsdSession.ErrorCode.setupFailed)
            }
        } else {
            enforcement = WorkloadCgroups.withoutCgroupRoot(request.cgroupLimits)
        }
        return SpawnedWorkload(
            workload: KernelWorkload(workload, cgroups: workloadCgroups),
            layers: ConfinementReport.layers(for: request, identity: plan.identity, confinement: confinement), enforcement: enforcement)
    }
}

/// A `ParkedWorkload` with its cgroup leaves.
final class KernelWorkload: BackendWorkload {
    private let workload: ParkedWorkload
    private let cgroups: WorkloadCgroups?

    init(_ workload: ParkedWorkload, cgroups: WorkloadCgroups?) {
        self.workload = workload
        self.cgroups = cgroups
    }

    var pid: Int32 { workload.pid }
    var cgroupLeaves: [String] { (cgroups?.leaves ?? []).map(\.path) }
    func start() throws(SystemCallError) { try workload.start() }
    func signal(_ signal: Int32) throws(SystemCallError) { try workload.signal(signal) }
    func killAll() { cgroups?.killAll() }

    func waitForExit() -> WorkloadOutcome {
        let outcome = workload.waitForExit()
        return WorkloadOutcome(
            exitCode: outcome.exitCode, signal: outcome.signal, userMicroseconds: outcome.userMicroseconds,
            systemMicroseconds: outcome.systemMicroseconds, maxResidentKilobytes: outcome.maxResidentKilobytes)
    }

    // Without cgroups, only its own PID namespace shows nothing it forked is left.
    func clearAfterReap() -> Bool {
        cgroups?.killAll()
        return cgroups?.remove() ?? workload.ownsPIDNamespace
    }
}
