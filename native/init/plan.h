// plan.h: the decoded form of a LaunchPlan (wire format: native/abi/plan-abi.h).
//
// Decoding is strict and happens entirely before the first op runs: a plan berth-init does
// not fully understand is refused as a whole, so a stale berth-init can never run half of a
// newer plan. The decoded ops keep everything an op handler needs in C form: strings are
// NUL-terminated copies, string lists are NULL-terminated arrays (ready for execve), int
// lists are aligned int64_t arrays.
#ifndef BERTH_NATIVE_INIT_PLAN_H
#define BERTH_NATIVE_INIT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "../abi/plan-abi.h"

namespace berth {

// The op table from plan-abi.h, as data.
struct OpInfo {
  uint16_t tag;
  const char* name;
  const char* sig;
};

// Every op, in table order.
extern const OpInfo kOpInfos[];
extern const size_t kOpInfoCount;

// The entry for `tag`, or nullptr when this berth-init does not know it.
const OpInfo* find_op(uint16_t tag);

// The longest signature in the table: ops never carry more arguments.
constexpr size_t kMaxArgs = [] {
  size_t most = 0;
#define BERTH_X_SIG_LEN(tag, name, sig) most = sizeof(sig) - 1 > most ? sizeof(sig) - 1 : most;
  BERTH_PLAN_OPS(BERTH_X_SIG_LEN)
#undef BERTH_X_SIG_LEN
  return most;
}();

struct Arg {
  uint8_t kind;           // abi::ArgKind
  int64_t i;              // kInt
  const char* s;          // kStr: NUL-terminated
  uint32_t len;           // kStr, kBytes: length in bytes; kStrs, kInts: element count
  char** strs;            // kStrs: `len` strings, then nullptr
  const int64_t* ints;    // kInts
  const uint8_t* bytes;   // kBytes (unaligned: copy before casting to a struct)
};

struct Op {
  const OpInfo* info;
  uint32_t argc;
  Arg args[kMaxArgs];
};

struct Plan {
  uint32_t count;
  Op* ops;
};

// Decodes `len` bytes at `buf` into `out`. Returns true, or false with a one-line reason in
// `why` (NUL-terminated, cut to `why_size`). `out` points into heap copies that live as long
// as the process; `buf` may be freed afterwards except for kBytes arguments, which point
// into it.
bool decode_plan(const uint8_t* buf, size_t len, Plan* out, char* why, size_t why_size);

}  // namespace berth

#endif  // BERTH_NATIVE_INIT_PLAN_H
