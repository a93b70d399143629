// addon.h: the functions the addon exports, one flat function per JS entry point.
// Their TypeScript types live in src/native/index.ts, the only module that loads the addon.
#ifndef BERTH_NATIVE_ADDON_ADDON_H
#define BERTH_NATIVE_ADDON_ADDON_H

#include <napi.h>

namespace berth {

// Fills the module's exports (addon.cc).
Napi::Object Init(Napi::Env env, Napi::Object exports);

// version(): string
Napi::Value Version(const Napi::CallbackInfo& info);

// seccomp-info.cc
Napi::Value SeccompVersion(const Napi::CallbackInfo& info);        // {major, minor, micro}
Napi::Value SeccompSyscallNumber(const Napi::CallbackInfo& info);  // (name, arch?) -> number
Napi::Value SeccompArchNative(const Napi::CallbackInfo& info);     // "SCMP_ARCH_X86_64"

// probe.cc
Napi::Value Probe(const Napi::CallbackInfo& info);  // HostProbe

// seccomp-compile.cc
Napi::Value SeccompCompile(const Napi::CallbackInfo& info);  // (request) -> {bpf, skipped}

// flock.cc
Napi::Value Flock(const Napi::CallbackInfo& info);  // (fd, "sh"|"ex"|"un", nonblocking?) -> boolean

// wait.cc
Napi::Value WaitExit(const Napi::CallbackInfo& info);       // (pidfd) -> Promise<{exitCode, signal}>
Napi::Value PidfdPollExit(const Napi::CallbackInfo& info);  // (pidfd) -> Promise<void>

// launch.cc
Napi::Value Launch(const Napi::CallbackInfo& info);  // (LaunchOptions) -> {pid, pidfd, syncFd}

// sync.cc
Napi::Value SyncRecv(const Napi::CallbackInfo& info);  // (fd) -> SyncMessage | null
Napi::Value SyncSend(const Napi::CallbackInfo& info);  // (fd, type)
Napi::Value SyncShutdown(const Napi::CallbackInfo& info);  // (fd)

// process.cc
Napi::Value PidfdOpen(const Napi::CallbackInfo& info);        // (pid) -> pidfd
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info);  // (pidfd, sig)
Napi::Value PidfdWait(const Napi::CallbackInfo& info);        // (pidfd, timeoutMs) -> exited
Napi::Value Waitpid(const Napi::CallbackInfo& info);          // (pid, nohang) -> WaitResult
Napi::Value CloseFd(const Napi::CallbackInfo& info);          // (fd)

// fifo.cc
Napi::Value Mkfifo(const Napi::CallbackInfo& info);        // (path, mode)
Napi::Value OpenFifoRdwr(const Napi::CallbackInfo& info);  // (path) -> fd

// idmap.cc
Napi::Value UsernsFd(const Napi::CallbackInfo& info);          // (uidMap, gidMap) -> fd
Napi::Value OpenTreeClone(const Napi::CallbackInfo& info);  // (source, recursive) -> {fd, flags}
Napi::Value OpenTreeIdmapped(const Napi::CallbackInfo& info);  // (source, usernsFd, rTree, rIdmap) -> fd
// device-filter.cc
Napi::Value DeviceFilterAttach(const Napi::CallbackInfo& info);  // (cgroupFd, rules) -> insn count

// layer-fs.cc (the layer model: overlay mounts, whiteouts, opaque dirs)
Napi::Value MountOverlay(const Napi::CallbackInfo& info);  // (target, data)
Napi::Value Umount(const Napi::CallbackInfo& info);        // (target, detach?)
Napi::Value Mknod(const Napi::CallbackInfo& info);         // (path, mode, major, minor)
Napi::Value Lsetxattr(const Napi::CallbackInfo& info);     // (path, name, value)
Napi::Value Lgetxattr(const Napi::CallbackInfo& info);     // (path, name) -> string | null

// scm-rights.cc
Napi::Value UnixSendFd(const Napi::CallbackInfo& info);  // (path, payload, fd)
// tty.cc
Napi::Value TtySetSize(const Napi::CallbackInfo& info);  // (fd, rows, cols)

// netlink.cc (linux.netDevices: rtnetlink requests, one per call)
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info);    // (nsFd?) -> socket fd
Napi::Value NetLinks(const Napi::CallbackInfo& info);       // (sock) -> NetLink[]
Napi::Value NetAddresses(const Napi::CallbackInfo& info);   // (sock, index) -> NetAddress[]
Napi::Value NetLinkMove(const Napi::CallbackInfo& info);    // (sock, index, nsFd, name)
Napi::Value NetAddressAdd(const Napi::CallbackInfo& info);  // (sock, index, address)
Napi::Value NetLinkUp(const Napi::CallbackInfo& info);      // (sock, index, up)

}  // namespace berth

#endif  // BERTH_NATIVE_ADDON_ADDON_H
