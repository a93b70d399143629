// seccomp-compile.cc: a planned seccomp filter -> classic BPF, with libseccomp, in the parent.
//
// Why here: libseccomp allocates freely and berth-init must stay small and static, so the
// filter is compiled in Node (where malloc is safe) and berth-init only hands the finished
// program to seccomp(2), as crun does (docs/architecture.md, "Process model"). Nothing is
// loaded into this process: seccomp_export_bpf only writes the program out.
//
// The request is decided in TypeScript (src/plan/seccomp.ts): numeric actions with their errno
// already folded in, operators as enum scmp_compare values, rules already split where libseccomp
// cannot AND two comparisons of one argument. This file resolves names (architectures and
// syscalls, which only libseccomp knows per architecture) and reports what it had to skip.
//
// What the export does not carry: the seccomp(2) flags (TSYNC, LOG, SPEC_ALLOW, NEW_LISTENER)
// and no_new_privs. Those are the seccompLoad op's business, so the filter attributes that
// would only matter to seccomp_load are left alone, except NNP, which we clear to say so.
//
// One thing libseccomp cannot express is prepended to its program here: runc's -ENOSYS stub
// (runc 1.1.5 libcontainer/seccomp/patchbpf; see EnosysStub below). libseccomp rules match
// one syscall number each, and "every number above N" is not a rule it can take.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "addon.h"
#include "errors.h"
#include "../common/unique-fd.h"

namespace berth {

namespace {

// libseccomp's binary-tree optimisation pays off on long profiles (podman's has ~430 names).
// runc turns it on above 32 rules for the same reason; libseccomp <= 2.5.4 misbehaves with it
// on an empty rule set, which the threshold also avoids.
constexpr size_t kOptimizeAbove = 32;

// Owns a filter context.
class FilterCtx {
 public:
  explicit FilterCtx(uint32_t default_action) : ctx_(seccomp_init(default_action)) {}
  ~FilterCtx() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }
  FilterCtx(const FilterCtx&) = delete;
  FilterCtx& operator=(const FilterCtx&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

struct ArgCmp {
  unsigned int index;
  int op;
  uint64_t value;
  uint64_t value_two;
};

struct Rule {
  std::string syscall;
  uint32_t action;
  std::vector<ArgCmp> args;
  std::string origin;
};

// A string in a type of our own: std::vector<std::string>'s out-of-line members would be
// emitted with default visibility (libstdc++ marks namespace std so), i.e. exported from the
// addon. A vector of an internal-linkage type keeps every instantiation internal.
struct Name {
  std::string value;
};

struct Request {
  uint32_t default_action;
  std::vector<Name> architectures;
  std::vector<Rule> rules;
  // The -ENOSYS stub: the architectures it covers and every syscall name the profile lists.
  bool enosys = false;
  std::vector<Name> enosys_architectures;
  std::vector<Name> enosys_syscalls;
};

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// snprintf rather than std::to_string, whose digit table is an STB_GNU_UNIQUE symbol that
// would be exported from the addon despite -fvisibility=hidden (see errors.cc).
std::string Decimal(uint32_t n) {
  char buf[16];
  snprintf(buf, sizeof buf, "%u", n);
  return buf;
}

// Reading the request. Each reader throws a TypeError naming the field and returns false.
class Reader {
 public:
  explicit Reader(Napi::Env env) : env_(env) {}

  bool Fail(const std::string& where, const char* what) {
    ThrowTypeError(env_, "ERR_INVALID_ARG_TYPE", "seccompCompile: " + where + " must be " + what);
    return false;
  }

  bool Uint32(const Napi::Object& obj, const char* key, const std::string& where, uint32_t* out) {
    Napi::Value v = obj.Get(key);
    if (!v.IsNumber()) return Fail(where, "a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
      return Fail(where, "an integer from 0 to 2^32-1");
    }
    *out = static_cast<uint32_t>(d);
    return true;
  }

  // A uint64 as a BigInt, or as a Number that is a safe integer (exact in a double).
  bool Uint64(const Napi::Object& obj, const char* key, const std::string& where, uint64_t* out) {
    Napi::Value v = obj.Get(key);
    if (v.IsBigInt()) {
      bool lossless = false;
      uint64_t u = v.As<Napi::BigInt>().Uint64Value(&lossless);
      if (!lossless) return Fail(where, "a bigint from 0 to 2^64-1");
      *out = u;
      return true;
    }
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
        return Fail(where, "a bigint or a safe non-negative integer");
      }
      *out = static_cast<uint64_t>(d);
      return true;
    }
    return Fail(where, "a bigint or a number");
  }

