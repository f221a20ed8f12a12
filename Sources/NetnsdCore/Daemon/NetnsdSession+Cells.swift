import IPCWire

/// Cell lifecycle: CreateCell, ReadCounters, DestroyCell and the end of a
/// connection. Called by `RequestTable` rows with the lock held and the state
/// already checked by the gate.
extension NetnsdSession {
    func create(_ request: CreateCell, attached: consuming OwnedFD?, _ context: RequestContext) -> Frame {
        let requestID = context.requestID
        let maxCells = configuration.maxCells
        let live = slots.values.filter { $0.state == .ready }.count
        guard live < maxCells else {
            return Self.error(
                ErrorCode.limitExceeded, "this connection already holds \(live) cells (--max-cells-per-connection \(maxCells))", requestID)
        }
        if let shortage = DescriptorHeadroom.shortage() {
            return Self.error(ErrorCode.limitExceeded, DescriptorHeadroom.refusal(open: shortage.open, limit: shortage.limit), requestID)
        }
        let budget = configuration.budget
        if let budget, !budget.reserve() {
            return Self.error(
                ErrorCode.limitExceeded, "cellos-netnsd already holds \(budget.limit) cells across all connections (--max-cells \(budget.limit))",
                requestID)
        }
        // Until the cell is in a slot, every refusal below gives its budget back.
        var reserved = budget != nil
        defer { if reserved { budget?.release() } }
        let cell: any BackendCell
        let reply: CellDescriptors
        do throws(RefusedRequest) {
            cell = try backend.createCell(request, attached: attached)
            do throws(RefusedRequest) {
                reply = try cell.replyDescriptors()
            } catch {
                try? cell.tearDown()
                throw error
            }
        } catch {
            return Self.error(error, requestID)
        }
        slots[request.cellID] = CellSlot(cell: cell)
        reserved = false
        return Self.reply(CellCreated(cellID: request.cellID, names: reply.names), context, descriptors: reply.descriptors)
    }

    func destroy(_ request: DestroyCell, _ context: RequestContext) -> Frame {
        // Already destroyed: answered again, nothing happens (idempotent).
        guard let slot = context.slot, let cell = slot.cell else { return Self.reply(CellDestroyed(cellID: request.cellID), context) }
        slot.cell = nil
        slot.transition(to: .destroy)
        configuration.budget?.release()
        slot.killWorkload()
        do {
            try cell.tearDown()
        } catch {
            return Self.error(ErrorCode.setupFailed, "destroying cell \(cell.id): \(error)", context.requestID)
        }
        slot.closing = cell
        return Self.reply(CellDestroyed(cellID: cell.id), context)
    }

    func readCounters(_ context: RequestContext) -> Frame {
        guard let cell = context.slot?.cell else { return Self.gateMissed(context) }
        do {
            return Self.reply(CountersReport(cellID: cell.id, entries: try cell.readCounters()), context)
        } catch {
            return Self.error(error, context.requestID)
        }
    }

    /// Closes the descriptors of cells DestroyCell tore down; the server calls it
    /// once the reply is sent, so the client does not wait for the kernel.
    public func closeDestroyedCells() {
        lock.lock()
        defer { lock.unlock() }
        for slot in slots.values { slot.closing = nil }
    }

    /// Destroys every live cell of this connection (it closed or the daemon stops);
    /// returns how many there were.
    @discardableResult
    public func destroyAll() -> Int {
        lock.lock()
        defer { lock.unlock() }
        var count = 0
        for (id, slot) in slots {
            slot.closing = nil
            guard let cell = slot.cell else { continue }
            slot.cell = nil
            slot.transition(to: .destroy)
            configuration.budget?.release()
            slot.killWorkload()
            count += 1
            do { try cell.tearDown() } catch { NetnsdLog.write("destroying cell \(id): \(error)", priority: .error) }
        }
        return count
    }

    /// A handler found its slot without what the gate guarantees: a bug, answered
    /// as a refusal rather than a crash of the privileged daemon.
    static func gateMissed(_ context: RequestContext) -> Frame {
        error(ErrorCode.invalidState, "the request gate let through a request its state does not permit", context.requestID)
    }
}
