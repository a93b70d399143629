// text.h: a fixed-capacity string builder for berth-init.
//
// berth-init has no stdio (see io.h) and must not fail for want of memory while it reports a
// failure, so messages are built in place on the stack. Text that does not fit is cut, never
// overflowed: a truncated detail is still better than none.
#ifndef BERTH_NATIVE_INIT_TEXT_H
#define BERTH_NATIVE_INIT_TEXT_H

#include <stddef.h>
#include <stdint.h>

namespace berth {

template <size_t N>
class Text {
 public:
  Text() { buf_[0] = '\0'; }

  Text& clear() {
    len_ = 0;
    buf_[0] = '\0';
    return *this;
  }
  Text& add(const char* s) { return s == nullptr ? *this : add(s, length(s)); }
  Text& add(const char* s, size_t n) {
    for (size_t i = 0; i < n && len_ + 1 < N; i++) buf_[len_++] = s[i];
    buf_[len_] = '\0';
    return *this;
  }
  Text& add(char c) { return add(&c, 1); }
  Text& add(int v) { return add(static_cast<long long>(v)); }
  Text& add(unsigned v) { return add(static_cast<unsigned long long>(v)); }
  Text& add(long v) { return add(static_cast<long long>(v)); }
  Text& add(long long v) {
    if (v >= 0) return add(static_cast<unsigned long long>(v));
    add('-');
    // -(v + 1) + 1 avoids overflowing on the most negative value.
    return add(static_cast<unsigned long long>(-(v + 1)) + 1);
  }
  Text& add(unsigned long v) { return add(static_cast<unsigned long long>(v)); }
  Text& add(unsigned long long v) {
    char digits[24];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) add(digits[--n]);
    return *this;
  }
  // Lower-case hex with a 0x prefix, for magic numbers and flag words.
  Text& hex(uint64_t v) {
    add("0x");
    char digits[16];
    size_t n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v != 0);
    while (n > 0) add(digits[--n]);
    return *this;
  }

  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }
  bool full() const { return len_ + 1 >= N; }

  static size_t length(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') n++;
    return n;
  }

 private:
  char buf_[N];
  size_t len_ = 0;
};

}  // namespace berth

#endif  // BERTH_NATIVE_INIT_TEXT_H
