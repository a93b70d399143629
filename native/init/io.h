// io.h: the few I/O helpers berth-init needs, over raw file descriptors.
//
// berth-init is static, has no exceptions and, once it runs a plan, lives inside a container
// whose /dev and /proc may be anything. So: no stdio (its buffers would be lost on execve and
// it allocates), no iostream (size), just read(2)/write(2) with the retry loops done right.
#ifndef BERTH_NATIVE_INIT_IO_H
#define BERTH_NATIVE_INIT_IO_H

#include <stddef.h>

namespace berth {

// Writes all `len` bytes, retrying short writes and EINTR (a pipe to the parent may accept
// less than we offer). Returns 0, or -errno on the first real failure.
int write_all(int fd, const void* buf, size_t len);

// write_all for a NUL-terminated string.
int write_str(int fd, const char* s);

// Reads and discards `fd` until EOF, at most `limit` bytes. Lets a writer that sends us a
// whole buffer finish without EPIPE even when we do not use the bytes. Returns the number of
// bytes read, or -errno.
long drain(int fd, size_t limit);

// Reads `fd` to EOF into a malloc'ed buffer (*out, *len). Fails with -EFBIG when more than
// `limit` bytes arrive, -ENOMEM, or -errno from read. Returns 0 on success.
int read_all(int fd, size_t limit, unsigned char** out, size_t* len);

}  // namespace berth

#endif  // BERTH_NATIVE_INIT_IO_H
