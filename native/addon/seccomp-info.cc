// seccomp-info.cc: facts about libseccomp and syscall names, for the plan builder.
//
// The OCI spec names architectures "SCMP_ARCH_X86_64" while libseccomp's resolver wants
// "x86_64"; we accept both. Syscall numbers are per architecture, which is why a filter for
// a multi-arch config must resolve each name once per arch.
#include <seccomp.h>

#include <string>

#include "addon.h"
#include "errors.h"

namespace berth {

namespace {

struct ArchName {
  uint32_t token;
  const char* oci_name;
};

// The OCI names of the architectures this libseccomp was built to know. Newer libseccomp
// releases add architectures as macros, hence one #ifdef per entry rather than a version test.
constexpr ArchName kArchNames[] = {
#ifdef SCMP_ARCH_X86
    {SCMP_ARCH_X86, "SCMP_ARCH_X86"},
#endif
#ifdef SCMP_ARCH_X86_64
    {SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64"},
#endif
#ifdef SCMP_ARCH_X32
    {SCMP_ARCH_X32, "SCMP_ARCH_X32"},
#endif
#ifdef SCMP_ARCH_ARM
    {SCMP_ARCH_ARM, "SCMP_ARCH_ARM"},
#endif
#ifdef SCMP_ARCH_AARCH64
    {SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64"},
#endif
#ifdef SCMP_ARCH_LOONGARCH64
    {SCMP_ARCH_LOONGARCH64, "SCMP_ARCH_LOONGARCH64"},
#endif
#ifdef SCMP_ARCH_M68K
    {SCMP_ARCH_M68K, "SCMP_ARCH_M68K"},
#endif
#ifdef SCMP_ARCH_MIPS
    {SCMP_ARCH_MIPS, "SCMP_ARCH_MIPS"},
#endif
#ifdef SCMP_ARCH_MIPS64
    {SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64"},
#endif
#ifdef SCMP_ARCH_MIPS64N32
    {SCMP_ARCH_MIPS64N32, "SCMP_ARCH_MIPS64N32"},
#endif
#ifdef SCMP_ARCH_MIPSEL
    {SCMP_ARCH_MIPSEL, "SCMP_ARCH_MIPSEL"},
#endif
#ifdef SCMP_ARCH_MIPSEL64
    {SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64"},
#endif
#ifdef SCMP_ARCH_MIPSEL64N32
    {SCMP_ARCH_MIPSEL64N32, "SCMP_ARCH_MIPSEL64N32"},
#endif
#ifdef SCMP_ARCH_PPC
    {SCMP_ARCH_PPC, "SCMP_ARCH_PPC"},
#endif
#ifdef SCMP_ARCH_PPC64
    {SCMP_ARCH_PPC64, "SCMP_ARCH_PPC64"},
#endif
#ifdef SCMP_ARCH_PPC64LE
    {SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE"},
#endif
#ifdef SCMP_ARCH_S390
    {SCMP_ARCH_S390, "SCMP_ARCH_S390"},
#endif
#ifdef SCMP_ARCH_S390X
    {SCMP_ARCH_S390X, "SCMP_ARCH_S390X"},
#endif
#ifdef SCMP_ARCH_PARISC
    {SCMP_ARCH_PARISC, "SCMP_ARCH_PARISC"},
#endif
#ifdef SCMP_ARCH_PARISC64
    {SCMP_ARCH_PARISC64, "SCMP_ARCH_PARISC64"},
#endif
#ifdef SCMP_ARCH_RISCV64
    {SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64"},
#endif
#ifdef SCMP_ARCH_SHEB
    {SCMP_ARCH_SHEB, "SCMP_ARCH_SHEB"},
#endif
#ifdef SCMP_ARCH_SH
    {SCMP_ARCH_SH, "SCMP_ARCH_SH"},
#endif
};

// OCI name or libseccomp name -> token; 0 when neither knows it (0 is SCMP_ARCH_NATIVE,
// which no name maps to, so it is free to mean "unknown").
uint32_t ResolveArch(const std::string& name) {
  for (const ArchName& arch : kArchNames) {
    if (name == arch.oci_name) return arch.token;
  }
  return seccomp_arch_resolve_name(name.c_str());
}

// A JS string can hold U+0000; the C API would silently resolve the prefix before it.
bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

}  // namespace

Napi::Value SeccompVersion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The version of the libseccomp actually loaded, not the headers we compiled against: a
  // host upgrade changes the former, and what it supports is what matters.
  const scmp_version* v = seccomp_version();
  Napi::Object out = Napi::Object::New(env);
  out.Set("major", Napi::Number::New(env, v->major));
  out.Set("minor", Napi::Number::New(env, v->minor));
  out.Set("micro", Napi::Number::New(env, v->micro));
  return out;
}

Napi::Value SeccompSyscallNumber(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "seccompSyscallNumber: name must be a string");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (HasNul(name)) return Napi::Number::New(env, __NR_SCMP_ERROR);

  if (info.Length() < 2 || info[1].IsUndefined()) {
    return Napi::Number::New(env, seccomp_syscall_resolve_name(name.c_str()));
  }
  if (!info[1].IsString()) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "seccompSyscallNumber: arch must be a string");
  }
  std::string arch_name = info[1].As<Napi::String>().Utf8Value();
  uint32_t arch = HasNul(arch_name) ? 0 : ResolveArch(arch_name);
  if (arch == 0) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE",
                          "seccompSyscallNumber: unknown seccomp architecture \"" + arch_name + "\"");
  }
  // Negative results other than __NR_SCMP_ERROR (-1) are libseccomp's pseudo-syscall numbers
  // (__PNR_*), e.g. for socketcall-multiplexed calls on 32-bit x86; the filter compiler
  // accepts them back, so we pass them through unchanged.
  return Napi::Number::New(env, seccomp_syscall_resolve_name_arch(arch, name.c_str()));
}

Napi::Value SeccompArchNative(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t native = seccomp_arch_native();
  for (const ArchName& arch : kArchNames) {
    if (arch.token == native) return Napi::String::New(env, arch.oci_name);
  }
  // Only reachable if libseccomp knows an architecture its own header does not name.
  Napi::Error error = Napi::Error::New(env, "seccompArchNative: libseccomp reports an unknown native architecture");
  error.Set("code", Napi::String::New(env, "ERR_BERTH_UNKNOWN_ARCH"));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace berth
