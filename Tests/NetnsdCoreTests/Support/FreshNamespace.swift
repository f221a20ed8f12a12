import IPCWire
import NetworkNamespaces

/// A new, empty network namespace, held only by the returned descriptor (it
/// disappears when that closes). Tests work on it from their own thread so that
/// Foundation's `Process` never runs on a namespace thread.
func freshNamespace() throws -> OwnedFD {
    OwnedFD(adopting: try NetworkNamespace.create { namespace in try namespace.duplicate().release() })
}
