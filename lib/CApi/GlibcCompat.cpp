//===- GlibcCompat.cpp - what the library needs from glibc, kept at 2.34 --===//
//
// The C++ standard library linked into libweight-layout.so (its
// std::random_device) calls arc4random, which glibc has only since 2.36.
// Defined here over getrandom (glibc 2.25), so that the library loads on
// glibc 2.34 and 2.35 as well (Ubuntu 22.04, where many GPU machines are).
// Not exported (cmake/weight-layout.map).
//
//===----------------------------------------------------------------------===//
#include <cerrno>
#include <cstdint>
#include <sys/random.h>

extern "C" uint32_t arc4random(void) {
  uint32_t v = 0;
  while (getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
  }
  return v;
}
