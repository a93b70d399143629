// addon.cc: module registration. Keep this file a table: one exported name per function,
// each implemented in the file named after its concept.
#include "addon.h"

#ifndef BERTH_VERSION
#error "BERTH_VERSION must be defined by the build (CMakeLists.txt / binding.gyp)"
#endif

namespace berth {

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), BERTH_VERSION);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("seccompVersion", Napi::Function::New(env, SeccompVersion, "seccompVersion"));
  exports.Set("seccompSyscallNumber",
              Napi::Function::New(env, SeccompSyscallNumber, "seccompSyscallNumber"));
  exports.Set("seccompArchNative", Napi::Function::New(env, SeccompArchNative, "seccompArchNative"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("launch", Napi::Function::New(env, Launch, "launch"));
  exports.Set("syncRecv", Napi::Function::New(env, SyncRecv, "syncRecv"));
  exports.Set("syncSend", Napi::Function::New(env, SyncSend, "syncSend"));
  exports.Set("syncShutdown", Napi::Function::New(env, SyncShutdown, "syncShutdown"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("pidfdWait", Napi::Function::New(env, PidfdWait, "pidfdWait"));
  exports.Set("waitpid", Napi::Function::New(env, Waitpid, "waitpid"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("openFifoRdwr", Napi::Function::New(env, OpenFifoRdwr, "openFifoRdwr"));
  exports.Set("seccompCompile", Napi::Function::New(env, SeccompCompile, "seccompCompile"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit, "waitExit"));
  exports.Set("unixSendFd", Napi::Function::New(env, UnixSendFd, "unixSendFd"));
  exports.Set("pidfdPollExit", Napi::Function::New(env, PidfdPollExit, "pidfdPollExit"));
  exports.Set("usernsFd", Napi::Function::New(env, UsernsFd, "usernsFd"));
  exports.Set("openTreeIdmapped", Napi::Function::New(env, OpenTreeIdmapped, "openTreeIdmapped"));
  exports.Set("openTreeClone", Napi::Function::New(env, OpenTreeClone, "openTreeClone"));
  exports.Set("deviceFilterAttach", Napi::Function::New(env, DeviceFilterAttach, "deviceFilterAttach"));
  exports.Set("ttySetSize", Napi::Function::New(env, TtySetSize, "ttySetSize"));
  exports.Set("mountOverlay", Napi::Function::New(env, MountOverlay, "mountOverlay"));
  exports.Set("umount", Napi::Function::New(env, Umount, "umount"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr, "lsetxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr, "lgetxattr"));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
  exports.Set("netLinks", Napi::Function::New(env, NetLinks, "netLinks"));
  exports.Set("netAddresses", Napi::Function::New(env, NetAddresses, "netAddresses"));
  exports.Set("netLinkMove", Napi::Function::New(env, NetLinkMove, "netLinkMove"));
  exports.Set("netAddressAdd", Napi::Function::New(env, NetAddressAdd, "netAddressAdd"));
  exports.Set("netLinkUp", Napi::Function::New(env, NetLinkUp, "netLinkUp"));
  return exports;
}

}  // namespace berth

// NODE_API_MODULE pastes its argument into an identifier, so it needs an unqualified name.
static Napi::Object InitBerthNative(Napi::Env env, Napi::Object exports) {
  return berth::Init(env, exports);
}

NODE_API_MODULE(berth_native, InitBerthNative)
