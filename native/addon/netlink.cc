// netlink.cc: rtnetlink calls for linux.netDevices (config-linux.md "Network Devices").
// TypeScript decides which device goes where and which addresses go with it
// (src/plan/net-devices.ts); these flat calls execute one netlink request each:
//
//   netlinkOpen(nsFd?) -> fd              a NETLINK_ROUTE socket, in our network namespace or
//                                         in the one nsFd names
//   netLinks(sock) -> [{index, name, flags}]                  RTM_GETLINK dump
//   netAddresses(sock, index) -> [{family, prefixLength, flags, scope, local?, address?,
//                                  broadcast?, label?}]        RTM_GETADDR dump, one device
//   netLinkMove(sock, index, nsFd, name)  RTM_NEWLINK IFLA_NET_NS_FD + IFLA_IFNAME
//   netAddressAdd(sock, index, address)   RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL
//   netLinkUp(sock, index, up)            RTM_NEWLINK, IFF_UP in ifi_change
//
// A netlink socket belongs to the network namespace it was created in for its whole life: a
// socket made inside the container's namespace reads and changes that namespace's links and
// addresses whichever thread uses it. So netlinkOpen(nsFd) creates it in a short-lived thread
// that setns(CLONE_NEWNET)s first, and no Node thread ever changes namespace (one left in the
// container's would make every later socket of this process the container's).
//
// A failure throws an Error shaped like Node's (code, errno, syscall = the request's name,
// "RTM_NEWLINK"), with `detail` set to the kernel's extended ack message when it sent one
// ("Invalid format for name").
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "../common/unique-fd.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS (1 << 3)
#endif
#ifndef IFA_FLAGS
#define IFA_FLAGS 8
#endif

namespace berth {

namespace {

// A failed request: errno, the request's name, and the kernel's extended ack text.
struct NlFailure {
  int err = 0;
  const char* what = "";
  std::string detail;
};

Napi::Value ThrowNl(Napi::Env env, const NlFailure& f) {
  Napi::Error e = ErrnoError(env, f.err, f.what);
  if (!f.detail.empty()) e.Set("detail", Napi::String::New(env, f.detail));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// One netlink request: a header, a fixed body (ifinfomsg, ifaddrmsg), then attributes, each
// padded to 4 bytes as rtnetlink expects.
class Request {
 public:
  Request(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  }
  template <typename T>
  void body(const T& b) {
    append(&b, sizeof b);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a;
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    a.rta_type = type;
    append(&a, sizeof a);
    append(data, len);
  }
  void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  nlmsghdr* finish(uint32_t seq) {
    hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    hdr()->nlmsg_seq = seq;
    return hdr();
  }

 private:
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void append(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
    buf_.resize(NLMSG_ALIGN(buf_.size()), 0);
  }
  std::vector<char> buf_;
};

uint32_t NextSeq() {
  static uint32_t seq = 0;
  return ++seq;
}

// The kernel's extended ack message (NLMSGERR_ATTR_MSG) of an NLMSG_ERROR, if it sent one.
std::string ExtackMessage(const nlmsghdr* h) {
  if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return std::string();
  const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
  // Without NLM_F_CAPPED the kernel echoes our whole request before the TLVs.
  if ((h->nlmsg_flags & NLM_F_CAPPED) == 0) offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
  offset = NLMSG_ALIGN(offset);
  while (offset + sizeof(nlattr) <= h->nlmsg_len) {
    const nlattr* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(h) + offset);
    if (a->nla_len < sizeof(nlattr) || offset + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
      return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
    }
    offset += NLA_ALIGN(a->nla_len);
  }
  return std::string();
}

// Sends `req` and reads the answers up to its ack (or, for a dump, NLMSG_DONE), handing every
// data message to `each`. Answers to other sequence numbers (left from an earlier request that
// failed half-way) are skipped. *interrupted: the kernel flagged the dump NLM_F_DUMP_INTR (the
// tables changed while it was being made; the caller dumps again).
template <typename Each>
bool Transact(int sock, Request& req, const char* what, NlFailure* f, Each each, bool* interrupted = nullptr) {
  uint32_t seq = NextSeq();
  nlmsghdr* msg = req.finish(seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(sock, msg, msg->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    f->err = errno;
    f->what = what;
    return false;
  }
  bool dump = (msg->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (interrupted) *interrupted = false;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    sockaddr_nl from{};
    socklen_t fromlen = sizeof from;
    do {
      n = recvfrom(sock, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      f->err = errno;
      f->what = what;
      return false;
    }
    if (from.nl_pid != 0) continue;  // not from the kernel
    size_t left = static_cast<size_t>(n);
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (interrupted && (h->nlmsg_flags & NLM_F_DUMP_INTR) != 0) *interrupted = true;
      if (h->nlmsg_type == NLMSG_DONE) return true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) {
          f->err = EPROTO;
          f->what = what;
          return false;
        }
        if (e->error == 0) {
          if (!dump) return true;
          continue;
        }
        f->err = -e->error;
        f->what = what;
        f->detail = ExtackMessage(h);
        return false;
      }
      each(h);
    }
  }
}

// A dump, repeated (up to 5 times) while the kernel says it was interrupted by a change.
template <typename Make, typename Each, typename Reset>
bool Dump(int sock, Make make, const char* what, NlFailure* f, Each each, Reset reset) {
  for (int attempt = 0;; attempt++) {
    Request req = make();
    bool interrupted = false;
    if (!Transact(sock, req, what, f, each, &interrupted)) return false;
    if (!interrupted) return true;
    if (attempt == 4) {
      f->err = EAGAIN;
      f->what = what;
      f->detail = "the dump was interrupted by changes five times";
      return false;
    }
    reset();
  }
}

int OpenRouteSocket(NlFailure* f) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    f->err = errno;
    f->what = "socket";
    return -1;
  }
  // Best effort: the kernel's reason in text (4.12+), and acks without our request echoed.
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return fd;
}

