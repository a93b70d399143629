// `berth-init --ops` and `berth-init --decode`: the plan format as this binary understands it,
// printed as JSON so test/native/abi.test.ts can hold it against src/plan/abi.ts and
// src/plan/encode.ts. Both go through the same decoder the run mode uses.
#include <errno.h>
#include <stdlib.h>

#include "../abi/plan-abi.h"
#include "commands.h"
#include "io.h"
#include "plan.h"
#include "text.h"

namespace berth {

namespace {

// Buffered output to an fd; JSON can be long (a seccomp filter is kilobytes of hex).
class Out {
 public:
  explicit Out(int fd) : fd_(fd) {}
  Out& raw(const char* s) {
    while (*s != '\0') put(*s++);
    return *this;
  }
  Out& num(int64_t v) {
    Text<24> t;
    t.add(static_cast<long long>(v));
    return raw(t.c_str());
  }
  // A JSON string. Plan strings are UTF-8 from the encoder; bytes >= 0x80 pass through, and
  // only what JSON forbids raw (quote, backslash, control characters) is escaped.
  Out& str(const char* s) {
    put('"');
    for (; *s != '\0'; s++) {
      unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        put('\\');
        put(static_cast<char>(c));
      } else if (c < 0x20) {
        raw("\\u00");
        put("0123456789abcdef"[c >> 4]);
        put("0123456789abcdef"[c & 15]);
      } else {
        put(static_cast<char>(c));
      }
    }
    put('"');
    return *this;
  }
  int flush() {
    int r = write_all(fd_, buf_, len_);
    len_ = 0;
    return r;
  }
  void put(char c) {
    if (len_ == sizeof buf_) flush();
    buf_[len_++] = c;
  }

 private:
  int fd_;
  char buf_[4096];
  size_t len_ = 0;
};

void print_arg(Out& out, const Arg& arg) {
  switch (arg.kind) {
    case abi::kInt:
      out.num(arg.i);
      return;
    case abi::kStr:
      out.str(arg.s);
      return;
    case abi::kStrs:
      out.put('[');
      for (uint32_t k = 0; k < arg.len; k++) {
        if (k > 0) out.put(',');
        out.str(arg.strs[k]);
      }
      out.put(']');
      return;
    case abi::kInts:
      out.put('[');
      for (uint32_t k = 0; k < arg.len; k++) {
        if (k > 0) out.put(',');
        out.num(arg.ints[k]);
      }
      out.put(']');
      return;
    case abi::kBytes:
      out.raw("{\"bytes\":\"");
      for (uint32_t k = 0; k < arg.len; k++) {
        out.put("0123456789abcdef"[arg.bytes[k] >> 4]);
        out.put("0123456789abcdef"[arg.bytes[k] & 15]);
      }
      out.raw("\"}");
      return;
  }
}

int refuse(int out_fd, const char* why) {
  Out out(out_fd);
  out.raw("{\"error\":").str(why).raw("}\n");
  out.flush();
  return kExitBadPlan;
}

}  // namespace

int cmd_ops(int out_fd) {
  Out out(out_fd);
  out.raw("{\"version\":").num(abi::kPlanVersion).raw(",\"ops\":{");
  for (size_t i = 0; i < kOpInfoCount; i++) {
    if (i > 0) out.put(',');
    out.str(kOpInfos[i].name).raw(":{\"tag\":").num(kOpInfos[i].tag).raw(",\"sig\":").str(kOpInfos[i].sig).put('}');
  }
  out.raw("}}\n");
  return out.flush() == 0 ? kExitOk : 1;
}

int cmd_decode(int in_fd, int out_fd) {
  unsigned char* buf = nullptr;
  size_t len = 0;
  int r = read_all(in_fd, kMaxPlanBytes, &buf, &len);
  if (r < 0) {
    // Consume the rest anyway: a writer piping a huge buffer should see our answer, not EPIPE.
    drain(in_fd, ~static_cast<size_t>(0));
    return refuse(out_fd, r == -EFBIG ? "plan larger than 64 MiB" : "cannot read the plan from stdin");
  }
  Plan plan{};
  char why[256];
  if (!decode_plan(buf, len, &plan, why, sizeof why)) return refuse(out_fd, why);

  Out out(out_fd);
  out.raw("{\"version\":").num(abi::kPlanVersion).raw(",\"ops\":[");
  for (uint32_t i = 0; i < plan.count; i++) {
    const Op& op = plan.ops[i];
    if (i > 0) out.put(',');
    out.raw("{\"op\":").str(op.info->name).raw(",\"args\":[");
    for (uint32_t a = 0; a < op.argc; a++) {
      if (a > 0) out.put(',');
      print_arg(out, op.args[a]);
    }
    out.raw("]}");
  }
  out.raw("]}\n");
  return out.flush() == 0 ? kExitOk : 1;
}

}  // namespace berth
