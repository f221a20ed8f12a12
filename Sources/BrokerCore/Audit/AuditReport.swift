import HelperRuntime

/// Renders audits as the human table (default) or JSON (`--json`).
public enum AuditReport {
    public static func table(_ audits: [CapabilityAudit]) -> String {
        var out = ""
        for audit in audits {
            let verdict = audit.failed ? "FAIL" : (audit.status == nil ? "NOT INSPECTED" : "ok")
            out += "\(audit.helper)\(audit.pid.map { " (pid \($0))" } ?? "")\(audit.cell.map { " of cell \($0)" } ?? ""): \(verdict)\n"
            out += row("declared", names(audit.declared.mask))
            if let note = audit.declared.note { out += row("", note) }
            if let status = audit.status {
                out += row("effective", names(status.effective))
                out += row("permitted", names(status.permitted))
                out += row("inheritable", names(status.inheritable))
                out += row("bounding", names(status.bounding))
                out += row("ambient", names(status.ambient))
                out += row("no_new_privs", status.noNewPrivileges ? "yes" : "no")
                out += row("seccomp", status.seccompDescription)
                out += row("uid", status.uids.map(String.init).joined(separator: " ") + "  (real effective saved fs)")
                out += row("gid", status.gids.map(String.init).joined(separator: " "))
                out += row("dumpable", audit.dumpable.map { $0 ? "yes (a process of its uid can ptrace it, read its /proc fd and environ)" : "no" } ?? "unknown (root, or /proc unreadable)")
                for excess in audit.excess {
                    out += row("EXCESS", "\(excess.set): \(excess.capabilities.joined(separator: ", "))")
                }
            } else if let note = audit.statusNote {
                out += row("running", note)
            }
            for violation in audit.violations { out += row("VIOLATION", violation) }
        }
        return out
    }

    private static func row(_ label: String, _ value: String) -> String {
        "  " + label + String(repeating: " ", count: max(1, 14 - label.count)) + value + "\n"
    }

    private static func names(_ mask: UInt64) -> String {
        let list = CapabilityNames.names(in: mask)
        if list.isEmpty { return "(none)" }
        if list.count > 6 { return "\(list.count) capabilities (mask \(hexMask(mask)))" }
        return list.joined(separator: ", ")
    }

    public static func hexMask(_ mask: UInt64) -> String { CapabilityMask.hex(mask) }

    public static func json(_ audits: [CapabilityAudit]) -> JSONValue {
        .object([
            "passed": .bool(!audits.contains { $0.failed }),
            "helpers": .array(audits.map(json)),
        ])
    }

    static func json(_ audit: CapabilityAudit) -> JSONValue {
        func set(_ mask: UInt64) -> JSONValue {
            .object(["mask": .string(hexMask(mask)), "names": .array(CapabilityNames.names(in: mask).map(JSONValue.string))])
        }
        var members: [String: JSONValue] = [
            "helper": .string(audit.helper),
            "declared": set(audit.declared.mask),
            "holds_more_than_declared": .bool(audit.holdsMoreThanDeclared),
            "failed": .bool(audit.failed),
            "violations": .array(audit.violations.map(JSONValue.string)),
            "excess": .array(audit.excess.map { .object(["set": .string($0.set), "capabilities": .array($0.capabilities.map(JSONValue.string))]) }),
        ]
        if let cell = audit.cell { members["cell"] = .string(cell) }
        if let note = audit.declared.note { members["declared_note"] = .string(note) }
        if let pid = audit.pid { members["pid"] = .integer(pid) }
        if let status = audit.status {
            members["held"] = .object([
                "effective": set(status.effective), "permitted": set(status.permitted), "inheritable": set(status.inheritable),
                "bounding": set(status.bounding), "ambient": set(status.ambient),
            ])
            members["no_new_privs"] = .bool(status.noNewPrivileges)
            members["seccomp"] = .string(status.seccompDescription)
            members["uid"] = .array(status.uids.map(JSONValue.integer))
            members["gid"] = .array(status.gids.map(JSONValue.integer))
            members["dumpable"] = audit.dumpable.map(JSONValue.bool) ?? .null
        }
        if let note = audit.statusNote { members["status_note"] = .string(note) }
        return .object(members)
    }
}