struct OpenJob {
  int ns_fd;
  int fd;
  NlFailure failure;
};

void* OpenInNamespace(void* arg) {
  OpenJob* job = static_cast<OpenJob*>(arg);
  // This thread only: the namespace goes with it when it returns.
  if (setns(job->ns_fd, CLONE_NEWNET) != 0) {
    job->failure.err = errno;
    job->failure.what = "setns";
    return nullptr;
  }
  job->fd = OpenRouteSocket(&job->failure);
  return nullptr;
}

bool GetInt(Napi::Env env, Napi::Object o, const char* key, int64_t min, int64_t max, bool required, int64_t* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return true;
  if (!v.IsNumber()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string("netAddressAdd: address.") + key + " must be a number");
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", std::string("netAddressAdd: address.") + key + " must be an integer in range");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// An optional address string of `family` as bytes (4 or 16). *given: whether the key was set.
bool GetAddr(Napi::Env env, Napi::Object o, const char* key, int family, unsigned char* out, bool* given) {
  Napi::Value v = o.Get(key);
  *given = false;
  if (v.IsUndefined()) return true;
  if (!v.IsString() || inet_pton(family, v.As<Napi::String>().Utf8Value().c_str(), out) != 1) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", std::string("netAddressAdd: address.") + key + " must be an address of its family");
    return false;
  }
  *given = true;
  return true;
}

std::string AddrText(int family, const void* data, size_t len) {
  char text[INET6_ADDRSTRLEN] = "";
  if ((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)) inet_ntop(family, data, text, sizeof text);
  return text;
}

}  // namespace

// netlinkOpen(nsFd?): a close-on-exec NETLINK_ROUTE socket, in nsFd's network namespace if given.
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NlFailure f;
  if (info.Length() == 0 || info[0].IsUndefined()) {
    int fd = OpenRouteSocket(&f);
    if (fd < 0) return ThrowNl(env, f);
    return Napi::Number::New(env, fd);
  }
  int ns_fd = -1;
  if (!ArgFd(info, 0, "netlinkOpen: nsFd", &ns_fd)) return env.Undefined();
  OpenJob job{ns_fd, -1, NlFailure()};
  // The thread starts with every signal blocked (it inherits our mask): Node's handlers are
  // for the threads that expect them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, OpenInNamespace, &job);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) return ThrowErrno(env, err, "pthread_create");
  pthread_join(thread, nullptr);
  if (job.fd < 0) return ThrowNl(env, job.failure);
  return Napi::Number::New(env, job.fd);
}

