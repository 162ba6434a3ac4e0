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
            RemoveCommand.self, SemCommand.self, CompareCommand.self, ComparePeerCommand.self,
        ]
    )

    static func main() {
        // A reader that goes away (`shm read ... | head`) is an EPIPE to stop at, not a signal.
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}
