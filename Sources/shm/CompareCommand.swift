import ArgumentParser

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Measure every mechanism on this machine against plain C (not built yet).")

    func run() throws {
        Output.error(
            "shm compare is not built yet: the measurements against plain C land with the comparison work. "
                + "Meanwhile `swift test` exercises every backend on this machine.")
    }
}
