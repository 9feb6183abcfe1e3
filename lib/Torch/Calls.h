//===- Calls.h - the C API's calls as the libtorch layer makes them -*- C++ -*-===//
#ifndef WL_LIB_TORCH_CALLS_H
#define WL_LIB_TORCH_CALLS_H

#include "wl/CApi/weight_layout.h"
#include "wl/Embed/Compile.h"

#include <nlohmann/json.hpp>

namespace wl::embed::detail {

/// Throws the library's error of a failing call.
inline void check(int rc) {
  if (rc != WL_OK)
    throw Error(rc == WL_ERR_INVALID ? Error::Invalid : Error::Runtime,
                wl_last_error());
}

/// Calls fn(args..., &out) and returns the JSON the library wrote.
template <typename F, typename... Args>
nlohmann::json callJson(F fn, Args... args) {
  char *out = nullptr;
  check(fn(args..., &out));
  nlohmann::json j = nlohmann::json::parse(out ? out : "null");
  wl_free(out);
  return j;
}

} // namespace wl::embed::detail

#endif // WL_LIB_TORCH_CALLS_H
