//===- MappingGuard.h - a file truncated under its mapping is an error --*- C++ -*-===//
//
// A safetensors file is read through a shared read-only mapping. When the
// file shrinks while it is mapped (another process truncates or rewrites
// it), reading a page past its new end raises SIGBUS, which would kill the
// tool and leave its staging folder behind. The guard turns that into an
// error the caller can see: a SIGBUS on a watched mapping replaces the page
// with a page of zeros (so the read completes), marks the mapping faulted,
// and returns. SafetensorsFile::unchanged() then reports the file as changed,
// and nothing read from it is kept. A SIGBUS anywhere else goes to the
// handler that was installed before (or takes its default action).
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_SAFETENSORS_MAPPINGGUARD_H
#define WL_LIB_SAFETENSORS_MAPPINGGUARD_H

#include <cstddef>

namespace wl::runtime::guard {

/// Watches the mapping [begin, begin + size) (installing the handler on the
/// first call). Returns a slot, or -1 when every slot is taken (then a
/// SIGBUS on the mapping keeps its default action).
int watch(const void *begin, size_t size);
/// Stops watching (before the mapping is unmapped).
void unwatch(int slot);
/// Whether a SIGBUS was caught on the slot's mapping since watch().
bool faulted(int slot);

} // namespace wl::runtime::guard

#endif // WL_LIB_SAFETENSORS_MAPPINGGUARD_H
