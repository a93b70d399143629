// unique-fd.h: an owned file descriptor, closed when it goes out of scope, for the addon and
// berth-init alike. In the addon an early `return ThrowErrno(...)` cannot leak an fd into the
// Node process (and from there into every child it spawns); in berth-init no early return of
// a handler leaks one into the container.
#ifndef BERTH_NATIVE_COMMON_UNIQUE_FD_H
#define BERTH_NATIVE_COMMON_UNIQUE_FD_H

#include <unistd.h>

namespace berth {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) {
    if (this != &other) reset(other.release());
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

}  // namespace berth

#endif  // BERTH_NATIVE_COMMON_UNIQUE_FD_H
