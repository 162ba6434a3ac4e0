#if canImport(Glibc)
import Glibc
#endif
import SharedMemory

// Steps for the truncation suite:
//
//   truncate SIZE            make the current POSIX, file or memfd object SIZE bytes (ftruncate)
//   read-at OFFSET COUNT     a guarded read (use under `fails truncated`)
//   touch OFFSET             read one byte through the raw pointer, unguarded; print it
//   sigbus-handler KIND      install this process's own SIGBUS handler before the library's:
//                            siginfo or plain (each prints which ran and exits 0), or ignore
//   raise-sigbus             send this process SIGBUS (kill), then print "survived"
extension Peer {
    static let truncationSteps: [String: Step] = [
        "truncate": { peer in
            guard let region = try peer.current() as? any ResizableRegion else { throw PeerError("not resizable") }
            try region.resize(to: peer.nextNumber("size"))
        },
        "read-at": { peer in
            let (offset, count) = (try peer.nextNumber("offset"), try peer.nextNumber("count"))
            _ = try peer.current().read(at: offset, count: count)
        },
        "touch": { peer in
            let offset = try peer.nextNumber("offset")
            say("touched \(try peer.current().withUnsafeBytes { $0[offset] })")
        },
        "sigbus-handler": { peer in
            var action = sigaction()
            sigemptyset(&action.sa_mask)
            switch try peer.next("kind") {
            case "siginfo":
                action.sa_flags = SA_SIGINFO
                action.__sigaction_handler.sa_sigaction = { _, info, _ in
                    // Only async-signal-safe calls here: write(2) of fixed text, then _exit.
                    let text: StaticString =
                        (info?.pointee.si_code ?? 0) > 0 ? "siginfo handler: SIGBUS of an access\n" : "siginfo handler: SIGBUS sent\n"
                    _ = write(1, text.utf8Start, text.utf8CodeUnitCount)
                    _exit(0)
                }
            case "plain":
                action.__sigaction_handler.sa_handler = { _ in
                    let text: StaticString = "plain handler: SIGBUS\n"
                    _ = write(1, text.utf8Start, text.utf8CodeUnitCount)
                    _exit(0)
                }
            case "ignore":
                action.__sigaction_handler.sa_handler = SIG_IGN
            case let kind:
                throw PeerError("unknown handler kind \(kind)")
            }
            guard sigaction(SIGBUS, &action, nil) == 0 else { throw PeerError("sigaction failed") }
        },
        "raise-sigbus": { _ in
            kill(getpid(), SIGBUS)
            say("survived")
        },
    ]
}
