//===- Staging.cpp - output written under a temporary name, then renamed --===//
#include "Staging.h"

#include "Progress.h"
#include "StagingMarker.h"

#include "wl/Support/InputFile.h"
#include "wl/Support/Quote.h"

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
  return escapeText(path) + ": " + what + ": " + std::strerror(errno);
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

std::unique_ptr<Staging> Staging::create(const TargetPath &target, bool force,
                                         bool durable,
                                         std::vector<std::string> &notes,
                                         std::string &error) {
  if (target.exists && !force) {
    error = target.full + " exists (use --force to replace it)";
    return nullptr;
  }
  // Leftover staging folders of processes that are gone (kill -9).
  std::string stem = target.name + kStagingInfix;
  std::error_code ec;
  for (auto it = fs::directory_iterator(target.parent, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.compare(0, stem.size(), stem) != 0)
      continue;
    std::string why;
    // The name comes from the folder's listing: shown escaped.
    std::string shown = escapeText(it->path().string());
    if (isLeftoverStaging(it->path().string(), name, stem, why)) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
      notes.push_back(rm ? "cannot remove the leftover staging folder " +
                               shown + ": " + rm.message()
                         : "removed " + shown +
                               ", left by a conversion that is gone");
    } else if (!why.empty()) {
      notes.push_back("left " + shown + " alone: " + why);
    }
  }
  auto s = std::unique_ptr<Staging>(new Staging());
  s->target_ = target;
  s->force_ = force;
  s->durable_ = durable;
  s->tmp_ = target.parent + (target.parent == "/" ? "" : "/") + stem +
            std::to_string(::getpid());
  if (::mkdir(s->tmp_.c_str(), 0755) != 0) {
    error = errnoText("cannot create", s->tmp_);
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(cleanupMutex);
    cleanupPath = s->tmp_;
  }
  if (!writeStagingMarker(s->tmp_, durable, error))
    return nullptr; // the destructor removes the folder
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

namespace {

/// rename(2) that neither replaces nor is replaced: RENAME_NOREPLACE, or an
/// exchange of the two (RENAME_EXCHANGE). Falls back to a check and a plain
/// rename where the filesystem has neither (errno EINVAL).
int renameFlags(const std::string &from, const std::string &to,
                unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags);
}

} // namespace

bool Staging::commit(const std::vector<std::string> &inputs,
                     std::string &error) {
  if (durable_)
    syncTree(tmp_);
  std::lock_guard<std::mutex> lock(cleanupMutex);
  const std::string &final = target_.full;
  struct stat st;
  bool exists = ::lstat(final.c_str(), &st) == 0;
  if (exists && !force_) {
    error = final + " appeared while converting; the result is left in " +
            tmp_;
    cleanupPath.clear();
    return false;
  }
  if (!exists) {
    if (renameFlags(tmp_, final, RENAME_NOREPLACE) != 0) {
      if (errno == EEXIST) {
        error = final + " appeared while converting; the result is left in " +
                tmp_;
        cleanupPath.clear();
        return false;
      }
      if (errno != EINVAL || ::rename(tmp_.c_str(), final.c_str()) != 0) {
        error = errnoText("cannot rename " + tmp_ + " to", final);
        return false;
      }
    }
  } else {
    // Still the folder that was checked, and still one that may go.
    TargetPath now = target_;
    now.exists = true;
    if ((unsigned long long)st.st_dev != target_.dev ||
        (unsigned long long)st.st_ino != target_.ino) {
      error = final + " was replaced by something else while converting; "
                      "the result is left in " + tmp_;
      cleanupPath.clear();
      return false;
    }
    if (!checkReplaceable(now, inputs, error))
      return false;
    if (renameFlags(tmp_, final, RENAME_EXCHANGE) == 0) {
      // The temporary name now holds the old folder: it goes.
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    } else if (errno == EINVAL) {
      std::string old = final + ".wl-old-" + std::to_string(::getpid());
      if (renameFlags(final, old, RENAME_NOREPLACE) != 0 &&
          (errno != EINVAL || ::rename(final.c_str(), old.c_str()) != 0)) {
        error = errnoText("cannot move the old folder aside", final);
        return false;
      }
      if (::rename(tmp_.c_str(), final.c_str()) != 0) {
        error = errnoText("cannot rename " + tmp_ + " to", final);
        ::rename(old.c_str(), final.c_str());
        return false;
      }
      std::error_code ec;
      fs::remove_all(old, ec);
    } else {
      error = errnoText("cannot replace the old folder by " + tmp_, final);
      return false;
    }
  }
  cleanupPath.clear();
  ::unlink((final + "/" + kStagingMarker).c_str());
  if (durable_) {
    fsyncPath(final);
    fsyncPath(target_.parent);
  }
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

bool writeTextFile(const std::string &text, const std::string &path,
                   bool durable, std::string &error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = errnoText("cannot create", path);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = errnoText("cannot write", path);
      ::close(fd);
      return false;
    }
    done += (size_t)n;
  }
  bool ok = !durable || ::fsync(fd) == 0;
  if (!ok)
    error = errnoText("cannot sync", path);
  ::close(fd);
  return ok;
}

bool copyFile(const std::string &from, const std::string &to, bool durable,
              std::string &error) {
  struct stat st;
  std::string why;
  int in = openRegularFile(from, st, why);
  if (in < 0) {
    error = escapeText(from) + ": cannot copy: " + why;
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
