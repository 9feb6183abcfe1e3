//===- StagingMarker.cpp - whose staging folder is this? -------------------===//
#include "StagingMarker.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

namespace wl::tool {

namespace {

constexpr const char *kFormat = "weight-layout-staging/1";

/// Up to `max` bytes of a file that may report size 0 (procfs); "" if none.
std::string readSmall(const std::string &path, size_t max) {
  int fd = ::open(path.c_str(),
                  O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return "";
  struct stat st;
  std::string out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    char buf[512];
    while (out.size() < max) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      out.append(buf, (size_t)n);
    }
  }
  ::close(fd);
  return out.size() > max ? "" : out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or
/// "" when unknown. The command name (field 2) may hold spaces and ')'.
std::string startTime(const std::string &pid) {
  std::string stat = readSmall("/proc/" + pid + "/stat", 4096);
  size_t close = stat.rfind(')');
  if (close == std::string::npos)
    return "";
  // After ") ": field 3 (state) is the first; field 22 is the 20th.
  size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = stat.find(' ', pos);
    if (pos == std::string::npos)
      return "";
    ++pos;
  }
  size_t end = stat.find(' ', pos);
  return stat.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

/// host, boot, pidns of this process: "" when they cannot be known (then
/// no marker matches and nothing is ever removed).
std::map<std::string, std::string> thisMachine() {
  std::map<std::string, std::string> m;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0)
    m["host"] = host;
  m["boot"] = trimmed(readSmall("/proc/sys/kernel/random/boot_id", 128));
  char ns[128] = {};
  ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  m["pidns"] = n > 0 ? std::string(ns, (size_t)n) : "";
  return m;
}

std::map<std::string, std::string> parseMarker(const std::string &text) {
  std::map<std::string, std::string> m;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (first) {
      if (line != kFormat)
        return {};
      first = false;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || m.count(line.substr(0, eq)))
      return {};
    m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

bool isPid(const std::string &s) {
  if (s.empty() || s.size() > 10 || s[0] == '0')
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return std::strtoll(s.c_str(), nullptr, 10) <= 0x7fffffff;
}

} // namespace

bool writeStagingMarker(const std::string &folder, bool durable,
                        std::string &error) {
  std::map<std::string, std::string> m = thisMachine();
  std::string pid = std::to_string(::getpid());
  std::string text = std::string(kFormat) + "\n";
  text += "host=" + m["host"] + "\nboot=" + m["boot"] + "\npidns=" +
          m["pidns"] + "\npid=" + pid + "\nstart=" + startTime("self") + "\n";
  std::string path = folder + "/" + kStagingMarker;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = path + ": cannot create: " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == (ssize_t)text.size() &&
            (!durable || ::fsync(fd) == 0);
  if (!ok)
    error = path + ": cannot write: " + std::strerror(errno);
  ::close(fd);
  return ok;
}

bool isLeftoverStaging(const std::string &folder, const std::string &name,
                       const std::string &stem, std::string &why) {
  why.clear();
  if (name.compare(0, stem.size(), stem) != 0)
    return false;
  std::string pid = name.substr(stem.size());
  if (!isPid(pid)) {
    why = "its name does not end in a process number";
    return false;
  }
  struct stat st;
  if (::lstat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    why = "it is not a folder";
    return false;
  }
  if (st.st_uid != ::geteuid()) {
    why = "another user owns it";
    return false;
  }
  std::map<std::string, std::string> marker =
      parseMarker(readSmall(folder + "/" + kStagingMarker, 4096));
  if (marker.empty()) {
    why = "it holds no marker of this tool";
    return false;
  }
  std::map<std::string, std::string> here = thisMachine();
  if (marker["pid"] != pid) {
    why = "its marker names another process";
    return false;
  }
  for (const char *k : {"host", "boot", "pidns"})
    if (here[k].empty() || marker[k] != here[k]) {
      why = std::string("it was made ") +
            (std::string(k) == "host"    ? "on another host"
             : std::string(k) == "boot" ? "before this machine's last boot, "
                                          "or on another machine"
                                        : "in another PID namespace "
                                          "(another container)");
      return false;
    }
  // A PID in use (ours included: an old run's PID reused) is the same
  // process only if it started at the time the marker says.
  errno = 0;
  bool gone = ::kill((pid_t)std::atoll(pid.c_str()), 0) != 0 && errno == ESRCH;
  if (!gone) {
    std::string now = startTime(pid);
    gone = !now.empty() && !marker["start"].empty() && now != marker["start"];
  }
  return gone; // a live conversion: left alone, quietly
}

} // namespace wl::tool
