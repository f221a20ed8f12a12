import CLibcrypto

/// Ed25519 (RFC 8032) and SHA-256 from the system's libcrypto (OpenSSL 3), for
/// event signing. A shared C library the host already has, instead of a Swift
/// crypto package that pulls Foundation and ICU into the broker (their load and
/// relocation were most of its start-up; docs/performance.md).
/// Keys are plain bytes (so `Sendable`); each operation builds its EVP_PKEY.
public enum Ed25519 {
    public struct PrivateKey: Sendable {
        /// The 32-byte seed (RFC 8032's private key).
        public let rawRepresentation: [UInt8]
        public let publicKey: PublicKey

        /// A new key from libcrypto's CSPRNG.
        public init() {
            var seed = [UInt8](repeating: 0, count: 32)
            // RAND_bytes fails only without an entropy source; a guessable key is worse than no key.
            precondition(RAND_bytes(&seed, 32) == 1, "libcrypto RAND_bytes failed")
            try! self.init(rawRepresentation: seed)
        }

        public init(rawRepresentation seed: [UInt8]) throws(Ed25519.KeyError) {
            guard seed.count == 32 else { throw .wrongLength(seed.count) }
            let key = try Ed25519.key(seed, isPrivate: true)
            defer { EVP_PKEY_free(key) }
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, length == 32 else { throw .rejected }
            rawRepresentation = seed
            publicKey = PublicKey(checked: raw)
        }

        /// The 64-byte signature of `message`.
        public func signature(for message: [UInt8]) throws(Ed25519.KeyError) -> [UInt8] {
            let key = try Ed25519.key(rawRepresentation, isPrivate: true)
            defer { EVP_PKEY_free(key) }
            guard let context = EVP_MD_CTX_new() else { throw .rejected }
            defer { EVP_MD_CTX_free(context) }
            var signature = [UInt8](repeating: 0, count: 64)
            var length = 64
            // Ed25519 is one-shot: no digest (NULL), the whole message at once.
            guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
                EVP_DigestSign(context, &signature, &length, message, message.count) == 1, length == 64
            else { throw .rejected }
            return signature
        }
    }

    public struct PublicKey: Sendable, Equatable {
        /// The 32-byte encoded point.
        public let rawRepresentation: [UInt8]

        fileprivate init(checked raw: [UInt8]) { rawRepresentation = raw }

        public init(rawRepresentation raw: [UInt8]) throws(Ed25519.KeyError) {
            guard raw.count == 32 else { throw .wrongLength(raw.count) }
            EVP_PKEY_free(try Ed25519.key(raw, isPrivate: false))
            rawRepresentation = raw
        }

        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == 64, let key = try? Ed25519.key(rawRepresentation, isPrivate: false) else { return false }
            defer { EVP_PKEY_free(key) }
            guard let context = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(context) }
            return EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1
                && EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
        }
    }

    public enum KeyError: Error, Equatable, Sendable {
        case wrongLength(Int)
        /// libcrypto refused the key or the operation.
        case rejected
    }

    static func key(_ raw: [UInt8], isPrivate: Bool) throws(KeyError) -> OpaquePointer {
        let key = isPrivate
            ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, raw, raw.count)
            : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count)
        guard let key else { throw .rejected }
        return key
    }
}

public enum SHA256 {
    /// The 32-byte digest of `data`.
    public static func hash(data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // EVP_Digest fails only on allocation failure.
        precondition(EVP_Digest(data, data.count, &digest, &length, EVP_sha256(), nil) == 1 && length == 32, "libcrypto SHA-256 failed")
        return digest
    }
}
