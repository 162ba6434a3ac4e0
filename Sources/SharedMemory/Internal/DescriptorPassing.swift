#if canImport(Glibc)
import Glibc
#endif
import CSharedMemoryShims
import SystemPackage

/// Sends and receives one file descriptor over a Unix-domain socket (`SCM_RIGHTS`).
enum DescriptorPassing {
    static func send(_ descriptor: Int32, over socket: Int32, address: RegionAddress) throws(SharedMemoryError) {
        _ = try withMessage { message in
            let header = CSharedMemoryShims_CMSG_FIRSTHDR(&message)!
            header.pointee.cmsg_level = SOL_SOCKET
            header.pointee.cmsg_type = Int32(SCM_RIGHTS)
            header.pointee.cmsg_len = CSharedMemoryShims_CMSG_LEN(MemoryLayout<Int32>.size)
            UnsafeMutableRawPointer(CSharedMemoryShims_CMSG_DATA(header)!).storeBytes(of: descriptor, as: Int32.self)
            return SystemCall.value { sendmsg(socket, &message, Int32(MSG_NOSIGNAL)) }
        }.get("sendmsg", address)
    }

    /// Waits for a message that carries a descriptor and returns it, close-on-exec.
    static func receive(from socket: Int32) throws(SharedMemoryError) -> Int32 {
        let received = try withMessage { message in
            SystemCall.value { recvmsg(socket, &message, Int32(MSG_CMSG_CLOEXEC)) }.map { _ -> Int32? in
                guard let header = CSharedMemoryShims_CMSG_FIRSTHDR(&message),
                    header.pointee.cmsg_level == SOL_SOCKET, header.pointee.cmsg_type == Int32(SCM_RIGHTS)
                else { return nil }
                return UnsafeRawPointer(CSharedMemoryShims_CMSG_DATA(header)!).loadUnaligned(as: Int32.self)
            }
        }.get("recvmsg", nil)
        guard let received else {
            throw SharedMemoryError(
                code: .invalidArgument, operation: "recvmsg", message: "the message carried no file descriptor",
                hint: "the sender must send with MemfdRegion.send(over:) (SCM_RIGHTS)")
        }
        return received
    }

    /// Calls `body` with a message of one data byte (a message must carry at least one) and
    /// room for one descriptor's control header.
    private static func withMessage<T>(_ body: (inout msghdr) -> Result<T, Errno>) -> Result<T, Errno> {
        var payload: UInt8 = 0
        let controlLength = CSharedMemoryShims_CMSG_SPACE(MemoryLayout<Int32>.size)
        let control = UnsafeMutableRawPointer.allocate(byteCount: controlLength, alignment: 8)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: controlLength)
        return withUnsafeMutablePointer(to: &payload) { payloadPointer in
            var vector = iovec(iov_base: payloadPointer, iov_len: 1)
            return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = control
                message.msg_controllen = controlLength
                return body(&message)
            }
        }
    }
}
