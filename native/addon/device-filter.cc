// device-filter.cc: linux.resources.devices on cgroup v2, as an eBPF program.
//
//   deviceFilterAttach(cgroupFd, rules) -> void
//   rules: [{allow, type: "a"|"b"|"c", major: -1|n, minor: -1|n, access: "rwm" subset}]
//
// cgroup v2 has no devices controller: the kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE program
// attached to the cgroup (and to each ancestor: with BPF_F_ALLOW_MULTI every attached program
// must allow) whenever a process in it opens or mknods a device node. The program gets
//   struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// with access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*, and returns 1 (allow) or 0.
//
// The rule list is final when it gets here (TypeScript: deny-all, the config's rules, then
// runc's default devices; linux.devices adds no rule) and means what it means on v1: later
// rules override earlier ones. So the program tests the rules from the LAST to the first and
// the first rule that matches decides; no match is a deny (a container's device access is a
// whitelist).
//   allow rule: matches when every requested access bit is in the rule's access.
//   deny rule:  matches when any requested access bit is in the rule's access (v1 removes
//               those bits, so a request needing one of them cannot succeed).
//
// The program is loaded and attached in the Node process before the container's process is
// cloned into the cgroup; the attachment holds the program, so our fd is closed at once.
// Program and attachment go away with the cgroup.
#include <errno.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "../common/unique-fd.h"

namespace berth {

namespace {

struct DevRule {
  bool allow;
  int type;  // 0: any, else BPF_DEVCG_DEV_BLOCK / BPF_DEVCG_DEV_CHAR
  int64_t major;  // -1: any
  int64_t minor;  // -1: any
  uint32_t access;  // BPF_DEVCG_ACC_* bits
};

// eBPF instruction builders (the kernel's BPF_* macros live in a header it does not export).
bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof(i));
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn LoadCtx32(uint8_t dst, int16_t off) { return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0); }
bpf_insn Mov(uint8_t dst, uint8_t src) { return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn MovImm(uint8_t dst, int32_t imm) { return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn AndImm(uint8_t dst, int32_t imm) { return Insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm); }
bpf_insn RshImm(uint8_t dst, int32_t imm) { return Insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm); }
bpf_insn JneImm(uint8_t dst, int32_t imm, int16_t off) { return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
bpf_insn JeqImm(uint8_t dst, int32_t imm, int16_t off) { return Insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Registers: r1 ctx; r2 type; r3 access; r4 major; r5 minor; r6 scratch; r0 verdict.
std::vector<bpf_insn> BuildProgram(const std::vector<DevRule>& rules) {
  std::vector<bpf_insn> p;
  p.push_back(LoadCtx32(BPF_REG_2, 0));
  p.push_back(Mov(BPF_REG_3, BPF_REG_2));
  p.push_back(AndImm(BPF_REG_2, 0xffff));
  p.push_back(RshImm(BPF_REG_3, 16));
  p.push_back(LoadCtx32(BPF_REG_4, 4));
  p.push_back(LoadCtx32(BPF_REG_5, 8));
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DevRule& r = *it;
    // One block per rule; every test jumps past the block's end when it fails. The jump
    // offsets are filled in once the block's length is known.
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;
    if (r.type != 0) {
      jumps.push_back(block.size());
      block.push_back(JneImm(BPF_REG_2, r.type, 0));
    }
    if (r.major >= 0) {
      jumps.push_back(block.size());
      block.push_back(JneImm(BPF_REG_4, static_cast<int32_t>(r.major), 0));
    }
    if (r.minor >= 0) {
      jumps.push_back(block.size());
      block.push_back(JneImm(BPF_REG_5, static_cast<int32_t>(r.minor), 0));
    }
    const uint32_t all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    if (r.allow && (r.access & all) != all) {
      block.push_back(Mov(BPF_REG_6, BPF_REG_3));
      block.push_back(AndImm(BPF_REG_6, static_cast<int32_t>(~r.access & all)));
      jumps.push_back(block.size());
      block.push_back(JneImm(BPF_REG_6, 0, 0));
    } else if (!r.allow && (r.access & all) != all) {
      block.push_back(Mov(BPF_REG_6, BPF_REG_3));
      block.push_back(AndImm(BPF_REG_6, static_cast<int32_t>(r.access & all)));
      jumps.push_back(block.size());
      block.push_back(JeqImm(BPF_REG_6, 0, 0));
    }
    block.push_back(MovImm(BPF_REG_0, r.allow ? 1 : 0));
    block.push_back(Exit());
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
    // A rule that matches everything decides for every request: the verifier refuses the
    // unreachable code that would follow it.
    if (jumps.empty()) return p;
  }
  p.push_back(MovImm(BPF_REG_0, 0));
  p.push_back(Exit());
  return p;
}

bool ReadRules(const Napi::CallbackInfo& info, std::vector<DevRule>* out) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsArray()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "deviceFilterAttach: rules must be an array");
    return false;
  }
  Napi::Array arr = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    std::string where = "deviceFilterAttach: rules[" + std::to_string(i) + "]";
    if (!v.IsObject()) {
      ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", where + " must be an object");
      return false;
    }
    Napi::Object o = v.As<Napi::Object>();
    DevRule r{};
    r.allow = o.Get("allow").ToBoolean().Value();
    std::string type = o.Get("type").IsString() ? o.Get("type").As<Napi::String>().Utf8Value() : "";
    if (type == "a") r.type = 0;
    else if (type == "b") r.type = BPF_DEVCG_DEV_BLOCK;
    else if (type == "c") r.type = BPF_DEVCG_DEV_CHAR;
    else {
      ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", where + ".type must be \"a\", \"b\" or \"c\"");
      return false;
    }
    for (const char* key : {"major", "minor"}) {
      Napi::Value n = o.Get(key);
      double d = n.IsNumber() ? n.As<Napi::Number>().DoubleValue() : -2;
      if (!(d >= -1 && d <= 0x7fffffff) || d != static_cast<double>(static_cast<int64_t>(d))) {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", where + "." + key + " must be -1 or a device number");
        return false;
      }
      (key[1] == 'a' ? r.major : r.minor) = static_cast<int64_t>(d);
    }
    std::string access = o.Get("access").IsString() ? o.Get("access").As<Napi::String>().Utf8Value() : "";
    for (char c : access) {
      if (c == 'r') r.access |= BPF_DEVCG_ACC_READ;
      else if (c == 'w') r.access |= BPF_DEVCG_ACC_WRITE;
      else if (c == 'm') r.access |= BPF_DEVCG_ACC_MKNOD;
      else {
        ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", where + ".access must be made of r, w and m");
        return false;
      }
    }
    if (r.access == 0) {
      ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", where + ".access must not be empty");
      return false;
    }
    out->push_back(r);
  }
  return true;
}

}  // namespace

