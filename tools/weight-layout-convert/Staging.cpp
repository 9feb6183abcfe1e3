//===- Staging.cpp - output written under a temporary name, then renamed --===//
#include "Staging.h"

#include "Progress.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace wl::tool {

namespace {

/// The folder a signal must remove, guarded so that a signal during the
/// final rename sees either the temporary folder or none.
std::mutex cleanupMutex;
std::string cleanupPath;

std::string errnoText(const std::string &what, const std::string &path) {
  return path + ": " + what + ": " + std::strerror(errno);
}

bool fsyncPath(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

/// Every folder under (and including) `root`, deepest first.
void syncTree(const std::string &root) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec))
      fsyncPath(it->path().string());
  fsyncPath(root);
}

} // namespace

void installSignalCleanup() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
      return;
    std::lock_guard<std::mutex> lock(cleanupMutex);
    if (!cleanupPath.empty()) {
      std::error_code ec;
      fs::remove_all(cleanupPath, ec);
      std::fprintf(stderr,
                   "\nweight-layout-convert: interrupted (signal %d); removed "
                   "%s\n",
                   sig, cleanupPath.c_str());
    }
    std::_Exit(128 + sig);
  }).detach();
}

std::unique_ptr<Staging> Staging::create(const std::string &finalPath,
                                         bool force, bool durable,
                                         std::string &error) {
  std::error_code ec;
  fs::path target = fs::path(finalPath).lexically_normal();
  if (target.filename().empty())
    target = target.parent_path();
  if (fs::exists(fs::symlink_status(target, ec)) && !force) {
    error = target.string() + " exists (use --force to replace it)";
    return nullptr;
  }
  fs::path parent = target.parent_path();
  if (parent.empty())
    parent = ".";
  if (!fs::is_directory(parent, ec)) {
    error = parent.string() + " is not a folder";
    return nullptr;
  }
  // Stale staging folders of processes that no longer run (kill -9).
  std::string stem = target.filename().string() + ".wl-tmp-";
  for (auto it = fs::directory_iterator(parent, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(stem, 0) != 0)
      continue;
    long pid = std::strtol(name.c_str() + stem.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
  }
  auto s = std::unique_ptr<Staging>(new Staging());
  s->final_ = target.string();
  s->force_ = force;
  s->durable_ = durable;
  s->tmp_ = (parent / (stem + std::to_string(::getpid()))).string();
  if (::mkdir(s->tmp_.c_str(), 0755) != 0) {
    error = errnoText("cannot create", s->tmp_);
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(cleanupMutex);
  cleanupPath = s->tmp_;
  return s;
}

Staging::~Staging() {
  std::lock_guard<std::mutex> lock(cleanupMutex);
  if (!cleanupPath.empty()) {
    std::error_code ec;
    fs::remove_all(cleanupPath, ec);
    cleanupPath.clear();
  }
}

bool Staging::makeDir(const std::string &relative, std::string &error) {
  std::string p = tmp_ + "/" + relative;
  if (::mkdir(p.c_str(), 0755) != 0) {
    error = errnoText("cannot create", p);
    return false;
  }
  return true;
}

bool Staging::commit(std::string &error) {
  if (durable_)
    syncTree(tmp_);
  std::lock_guard<std::mutex> lock(cleanupMutex);
  std::error_code ec;
  std::string old;
  if (fs::exists(fs::symlink_status(final_, ec))) {
    if (!force_) {
      error =
          final_ + " appeared while converting; the result is left in " + tmp_;
      cleanupPath.clear();
      return false;
    }
    old = final_ + ".wl-old-" + std::to_string(::getpid());
    if (::rename(final_.c_str(), old.c_str()) != 0) {
      error = errnoText("cannot move the old folder aside", final_);
      return false;
    }
  }
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
    error = errnoText("cannot rename " + tmp_ + " to", final_);
    if (!old.empty())
      ::rename(old.c_str(), final_.c_str());
    return false;
  }
  cleanupPath.clear();
  fs::path parent = fs::path(final_).parent_path();
  if (durable_)
    fsyncPath(parent.empty() ? "." : parent.string());
  if (!old.empty())
    fs::remove_all(old, ec);
  return true;
}

bool checkFreeSpace(const std::string &folder, unsigned long long bytes,
                    std::string &error) {
  struct statvfs st;
  if (::statvfs(folder.c_str(), &st) != 0)
    return true; // cannot tell: the writes will say
  unsigned long long avail =
      static_cast<unsigned long long>(st.f_bavail) * st.f_frsize;
  if (bytes > avail) {
    error = folder + ": the output needs " + formatBytes(bytes) + ", but " +
            formatBytes(avail) + " are free";
    return false;
  }
  return true;
}

bool copyFile(const std::string &from, const std::string &to, bool durable,
              std::string &error) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    error = errnoText("cannot read", from);
    return false;
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    error = errnoText("cannot create", to);
    ::close(in);
    return false;
  }
  bool ok = true;
  bool kernel = true;
  char buf[1 << 16];
  while (true) {
    ssize_t n;
    if (kernel) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && errno != EINTR && errno != ENOSPC && errno != EIO) {
        kernel = false;
        continue;
      }
    } else {
      n = ::read(in, buf, sizeof buf);
      if (n > 0) {
        ssize_t done = 0;
        while (done < n) {
          ssize_t w = ::write(out, buf + done, n - done);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0) {
            n = -1;
            break;
          }
          done += w;
        }
      }
    }
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      error = errnoText("cannot copy to", to);
      ok = false;
      break;
    }
  }
  if (ok && durable && ::fsync(out) != 0) {
    error = errnoText("cannot sync", to);
    ok = false;
  }
  ::close(in);
  ::close(out);
  return ok;
}

} // namespace wl::tool