// netLinks(sock): every interface of the socket's network namespace.
Napi::Value NetLinks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = -1;
  if (!ArgFd(info, 0, "netLinks: sock", &sock)) return env.Undefined();
  Napi::Array out = Napi::Array::New(env);
  uint32_t count = 0;
  auto make = [] {
    Request req(RTM_GETLINK, NLM_F_DUMP);
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    req.body(ifi);
    req.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return req;
  };
  auto each = [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) return;
    const ifinfomsg* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    std::string name;
    int len = static_cast<int>(IFLA_PAYLOAD(h));
    for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type == IFLA_IFNAME) {
        const char* s = static_cast<const char*>(RTA_DATA(a));
        name.assign(s, strnlen(s, RTA_PAYLOAD(a)));
      }
    }
    Napi::Object link = Napi::Object::New(env);
    link.Set("index", Napi::Number::New(env, ifi->ifi_index));
    link.Set("name", Napi::String::New(env, name));
    link.Set("flags", Napi::Number::New(env, ifi->ifi_flags));
    out.Set(count++, link);
  };
  auto reset = [&] {
    out = Napi::Array::New(env);
    count = 0;
  };
  NlFailure f;
  if (!Dump(sock, make, "RTM_GETLINK", &f, each, reset)) return ThrowNl(env, f);
  return out;
}

// netAddresses(sock, index): the IPv4 and IPv6 addresses of one interface, in the kernel's order.
Napi::Value NetAddresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = -1;
  int64_t index = 0;
  if (!ArgFd(info, 0, "netAddresses: sock", &sock) || !ArgInt(info, 1, "netAddresses: index", 1, 0x7fffffff, &index)) {
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t count = 0;
  auto make = [] {
    Request req(RTM_GETADDR, NLM_F_DUMP);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_UNSPEC;
    req.body(ifa);
    return req;
  };
  auto each = [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) return;
    const ifaddrmsg* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (static_cast<int64_t>(ifa->ifa_index) != index) return;
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return;
    Napi::Object a = Napi::Object::New(env);
    a.Set("family", Napi::String::New(env, ifa->ifa_family == AF_INET ? "inet" : "inet6"));
    a.Set("prefixLength", Napi::Number::New(env, ifa->ifa_prefixlen));
    uint32_t flags = ifa->ifa_flags;
    a.Set("scope", Napi::Number::New(env, ifa->ifa_scope));
    int len = static_cast<int>(IFA_PAYLOAD(h));
    for (const rtattr* r = IFA_RTA(ifa); RTA_OK(r, len); r = RTA_NEXT(r, len)) {
      switch (r->rta_type) {
        case IFA_LOCAL:
          a.Set("local", Napi::String::New(env, AddrText(ifa->ifa_family, RTA_DATA(r), RTA_PAYLOAD(r))));
          break;
        case IFA_ADDRESS:
          a.Set("address", Napi::String::New(env, AddrText(ifa->ifa_family, RTA_DATA(r), RTA_PAYLOAD(r))));
          break;
        case IFA_BROADCAST:
          a.Set("broadcast", Napi::String::New(env, AddrText(ifa->ifa_family, RTA_DATA(r), RTA_PAYLOAD(r))));
          break;
        case IFA_LABEL: {
          const char* s = static_cast<const char*>(RTA_DATA(r));
          a.Set("label", Napi::String::New(env, std::string(s, strnlen(s, RTA_PAYLOAD(r)))));
          break;
        }
        case IFA_FLAGS:
          // The full 32 bits (ifa_flags has only the low 8).
          if (RTA_PAYLOAD(r) >= sizeof(uint32_t)) memcpy(&flags, RTA_DATA(r), sizeof flags);
          break;
        default:
          break;
      }
    }
    a.Set("flags", Napi::Number::New(env, flags));
    out.Set(count++, a);
  };
  auto reset = [&] {
    out = Napi::Array::New(env);
    count = 0;
  };
  NlFailure f;
  if (!Dump(sock, make, "RTM_GETADDR", &f, each, reset)) return ThrowNl(env, f);
  return out;
}

// netLinkMove(sock, index, nsFd, name): move the interface into nsFd's network namespace and
// name it `name` there (a "%d" template is filled in by the kernel). The kernel moves first
// and renames after: a name taken there fails with the device already moved.
Napi::Value NetLinkMove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = -1, ns_fd = -1;
  int64_t index = 0;
  std::string name;
  if (!ArgFd(info, 0, "netLinkMove: sock", &sock) || !ArgInt(info, 1, "netLinkMove: index", 1, 0x7fffffff, &index) ||
      !ArgFd(info, 2, "netLinkMove: nsFd", &ns_fd) || !ArgPath(info, 3, "netLinkMove: name", &name)) {
    return env.Undefined();
  }
  if (name.size() >= IFNAMSIZ) return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "netLinkMove: name must be shorter than IFNAMSIZ");
  Request req(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = static_cast<int>(index);
  req.body(ifi);
  req.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(ns_fd));
  req.attr_str(IFLA_IFNAME, name);
  NlFailure f;
  if (!Transact(sock, req, "RTM_NEWLINK", &f, [](const nlmsghdr*) {})) return ThrowNl(env, f);
  return env.Undefined();
}