  bool String(const Napi::Object& obj, const char* key, const std::string& where, std::string* out) {
    Napi::Value v = obj.Get(key);
    if (!v.IsString()) return Fail(where, "a string");
    *out = v.As<Napi::String>().Utf8Value();
    return true;
  }

  bool Array(const Napi::Object& obj, const char* key, const std::string& where, Napi::Array* out) {
    Napi::Value v = obj.Get(key);
    if (!v.IsArray()) return Fail(where, "an array");
    *out = v.As<Napi::Array>();
    return true;
  }

  bool Object(const Napi::Value& v, const std::string& where, Napi::Object* out) {
    if (!v.IsObject()) return Fail(where, "an object");
    *out = v.As<Napi::Object>();
    return true;
  }

  bool ReadArg(const Napi::Value& v, const std::string& where, ArgCmp* out) {
    Napi::Object obj;
    uint32_t index = 0, op = 0;
    if (!Object(v, where, &obj) || !Uint32(obj, "index", where + ".index", &index) ||
        !Uint32(obj, "op", where + ".op", &op) || !Uint64(obj, "value", where + ".value", &out->value) ||
        !Uint64(obj, "valueTwo", where + ".valueTwo", &out->value_two)) {
      return false;
    }
    out->index = index;
    out->op = static_cast<int>(op);
    return true;
  }

  bool ReadRule(const Napi::Value& v, const std::string& where, Rule* out) {
    Napi::Object obj;
    Napi::Array args;
    if (!Object(v, where, &obj) || !String(obj, "syscall", where + ".syscall", &out->syscall) ||
        !Uint32(obj, "action", where + ".action", &out->action) ||
        !String(obj, "origin", where + ".origin", &out->origin) || !Array(obj, "args", where + ".args", &args)) {
      return false;
    }
    out->args.resize(args.Length());
    for (uint32_t k = 0; k < args.Length(); k++) {
      if (!ReadArg(args.Get(k), where + ".args[" + Decimal(k) + "]", &out->args[k])) return false;
    }
    return true;
  }

  bool Strings(const Napi::Array& array, const std::string& where, std::vector<Name>* out) {
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Value a = array.Get(i);
      if (!a.IsString()) return Fail(where + "[" + Decimal(i) + "]", "a string");
      out->push_back(Name{a.As<Napi::String>().Utf8Value()});
    }
    return true;
  }

  bool ReadRequest(const Napi::Value& v, Request* out) {
    Napi::Object obj;
    Napi::Array arches, rules;
    if (!Object(v, "request", &obj) || !Uint32(obj, "defaultAction", "defaultAction", &out->default_action) ||
        !Array(obj, "architectures", "architectures", &arches) || !Array(obj, "rules", "rules", &rules) ||
        !Strings(arches, "architectures", &out->architectures)) {
      return false;
    }
    Napi::Value enosys = obj.Get("enosys");
    if (!enosys.IsUndefined()) {
      Napi::Object e;
      Napi::Array e_arches, e_names;
      if (!Object(enosys, "enosys", &e) || !Array(e, "architectures", "enosys.architectures", &e_arches) ||
          !Array(e, "syscalls", "enosys.syscalls", &e_names) ||
          !Strings(e_arches, "enosys.architectures", &out->enosys_architectures) ||
          !Strings(e_names, "enosys.syscalls", &out->enosys_syscalls)) {
        return false;
      }
      out->enosys = true;
    }
    out->rules.resize(rules.Length());
    for (uint32_t i = 0; i < rules.Length(); i++) {
      if (!ReadRule(rules.Get(i), "rules[" + Decimal(i) + "]", &out->rules[i])) return false;
    }
    return true;
  }

 private:
  Napi::Env env_;
};

