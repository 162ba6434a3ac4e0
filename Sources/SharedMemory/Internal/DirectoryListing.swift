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
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            var info = stat()
            // Gone since readdir saw it: nothing to list.
            guard name != ".", name != "..", lstat(directory + "/" + name, &info) == 0,
                info.st_mode & S_IFMT == S_IFREG
            else { continue }
            files.append((name, info))
        }
        return files.sorted { $0.0 < $1.0 }
    }
}
