import ArgumentParser
import SharedMemory
import SystemPackage

/// Parses an address argument; a bad one is reported with the library's reason and hint.
func parseAddress(_ text: String) throws -> RegionAddress {
    do {
        return try RegionAddress(parsing: text)
    } catch {
        throw ValidationError("\(error.message)\nhint: \(error.hint)")
    }
}

/// A byte count as people write it: `4096`, `4K`, `4KiB`, `1M`, `64MiB`, `2G` (powers of 1024).
struct ByteCount: ExpressibleByArgument {
    let value: Int

    init?(argument: String) {
        let units: [(suffix: String, shift: Int)] = [
            ("KiB", 10), ("MiB", 20), ("GiB", 30), ("TiB", 40), ("K", 10), ("M", 20), ("G", 30), ("T", 40), ("", 0),
        ]
        for unit in units where argument.uppercased().hasSuffix(unit.suffix.uppercased()) {
            guard let number = Int(argument.dropLast(unit.suffix.count)), number >= 0,
                number <= Int.max >> unit.shift
            else { continue }
            value = number << unit.shift
            return
        }
        return nil
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// Permission bits in octal, as chmod takes them: `600`, `0644`.
struct Permissions: ExpressibleByArgument {
    let permissions: FilePermissions

    init?(argument: String) {
        let digits = argument.hasPrefix("0o") ? String(argument.dropFirst(2)) : argument
        guard !digits.isEmpty, digits.count <= 4, let value = UInt32(digits, radix: 8), value <= 0o777 else {
            return nil
        }
        permissions = FilePermissions(rawValue: value)
    }

    /// As `--help` shows a default: `0600`.
    var defaultValueDescription: String { permissions.octal }
}

/// Runs `body`; a library error goes to stderr with its hint, and the command exits 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as SharedMemoryError {
        Output.error("shm: \(error)")
        throw ExitCode.failure
    }
}

/// `--trust-owner UID`, for the verbs that open a region or a semaphore set: whose objects to
/// accept besides the user running `shm` and root.
struct TrustOptions: ParsableArguments {
    @Option(
        name: .customLong("trust-owner"),
        help: ArgumentHelp(
            "Accept an object owned or created by this user id too (repeatable); by default only yours and root's.",
            valueName: "uid"))
    var trustedOwners: [UInt32] = []

    var owners: Set<UInt32> { Set(trustedOwners) }

    var regionOptions: SharedRegionOptions {
        var options = SharedRegionOptions()
        options.trustedOwners = owners
        return options
    }
}
