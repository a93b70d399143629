// seccomp-compile.cc: a planned seccomp filter -> classic BPF, with libseccomp, in the parent.
//
// Why here: libseccomp allocates freely and berth-init must stay small and static, so the
// filter is compiled in Node (where malloc is safe) and berth-init only hands the finished
// program to seccomp(2) (ARCHITECTURE.md §2.5, as crun does). Nothing is loaded into this
// process: seccomp_export_bpf only writes the program out.
//
// The request is decided in TypeScript (src/plan/seccomp.ts): numeric actions with their errno
// already folded in, operators as enum scmp_compare values, rules already split where libseccomp
// cannot AND two comparisons of one argument. This file resolves names (architectures and
// syscalls, which only libseccomp knows per architecture) and reports what it had to skip.
//
// What the export does not carry: the seccomp(2) flags (TSYNC, LOG, SPEC_ALLOW, NEW_LISTENER)
// and no_new_privs. Those are the seccompLoad op's business, so the filter attributes that
// would only matter to seccomp_load are left alone, except NNP, which we clear to say so.
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
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

  bool ReadRequest(const Napi::Value& v, Request* out) {
    Napi::Object obj;
    Napi::Array arches, rules;
    if (!Object(v, "request", &obj) || !Uint32(obj, "defaultAction", "defaultAction", &out->default_action) ||
        !Array(obj, "architectures", "architectures", &arches) || !Array(obj, "rules", "rules", &rules)) {
      return false;
    }
    for (uint32_t i = 0; i < arches.Length(); i++) {
      Napi::Value a = arches.Get(i);
      if (!a.IsString()) return Fail("architectures[" + Decimal(i) + "]", "a string");
      out->architectures.push_back(Name{a.As<Napi::String>().Utf8Value()});
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
  out.Set("bpf", bpf);
  out.Set("skipped", skipped);
  return out;
}

}  // namespace berth
