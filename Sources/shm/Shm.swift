#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

@main
struct Shm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shm",
        abstract: "Create, inspect and compare shared memory: System V, POSIX, mapped files and memfd.",
        discussion: """
            Addresses name a region and its mechanism: posix:/NAME, sysv:KEY, sysv:ftok:/PATH#PROJ, \
            sysv:id=SHMID, sysv:private, file:/ABSOLUTE/PATH, memfd:NAME.
            """,
        subcommands: [
            CreateCommand.self, WriteCommand.self, ReadCommand.self, StatCommand.self, ListCommand.self,
            RemoveCommand.self, SemCommand.self, HeapCommand.self, ServiceCommand.self, PublishCommand.self,
            SubscribeCommand.self, EventCommand.self, NotifyCommand.self, ListenCommand.self, CompareCommand.self,
            ComparePeerCommand.self,
        ]
    )

    static func main() {
        // A reader that goes away (`shm read ... | head`) is an EPIPE to stop at, not a signal.
        signal(SIGPIPE, SIG_IGN)
        if let problem = nonUTF8Argument() { exit(withError: ValidationError(problem)) }
        main(nil)
    }

    /// `CommandLine.arguments` replaces bytes that are not UTF-8 with U+FFFD, so a name such
    /// as `posix:/\xff` would quietly become another name than the one a C program opens.
    /// Names are used byte for byte: an argument that is not UTF-8 is refused, shown with
    /// its bytes escaped.
    static func nonUTF8Argument() -> String? {
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) == nil else { continue }
            let bytes = UnsafeRawBufferPointer(start: raw, count: strlen(raw))
            let shown = bytes.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined()
            return "argument \(index) (\"\(shown)\") is not valid UTF-8: names are used byte for byte, "
                + "and this tool takes only UTF-8 ones; create such an object from C, or rename it"
        }
        return nil
    }

    private static func hex(_ byte: UInt8) -> String {
        (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
    }
}