Napi::Value DeviceFilterAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cgroup_fd = -1;
  if (!ArgFd(info, 0, "deviceFilterAttach: cgroupFd", &cgroup_fd)) return env.Undefined();
  std::vector<DevRule> rules;
  if (!ReadRules(info, &rules)) return env.Undefined();
  std::vector<bpf_insn> prog = BuildProgram(rules);

  std::vector<char> log(64 * 1024, 0);
  static const char kLicense[] = "Apache-2.0";
  union bpf_attr load;
  std::memset(&load, 0, sizeof(load));
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  load.log_level = 1;
  load.log_size = static_cast<uint32_t>(log.size());
  load.log_buf = reinterpret_cast<uint64_t>(log.data());
  std::strncpy(load.prog_name, "berth_devices", sizeof(load.prog_name) - 1);
  UniqueFd prog_fd(static_cast<int>(syscall(__NR_bpf, BPF_PROG_LOAD, &load, sizeof(load))));
  if (!prog_fd.valid()) {
    int err = errno;
    // The verifier's log says why; it is only ours to read when our program is wrong.
    Napi::Error e = ErrnoError(env, err, "bpf(BPF_PROG_LOAD)");
    e.Set("verifierLog", Napi::String::New(env, log.data()));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }

  union bpf_attr attach;
  std::memset(&attach, 0, sizeof(attach));
  attach.target_fd = static_cast<uint32_t>(cgroup_fd);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall(__NR_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) != 0) {
    return ThrowErrno(env, errno, "bpf(BPF_PROG_ATTACH)");
  }
  return Napi::Number::New(env, static_cast<double>(prog.size()));
}

}  // namespace berth