// netAddressAdd(sock, index, {family, prefixLength, flags, scope, local?, address?, broadcast?, label?}).
Napi::Value NetAddressAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = -1;
  int64_t index = 0;
  if (!ArgFd(info, 0, "netAddressAdd: sock", &sock) || !ArgInt(info, 1, "netAddressAdd: index", 1, 0x7fffffff, &index)) {
    return env.Undefined();
  }
  if (info.Length() < 3 || !info[2].IsObject()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "netAddressAdd: address must be an object");
  Napi::Object o = info[2].As<Napi::Object>();
  Napi::Value fam = o.Get("family");
  std::string family_name = fam.IsString() ? fam.As<Napi::String>().Utf8Value() : "";
  if (family_name != "inet" && family_name != "inet6") {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "netAddressAdd: address.family must be \"inet\" or \"inet6\"");
  }
  int family = family_name == "inet" ? AF_INET : AF_INET6;
  size_t alen = family == AF_INET ? 4 : 16;
  int64_t prefix = 0, flags = 0, scope = 0;
  if (!GetInt(env, o, "prefixLength", 0, family == AF_INET ? 32 : 128, true, &prefix) ||
      !GetInt(env, o, "flags", 0, 0xffffffff, false, &flags) || !GetInt(env, o, "scope", 0, 255, false, &scope)) {
    return env.Undefined();
  }
  unsigned char local[16], address[16], broadcast[16];
  bool has_local = false, has_address = false, has_broadcast = false;
  if (!GetAddr(env, o, "local", family, local, &has_local) || !GetAddr(env, o, "address", family, address, &has_address) ||
      !GetAddr(env, o, "broadcast", family, broadcast, &has_broadcast)) {
    return env.Undefined();
  }
  if (!has_local && !has_address) return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "netAddressAdd: address needs local or address");
  Napi::Value label_v = o.Get("label");
  std::string label;
  if (!label_v.IsUndefined()) {
    if (!label_v.IsString()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "netAddressAdd: address.label must be a string");
    label = label_v.As<Napi::String>().Utf8Value();
    if (label.size() >= IFNAMSIZ || label.find('\0') != std::string::npos) {
      return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "netAddressAdd: address.label must be an interface name");
    }
  }

  Request req(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<unsigned char>(family);
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa.ifa_flags = static_cast<unsigned char>(flags & 0xff);
  ifa.ifa_scope = static_cast<unsigned char>(scope);
  ifa.ifa_index = static_cast<uint32_t>(index);
  req.body(ifa);
  // As the dump gave them: for IPv4 IFA_LOCAL is the address and IFA_ADDRESS the peer (the
  // same without one); for IPv6 IFA_ADDRESS alone, or IFA_LOCAL plus the peer's IFA_ADDRESS.
  if (has_local) req.attr(IFA_LOCAL, local, alen);
  if (has_address) req.attr(IFA_ADDRESS, address, alen);
  if (has_broadcast && family == AF_INET) req.attr(IFA_BROADCAST, broadcast, alen);
  if (!label.empty() && family == AF_INET) req.attr_str(IFA_LABEL, label);
  // The flags past the low 8 (noprefixroute, mngtmpaddr, autojoin) only travel here; older
  // kernels ignore the attribute.
  req.attr_u32(IFA_FLAGS, static_cast<uint32_t>(flags));
  NlFailure f;
  if (!Transact(sock, req, "RTM_NEWADDR", &f, [](const nlmsghdr*) {})) return ThrowNl(env, f);
  return env.Undefined();
}

// netLinkUp(sock, index, up): set or clear IFF_UP (ip link set ... up/down).
Napi::Value NetLinkUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = -1;
  int64_t index = 0;
  if (!ArgFd(info, 0, "netLinkUp: sock", &sock) || !ArgInt(info, 1, "netLinkUp: index", 1, 0x7fffffff, &index)) {
    return env.Undefined();
  }
  if (info.Length() < 3 || !info[2].IsBoolean()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "netLinkUp: up must be a boolean");
  bool up = info[2].As<Napi::Boolean>().Value();
  Request req(RTM_NEWLINK, NLM_F_ACK);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = static_cast<int>(index);
  ifi.ifi_flags = up ? IFF_UP : 0;
  ifi.ifi_change = IFF_UP;
  req.body(ifi);
  NlFailure f;
  if (!Transact(sock, req, "RTM_NEWLINK", &f, [](const nlmsghdr*) {})) return ThrowNl(env, f);
  return env.Undefined();
}

}  // namespace berth
