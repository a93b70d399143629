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

}  // namespace berth

#endif  // BERTH_NATIVE_ADDON_ADDON_H