// "SCMP_ARCH_X86_64" -> libseccomp's "x86_64" -> its token; 0 when unknown. libseccomp's
// resolver knows only its own lower-case names, which are the OCI names without the prefix.
uint32_t ResolveArchName(const std::string& name) {
  if (HasNul(name)) return 0;
  static const std::string kPrefix = "SCMP_ARCH_";
  std::string short_name = name.compare(0, kPrefix.size(), kPrefix) == 0 ? name.substr(kPrefix.size()) : name;
  for (char& c : short_name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return seccomp_arch_resolve_name(short_name.c_str());
}

// --- The -ENOSYS stub.
//
// A profile whose default action refuses (errno, kill, trap) also refuses system calls newer
// than the profile: libc then sees EPERM (or dies) where the kernel's ENOSYS would have made it
// fall back to the older call (clone3 -> clone, faccessat2 -> faccessat). runc 1.1.5 prepends a
// stub to libseccomp's program that returns ENOSYS for every syscall number above the highest
// one the profile names, per architecture it lists; what counts (checked against runc on this
// host, and in its patchbpf/enosys_linux.go):
//   - only the architectures in linux.seccomp.architectures (none listed, no stub);
//   - the highest number, for that architecture, of any name in any rule, whatever its action
//     or arguments; names this libseccomp does not know, or that do not exist there, count not;
//   - x86_64 and x32 share AUDIT_ARCH_X86_64: x32 calls carry __X32_SYSCALL_BIT, and each mode
//     is compared with its own highest number (libseccomp's x32 numbers include the bit);
//   - s390 and s390x multiplex unknown numbers through syscall 0, which gets ENOSYS as well;
//   - an architecture with no known syscall in the profile gets no stub.
// The planner decides whether there is a stub at all (src/plan/seccomp.ts).

constexpr uint32_t kX32SyscallBit = 0x40000000;

// One instruction, with `target` a label for a `ja` to be resolved once the stub is laid out.
struct StubInsn {
  sock_filter insn;
  int target;
};

class StubBuilder {
 public:
  // Labels 0 and 1 are the ENOSYS return and the first instruction of libseccomp's program.
  static constexpr int kEnosys = 0;
  static constexpr int kFilter = 1;

  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size() - 1);
  }
  void Place(int label) { labels_[static_cast<size_t>(label)] = static_cast<int>(insns_.size()); }
  void Load(uint32_t offset) { Add(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  // if (A <cond> k) goto label: the test falls through to a `ja` when true, skips it when not.
  void If(uint16_t cond, uint32_t k, int label) {
    Add(BPF_JUMP(BPF_JMP | cond | BPF_K, k, 0, 1));
    Goto(label);
  }
  void Goto(int label) { insns_.push_back(StubInsn{BPF_STMT(BPF_JMP | BPF_JA, 0), label}); }
  void Return(uint32_t k) { Add(BPF_STMT(BPF_RET | BPF_K, k)); }

  // The stub, its jumps resolved; libseccomp's program goes right after it (label kFilter).
  std::vector<sock_filter> Finish() {
    Place(kFilter);
    std::vector<sock_filter> out;
    for (size_t i = 0; i < insns_.size(); i++) {
      sock_filter f = insns_[i].insn;
      if (insns_[i].target >= 0) f.k = static_cast<uint32_t>(labels_[static_cast<size_t>(insns_[i].target)] - static_cast<int>(i) - 1);
      out.push_back(f);
    }
    return out;
  }

 private:
  void Add(sock_filter f) { insns_.push_back(StubInsn{f, -1}); }
  std::vector<StubInsn> insns_;
  std::vector<int> labels_{-1, -1};
};

// The highest number `arch` gives any of `names`, or 0 when it knows none of them.
uint32_t HighestSyscall(uint32_t arch, const std::vector<Name>& names) {
  int highest = 0;
  for (const Name& name : names) {
    if (HasNul(name.value)) continue;
    // Negative: __NR_SCMP_ERROR, or one of libseccomp's pseudo-numbers for a call that does not
    // exist on this architecture.
    int nr = seccomp_syscall_resolve_name_arch(arch, name.value.c_str());
    if (nr > highest) highest = nr;
  }
  return static_cast<uint32_t>(highest);
}

struct StubArch {
  uint32_t audit;           // what seccomp_data.arch holds
  uint32_t highest = 0;     // native mode (for x86_64: calls without the x32 bit)
  uint32_t highest_x32 = 0; // x86_64 only: calls with the x32 bit
};

// Builds the stub for `req`, and reports each architecture's highest number in `highest`
// (OCI name -> number) for the caller. Returns false with a JS exception pending.
bool EnosysStub(Napi::Env env, const Request& req, std::vector<sock_filter>* stub, Napi::Object highest) {
  std::vector<StubArch> arches;
  for (const Name& arch_name : req.enosys_architectures) {
    uint32_t token = ResolveArchName(arch_name.value);
    if (token == 0) {
      ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "seccompCompile: unknown seccomp architecture \"" + arch_name.value + "\"");
      return false;
    }
    uint32_t n = HighestSyscall(token, req.enosys_syscalls);
    if (n == 0) continue;
    highest.Set(arch_name.value, Napi::Number::New(env, n));
    // SCMP_ARCH_X32 is libseccomp's own token; the kernel reports x32 calls as x86_64.
    bool x32 = token == SCMP_ARCH_X32;
    uint32_t audit = x32 ? AUDIT_ARCH_X86_64 : token;
    StubArch* slot = nullptr;
    for (StubArch& a : arches) {
      if (a.audit == audit) slot = &a;
    }
    if (slot == nullptr) {
      arches.push_back(StubArch{audit});
      slot = &arches.back();
    }
    (x32 ? slot->highest_x32 : slot->highest) = n;
  }
  if (arches.empty()) return true;

  StubBuilder b;
  b.Load(offsetof(struct seccomp_data, arch));
  std::vector<int> sections;
  for (const StubArch& a : arches) {
    sections.push_back(b.NewLabel());
    b.If(BPF_JEQ, a.audit, sections.back());
  }
  b.Goto(StubBuilder::kFilter);  // an architecture the stub does not cover
  for (size_t i = 0; i < arches.size(); i++) {
    const StubArch& a = arches[i];
    b.Place(sections[i]);
    b.Load(offsetof(struct seccomp_data, nr));
    if (a.audit == AUDIT_ARCH_X86_64) {
      // A mode the profile does not name goes to the filter untouched, as in runc.
      int x32 = a.highest_x32 != 0 ? b.NewLabel() : StubBuilder::kFilter;
      b.If(BPF_JSET, kX32SyscallBit, x32);
      if (a.highest != 0) b.If(BPF_JGT, a.highest, StubBuilder::kEnosys);
      b.Goto(StubBuilder::kFilter);
      if (a.highest_x32 != 0) {
        b.Place(x32);
        b.If(BPF_JGT, a.highest_x32, StubBuilder::kEnosys);
        b.Goto(StubBuilder::kFilter);
      }
      continue;
    }
    if (a.audit == AUDIT_ARCH_S390 || a.audit == AUDIT_ARCH_S390X) b.If(BPF_JEQ, 0, StubBuilder::kEnosys);
    b.If(BPF_JGT, a.highest, StubBuilder::kEnosys);
    b.Goto(StubBuilder::kFilter);
  }
  b.Place(StubBuilder::kEnosys);
  b.Return(SECCOMP_RET_ERRNO | ENOSYS);
  *stub = b.Finish();
  return true;
}

