#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The regular files of one directory, with what `lstat` says of each (symbolic links and
/// everything else that is not a regular file are left out).
enum DirectoryListing {
    static func regularFiles(in directory: String) throws(SharedMemoryError) -> [(name: String, info: stat)] {
        guard let stream = opendir(directory) else {
            let error = Errno(rawValue: errno)
            throw SharedMemoryError(
                code: .init(error), operation: "opendir", address: directory, errno: error,
                message: "cannot list the directory", hint: "give a directory that exists and that you may read")
        }
        defer { closedir(stream) }
        var files: [(String, stat)] = []
        while let entry = readdir(stream) {
            let name = Self.name(of: entry)
            var info = stat()
            // Gone since readdir saw it: nothing to list.
            guard name != ".", name != "..", lstat(directory + "/" + name, &info) == 0,
                info.st_mode & S_IFMT == S_IFREG
            else { continue }
            files.append((name, info))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// `d_name`, read in place: a `dirent` from `readdir` is only as long as its name, so
    /// copying the whole fixed-size field would read past it.
    static func name(of entry: UnsafePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        return String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
    }
}
