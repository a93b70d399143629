// plan-abi.h: the wire format of a LaunchPlan, shared by the addon and berth-init.
// src/plan/abi.ts declares the same tags, names and signatures; test/native/abi.test.ts
// checks both sides agree (`berth-init --ops` prints this table as JSON, `--decode` an
// encoded plan), so a change here without the same change there fails the tests.
//
// Layout, little-endian:
//   header  u32 magic "BRTH" | u16 version | u16 flags (0) | u32 opCount | u32 totalLength
//   op      u16 tag | u16 argCount | u32 argBytes | args...
//   arg     u8 kind, then: int = i64 | str = u32 len + bytes (no NUL inside)
//           | strs = u32 n, then n strs | bytes = u32 len + bytes | ints = u32 n, then n i64
// A decoder refuses: wrong magic or version, a tag it does not know, an argument of the wrong
// kind or count for the tag's signature, a length past the end, a NUL inside a string. A stale
// berth-init must fail loudly, never misread an op.
//
// Signatures: i int, s str, S strs, b bytes, I ints.
#ifndef BERTH_NATIVE_ABI_PLAN_ABI_H
#define BERTH_NATIVE_ABI_PLAN_ABI_H

#include <cstdint>

namespace berth {
namespace abi {

constexpr uint32_t kPlanMagic = 0x48545242;  // "BRTH"
constexpr uint16_t kPlanVersion = 2;

enum ArgKind : uint8_t { kInt = 1, kStr = 2, kStrs = 3, kBytes = 4, kInts = 5 };

// X(tag, name, signature). Append only: a tag is never reused for another meaning.
#define BERTH_PLAN_OPS(X)            \
  X(1, waitParent, "")               \
  X(2, setns, "ii")                  \
  X(3, sethostname, "s")             \
  X(4, setdomainname, "s")           \
  X(5, mount, "sssis")               \
  X(6, mountSetattr, "siii")         \
  X(7, mkdirInRoot, "sii")           \
  X(8, mknod, "siiiii")              \
  X(9, symlink, "ss")                \
  X(10, pivotRoot, "s")              \
  X(11, chrootNoPivot, "s")          \
  X(12, maskPath, "s")               \
  X(13, readonlyPath, "s")           \
  X(14, remountRoot, "i")            \
  X(15, sysctl, "ss")                \
  X(16, setrlimit, "iii")            \
  X(17, oomScoreAdj, "i")            \
  X(18, setgroups, "I")              \
  X(19, setresgid, "i")              \
  X(20, setresuid, "i")              \
  X(21, umask, "i")                  \
  X(22, keepCaps, "")                \
  X(23, capBounding, "i")            \
  X(24, capset, "iii")               \
  X(25, capAmbient, "i")             \
  X(26, noNewPrivs, "")              \
  X(27, seccompLoad, "bi")           \
  X(28, personality, "i")            \
  X(29, chdir, "s")                  \
  X(30, checkExec, "ss")             \
  X(31, ready, "")                   \
  X(32, waitStart, "i")              \
  X(33, exec, "sSS")                 \
  X(34, mountPropagation, "si")      \
  X(35, closeFd, "i")                \
  X(36, unshareTime, "iiii")         \
  X(37, joinSessionKeyring, "s")     \
  X(38, setExecLabel, "ss")          \
  X(39, chroot, "s")                 \
  X(40, moveMount, "is")            \
  X(41, joinCgroup, "s")             \
  X(42, unshareCgroup, "")           \
  X(43, forkIntoPidns, "")           \
  X(44, mountNoFollow, "sssis")      \
  X(50, hideHostProcfs, "s")         \
  X(51, chdirEarly, "s")             \
  X(52, guardProcTarget, "")         \
  X(45, seccompListener, "")         \
  X(60, openPty, "iii")              \
  X(61, mountConsole, "")            \
  X(62, setCtty, "")                 \
  X(65, hooksSync, "")               \
  X(66, runHook, "sSSissi")          \
  X(67, startResult, "i")            \
  X(68, startResultDone, "")         \
  X(70, netDevicesSync, "")

// The sync socket carries fixed-size records, both ways:
//   child -> parent: kSyncReady (all ops up to `ready` done), kSyncError (op failed)
//   child -> parent: kSyncSeccompListener (op seccompListener: the record carries the seccomp
//                    listener fd with SCM_RIGHTS; the child waits for kSyncAck)
//   child -> parent: kSyncTerminal (op openPty: the pty master with SCM_RIGHTS, the name of the
//                    terminal in detail; the child waits for kSyncAck)
//   parent -> child: kSyncAck (to the launch's child in a new user namespace, before it execs
//                    berth-init: uid/gid maps are written; answer to waitParent: the systemd
//                    unit is up, or the parent has joined the cgroups; answer to
//                    kSyncSeccompListener: the fd reached linux.seccomp.listenerPath; answer to
//                    kSyncTerminal: the master reached --console-socket or berth's relay)
//   child -> parent: kSyncHooks (op hooksSync: run the prestart and createRuntime hooks now;
//                    the child waits for kSyncAck, whose opIndex carries the child's host pid,
//                    for the state the in-container hooks read)
//   child -> parent: kSyncNetDevices (op netDevicesSync: move linux.netDevices into the
//                    network namespace the child is in now; the child waits for kSyncAck. A
//                    failure makes the parent kill the child instead: create rolls back)
struct SyncRecord {
  uint32_t type;
  int32_t opIndex;  // index of the failing op in the plan, -1 when none
  int32_t err;      // errno, 0 when none
  char detail[244]; // NUL-terminated, what was being done ("mount /proc/self/fd/7")
};
static_assert(sizeof(SyncRecord) == 256, "SyncRecord is 256 bytes on the wire");

constexpr uint32_t kSyncReady = 1;
constexpr uint32_t kSyncError = 2;
constexpr uint32_t kSyncAck = 3;
constexpr uint32_t kSyncSeccompListener = 4;
// -> parent, with SCM_RIGHTS: the pidfd of the process that goes on in our place. From
// launch's middle process: the container init's (a joined user namespace with a new pid
// namespace needs one more clone; see native/addon/launch.cc). From op forkIntoPidns: exec's
// process, born in the container's pid namespace; no ack, the sender exits.
constexpr uint32_t kSyncPidfd = 5;
constexpr uint32_t kSyncHooks = 6;
// child -> parent, with SCM_RIGHTS (op openPty): the pty master, detail = the terminal's name
// ("/dev/pts/0"); the child waits for kSyncAck (the master reached --console-socket, or berth
// holds it to relay a foreground terminal). 60: the terminal ops' range of tags.
constexpr uint32_t kSyncTerminal = 60;
// child -> parent (op netDevicesSync): the network namespace is final, move the devices in;
// the child waits for kSyncAck. 70: the network ops' range of tags.
constexpr uint32_t kSyncNetDevices = 70;

}  // namespace abi
}  // namespace berth

#endif  // BERTH_NATIVE_ABI_PLAN_ABI_H
