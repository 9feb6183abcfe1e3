//===- Handles.h - what the C API's handles hold, and its guard (internal) ===//
//
// Every entry point of the C API runs its body through `guard`, which turns
// an exception into a return code and the thread's last-error message, so
// that no C++ exception crosses the C interface.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LIB_CAPI_HANDLES_H
#define WL_LIB_CAPI_HANDLES_H

#include "wl/CApi/weight_layout.h"
#include "wl/Embed/Run.h"

#include "../Embed/PlanData.h"

#include "wl/Safetensors/Safetensors.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <memory>
#include <new>
#include <string>

struct wl_plan {
  std::shared_ptr<const wl::embed::PlanData> d;
};

struct wl_checkpoint {
  std::unique_ptr<wl::runtime::Checkpoint> c;
};

namespace wl::capi {

/// Sets the thread's last error; returns `code`.
int fail(int code, const std::string &message);

template <typename F> int guard(F &&body) {
  try {
    body();
    return WL_OK;
  } catch (const embed::Error &e) {
    return fail(e.kind() == embed::Error::Invalid ? WL_ERR_INVALID
                                                  : WL_ERR_RUNTIME,
                e.what());
  } catch (const std::bad_alloc &) {
    return fail(WL_ERR_RUNTIME, "out of memory");
  } catch (const std::exception &e) {
    return fail(WL_ERR_RUNTIME, e.what());
  } catch (...) {
    return fail(WL_ERR_RUNTIME, "unknown error");
  }
}

/// A malloc'd copy of `s` for the caller (wl_free).
char *give(const std::string &s);
inline char *give(const nlohmann::ordered_json &j) { return give(j.dump()); }

/// Throws Error (Invalid) naming `what` when `p` is null.
void required(const void *p, const char *what);

/// The C API's tensors as the core's, by name; `role` ("source",
/// "destination") names them in errors (Run.cpp).
embed::TensorRef refOf(const wl_tensor &t, const char *role);
std::map<std::string, embed::TensorRef> refsOf(const wl_tensor *v, size_t n,
                                               const char *role);

} // namespace wl::capi

#endif // WL_LIB_CAPI_HANDLES_H
