#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

namespace berth {

const OpInfo kOpInfos[] = {
#define BERTH_X_INFO(tag, name, sig) {tag, #name, sig},
    BERTH_PLAN_OPS(BERTH_X_INFO)
#undef BERTH_X_INFO
};
const size_t kOpInfoCount = sizeof kOpInfos / sizeof kOpInfos[0];

const OpInfo* find_op(uint16_t tag) {
  for (size_t i = 0; i < kOpInfoCount; i++) {
    if (kOpInfos[i].tag == tag) return &kOpInfos[i];
  }
  return nullptr;
}

namespace {

constexpr size_t kHeaderSize = 16;

const char* kind_name(uint8_t kind) {
  switch (kind) {
    case abi::kInt: return "int";
    case abi::kStr: return "str";
    case abi::kStrs: return "strs";
    case abi::kBytes: return "bytes";
    case abi::kInts: return "ints";
    default: return "unknown";
  }
}

uint8_t kind_of_letter(char c) {
  switch (c) {
    case 'i': return abi::kInt;
    case 's': return abi::kStr;
    case 'S': return abi::kStrs;
    case 'b': return abi::kBytes;
    case 'I': return abi::kInts;
    default: return 0;
  }
}

// A bounds-checked little-endian reader. Every read checks the remaining length first, so a
// length field can never carry us past the end of the buffer.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* pos() const { return p_; }
  bool u8(uint8_t* v) {
    if (left() < 1) return false;
    *v = *p_++;
    return true;
  }
  bool u16(uint16_t* v) {
    if (left() < 2) return false;
    *v = static_cast<uint16_t>(p_[0] | p_[1] << 8);
    p_ += 2;
    return true;
  }
  bool u32(uint32_t* v) {
    if (left() < 4) return false;
    *v = static_cast<uint32_t>(p_[0]) | static_cast<uint32_t>(p_[1]) << 8 |
         static_cast<uint32_t>(p_[2]) << 16 | static_cast<uint32_t>(p_[3]) << 24;
    p_ += 4;
    return true;
  }
  bool i64(int64_t* v) {
    if (left() < 8) return false;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | p_[i];
    p_ += 8;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool skip(size_t n, const uint8_t** at) {
    if (left() < n) return false;
    *at = p_;
    p_ += n;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

class Decoder {
 public:
  Decoder(char* why, size_t why_size) : why_(why), why_size_(why_size) {}

  bool run(const uint8_t* buf, size_t len, Plan* out) {
    if (len < kHeaderSize) {
      msg_.add("plan is ").add(len).add(" bytes, shorter than its ").add(kHeaderSize).add("-byte header");
      return fail();
    }
    Reader r(buf, len);
    uint32_t magic = 0, count = 0, total = 0;
    uint16_t version = 0, flags = 0;
    r.u32(&magic), r.u16(&version), r.u16(&flags), r.u32(&count), r.u32(&total);
    if (magic != abi::kPlanMagic) {
      msg_.add("bad magic ").hex(magic).add(", expected ").hex(abi::kPlanMagic).add(" (\"BRTH\")");
      return fail();
    }
    if (version != abi::kPlanVersion) {
      msg_.add("plan version ").add(version).add(", this berth-init reads version ").add(abi::kPlanVersion);
      return fail();
    }
    if (flags != 0) {
      msg_.add("unknown header flags ").hex(flags);
      return fail();
    }
    if (total != len) {
      msg_.add("header says the plan is ").add(total).add(" bytes, got ").add(len);
      return fail();
    }
    // Each op takes at least its 8-byte header: a count beyond that is a lie, and checking it
    // first bounds the allocation below by the input size.
    if (count > (len - kHeaderSize) / 8) {
      msg_.add("header says ").add(count).add(" ops, too many for ").add(len).add(" bytes");
      return fail();
    }
    Op* ops = static_cast<Op*>(calloc(count == 0 ? 1 : count, sizeof(Op)));
    if (ops == nullptr) return oom();
    for (uint32_t i = 0; i < count; i++) {
      if (!op(r, i, &ops[i])) return false;
    }
    if (r.left() != 0) {
      msg_.add(r.left()).add(" bytes after the last op");
      return fail();
    }
    out->count = count;
    out->ops = ops;
    return true;
  }

 private:
  bool op(Reader& r, uint32_t index, Op* op) {
    uint16_t tag = 0, argc = 0;
    uint32_t arg_bytes = 0;
    if (!r.u16(&tag) || !r.u16(&argc) || !r.u32(&arg_bytes)) {
      msg_.add("op ").add(index).add(": truncated op header");
      return fail();
    }
    const OpInfo* info = find_op(tag);
    if (info == nullptr) {
      msg_.add("op ").add(index).add(": unknown tag ").add(tag);
      return fail();
    }
    op->info = info;
    size_t want = Text<1>::length(info->sig);
    if (argc != want) {
      where(index, info).add(": ").add(argc).add(" arguments, signature \"").add(info->sig).add("\" has ").add(want);
      return fail();
    }
    const uint8_t* body = nullptr;
    if (!r.skip(arg_bytes, &body)) {
      where(index, info).add(": ").add(arg_bytes).add(" argument bytes past the end of the plan");
      return fail();
    }
    // Arguments are read from their own window, so a bad length inside one op is caught
    // there and cannot eat into the next op.
    Reader args(body, arg_bytes);
    op->argc = argc;
    for (uint32_t a = 0; a < argc; a++) {
      if (!arg(args, index, info, a, &op->args[a])) return false;
    }
    if (args.left() != 0) {
      where(index, info).add(": ").add(args.left()).add(" bytes after the last argument");
      return fail();
    }
    return true;
  }

  bool arg(Reader& r, uint32_t index, const OpInfo* info, uint32_t a, Arg* out) {
    uint8_t kind = 0;
    if (!r.u8(&kind)) return truncated(index, info, a);
    uint8_t want = kind_of_letter(info->sig[a]);
    if (kind != want) {
      where(index, info).add(" argument ").add(a).add(": kind ").add(kind).add(" (").add(kind_name(kind));
      msg_.add("), signature wants ").add(want).add(" (").add(kind_name(want)).add(")");
      return fail();
    }
    out->kind = kind;
    switch (kind) {
      case abi::kInt:
        if (!r.i64(&out->i)) return truncated(index, info, a);
        return true;
      case abi::kStr:
        return str(r, index, info, a, &out->s, &out->len);
      case abi::kStrs: {
        uint32_t n = 0;
        if (!r.u32(&n)) return truncated(index, info, a);
        // Each string takes at least its 4-byte length.
        if (n > r.left() / 4) return truncated(index, info, a);
        char** list = static_cast<char**>(calloc(n + 1, sizeof(char*)));
        if (list == nullptr) return oom();
        for (uint32_t k = 0; k < n; k++) {
          const char* s = nullptr;
          uint32_t len = 0;
          if (!str(r, index, info, a, &s, &len)) return false;
          list[k] = const_cast<char*>(s);
        }
        out->strs = list;
        out->len = n;
        return true;
      }
      case abi::kBytes: {
        uint32_t n = 0;
        if (!r.u32(&n) || !r.skip(n, &out->bytes)) return truncated(index, info, a);
        out->len = n;
        return true;
      }
      case abi::kInts: {
        uint32_t n = 0;
        if (!r.u32(&n) || n > r.left() / 8) return truncated(index, info, a);
        int64_t* list = static_cast<int64_t*>(calloc(n == 0 ? 1 : n, sizeof(int64_t)));
        if (list == nullptr) return oom();
        for (uint32_t k = 0; k < n; k++) r.i64(&list[k]);
        out->ints = list;
        out->len = n;
        return true;
      }
    }
    return false;  // unreachable: kind == want, and want is one of the above
  }

  bool str(Reader& r, uint32_t index, const OpInfo* info, uint32_t a, const char** s, uint32_t* len) {
    uint32_t n = 0;
    const uint8_t* bytes = nullptr;
    if (!r.u32(&n) || !r.skip(n, &bytes)) return truncated(index, info, a);
    // A NUL would silently cut the string at the syscall: the path checked by TypeScript
    // would not be the path used.
    if (memchr(bytes, 0, n) != nullptr) {
      where(index, info).add(" argument ").add(a).add(": NUL inside a string");
      return fail();
    }
    char* copy = static_cast<char*>(malloc(n + 1));
    if (copy == nullptr) return oom();
    memcpy(copy, bytes, n);
    copy[n] = '\0';
    *s = copy;
    *len = n;
    return true;
  }

  Text<256>& where(uint32_t index, const OpInfo* info) {
    return msg_.add("op ").add(index).add(" (").add(info->name).add(")");
  }
  bool truncated(uint32_t index, const OpInfo* info, uint32_t a) {
    where(index, info).add(" argument ").add(a).add(": length past the end of the op");
    return fail();
  }
  bool oom() {
    msg_.clear().add("out of memory");
    return fail();
  }
  bool fail() {
    size_t n = msg_.size() < why_size_ - 1 ? msg_.size() : why_size_ - 1;
    memcpy(why_, msg_.c_str(), n);
    why_[n] = '\0';
    return false;
  }

  char* why_;
  size_t why_size_;
  Text<256> msg_;
};

}  // namespace

bool decode_plan(const uint8_t* buf, size_t len, Plan* out, char* why, size_t why_size) {
  return Decoder(why, why_size).run(buf, len, out);
}

}  // namespace berth