// An errno Error for a libseccomp failure (it returns -errno), naming the config entry.
Napi::Value ThrowRuleError(Napi::Env env, int rc, const char* call, const Rule& rule) {
  Napi::Error error = ErrnoError(env, -rc, call);
  std::string message = error.Message() + " (" + rule.origin + " \"" + rule.syscall + "\")";
  error.Set("message", Napi::String::New(env, message));
  error.Set("origin", Napi::String::New(env, rule.origin));
  error.Set("syscallName", Napi::String::New(env, rule.syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

// Writes the filter's BPF into a memfd and reads it back into a Buffer (libseccomp 2.5 can only
// export to an fd; seccomp_export_bpf_mem is 2.6). A memfd rather than a pipe: the export is one
// write on this thread, and a filter larger than the pipe buffer would block it forever.
// Returns an empty value with a JS exception pending on failure.
Napi::Value ExportBpf(Napi::Env env, scmp_filter_ctx ctx) {
  auto fail = [env](int err, const char* syscall) {
    ThrowErrno(env, err, syscall);
    return Napi::Value();
  };
  UniqueFd memfd(memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
  if (memfd.get() < 0) return fail(errno, "memfd_create");
  int rc = seccomp_export_bpf(ctx, memfd.get());
  if (rc < 0) return fail(-rc, "seccomp_export_bpf");
  struct stat st;
  if (fstat(memfd.get(), &st) < 0) return fail(errno, "fstat");
  size_t size = static_cast<size_t>(st.st_size);
  Napi::Buffer<uint8_t> bpf = Napi::Buffer<uint8_t>::New(env, size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(memfd.get(), bpf.Data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno, "pread");
    // A memfd only we hold cannot shrink; a short file would be a libseccomp bug.
    if (n == 0) return fail(EIO, "pread");
    done += static_cast<size_t>(n);
  }
  return bpf;
}

}  // namespace

Napi::Value SeccompCompile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Request req;
  if (!Reader(env).ReadRequest(info.Length() > 0 ? info[0] : env.Undefined(), &req)) return env.Undefined();

  // seccomp_init validates the action against what this kernel supports (it asks with
  // SECCOMP_GET_ACTION_AVAIL), so an unsupported default fails here, not in berth-init.
  FilterCtx filter(req.default_action);
  if (filter.get() == nullptr) return ThrowErrno(env, EINVAL, "seccomp_init");
  scmp_filter_ctx ctx = filter.get();

  // Return the kernel's and libseccomp's own errno codes rather than 2.5's -ECANCELED catch-all.
  // Best effort: older libseccomp lacks the attribute, and only messages depend on it.
  (void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return ThrowErrno(env, -rc, "seccomp_attr_set");
  if (req.rules.size() > kOptimizeAbove) {
    // Best effort as well: without it the filter is a linear list, equally correct.
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  }

  for (const Name& arch_name : req.architectures) {
    const std::string& name = arch_name.value;
    uint32_t arch = ResolveArchName(name);
    if (arch == 0) {
      return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "seccompCompile: unknown seccomp architecture \"" + name + "\"");
    }
    rc = seccomp_arch_add(ctx, arch);
    // -EEXIST: already in the filter (seccomp_init always adds the native architecture).
    if (rc < 0 && rc != -EEXIST) {
      Napi::Error error = ErrnoError(env, -rc, "seccomp_arch_add", name.c_str());
      error.ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  Napi::Array skipped = Napi::Array::New(env);
  std::vector<Name> skipped_names;
  auto skip = [&](const std::string& name) {
    for (const Name& seen : skipped_names) {
      if (seen.value == name) return;
    }
    skipped_names.push_back(Name{name});
    skipped.Set(static_cast<uint32_t>(skipped_names.size() - 1), Napi::String::New(env, name));
  };

  for (const Rule& rule : req.rules) {
    // Redundant with the default; libseccomp would refuse it with -EACCES. The planner already
    // drops these; a caller that did not gets the same silent skip runc and crun apply.
    if (rule.action == req.default_action) continue;

    // Resolved for the native architecture; libseccomp translates the number to each other
    // architecture in the filter by name. Unknown names (a syscall newer than this libseccomp)
    // are skipped, as runc and crun do, and reported so the caller can warn.
    int nr = HasNul(rule.syscall) ? __NR_SCMP_ERROR : seccomp_syscall_resolve_name(rule.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) {
      skip(rule.syscall);
      continue;
    }

    if (rule.args.size() > 6) return ThrowRuleError(env, -EINVAL, "seccomp_rule_add_array", rule);
    struct scmp_arg_cmp cmps[6];
    for (size_t k = 0; k < rule.args.size(); k++) {
      cmps[k].arg = rule.args[k].index;
      cmps[k].op = static_cast<enum scmp_compare>(rule.args[k].op);
      cmps[k].datum_a = rule.args[k].value;
      cmps[k].datum_b = rule.args[k].value_two;
    }
    rc = seccomp_rule_add_array(ctx, rule.action, nr, static_cast<unsigned int>(rule.args.size()), cmps);
    if (rc < 0) return ThrowRuleError(env, rc, "seccomp_rule_add_array", rule);
  }

  Napi::Value bpf = ExportBpf(env, ctx);
  if (bpf.IsEmpty()) return env.Undefined();

  Napi::Object out = Napi::Object::New(env);
  if (req.enosys) {
    Napi::Object highest = Napi::Object::New(env);
    std::vector<sock_filter> stub;
    if (!EnosysStub(env, req, &stub, highest)) return env.Undefined();
    out.Set("enosysAbove", highest);
    if (!stub.empty()) {
      // Its jumps are relative, so the stub goes in front of libseccomp's program unchanged.
      Napi::Buffer<uint8_t> program = bpf.As<Napi::Buffer<uint8_t>>();
      size_t stub_bytes = stub.size() * sizeof(sock_filter);
      Napi::Buffer<uint8_t> both = Napi::Buffer<uint8_t>::New(env, stub_bytes + program.Length());
      memcpy(both.Data(), stub.data(), stub_bytes);
      memcpy(both.Data() + stub_bytes, program.Data(), program.Length());
      bpf = both;
    }
  }
  out.Set("bpf", bpf);
  out.Set("skipped", skipped);
  return out;
}

}  // namespace berth
