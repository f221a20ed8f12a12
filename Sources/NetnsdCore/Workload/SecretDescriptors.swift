#if canImport(Glibc)
import Glibc
#endif
import CNetnsdShim
import CShim
import IPCWire

/// The memfds of `SpawnWorkload.secretFiles`, checked before anything is created
/// and turned into the view's steps that write `/run/secrets/<name>`. Sealed
/// against writes, growth and shrinking (and against changing the seals), a
/// memfd's bytes cannot change between this check and the child's copy, so the
/// size checked here is the size written. Refusals name the entry, never its bytes.
enum SecretDescriptors {
    static let required = CELLOS_SECRET_SEALS

    /// Each descriptor is a regular file of exactly the declared size whose seals
    /// include `required` (only a memfd has seals to show: other files refuse F_GET_SEALS
    /// or carry only F_SEAL_SEAL).
    static func check(_ request: SpawnWorkload, descriptors: [Int32]) -> Result<Void, RefusedRequest> {
        guard descriptors.count == request.secretFiles.count else {
            return .failure(RefusedRequest("cell \(request.cellID): \(descriptors.count) secret descriptors for \(request.secretFiles.count) secret_files"))
        }
        for (index, (file, fd)) in zip(request.secretFiles, descriptors).enumerated() {
            let field = "cell \(request.cellID): secret_files[\(index)] '\(file.name)'"
            var info = stat()
            guard fstat(fd, &info) == 0 else { return .failure(RefusedRequest("\(field): \(SystemCallError("fstat"))")) }
            guard info.st_mode & S_IFMT == S_IFREG else { return .failure(RefusedRequest("\(field): the descriptor is not a memfd (not a regular file)")) }
            let seals = cellos_fd_seals(fd)
            guard seals >= 0 else { return .failure(RefusedRequest("\(field): the descriptor is not a sealable memfd (\(SystemCallError("fcntl(F_GET_SEALS)")))")) }
            guard seals & required == required else {
                return .failure(RefusedRequest("\(field): the memfd is not sealed (seals 0x\(String(seals, radix: 16)), need F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE)"))
            }
            guard info.st_size == off_t(file.size) else {
                return .failure(RefusedRequest("\(field): the memfd holds \(info.st_size) bytes, the request says \(file.size)"))
            }
        }
        return .success(())
    }

    /// `/run/secrets` (the workload's, mode 0700) and one file per secret, after
    /// the view's private /run exists.
    static func steps(_ files: [SecretFile], descriptors: [Int32]) -> [FilesystemView.Step] {
        guard !files.isEmpty else { return [] }
        let (parent, name) = FilesystemView.split(SecretFile.directory)
        var steps = [FilesystemView.Step(op: CELLOS_VIEW_OWNED_DIR, parent: parent, name: name)]
        let directory = String(SecretFile.directory.dropFirst())
        for (file, fd) in zip(files, descriptors) {
            steps.append(FilesystemView.Step(op: CELLOS_VIEW_SECRET, parent: directory, name: file.name, fd: fd, size: UInt64(file.size)))
        }
        return steps
    }
}
