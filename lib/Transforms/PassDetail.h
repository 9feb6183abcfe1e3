//===- PassDetail.h - shared by the wl pass implementations -----*- C++ -*-===//
#ifndef WL_LIB_TRANSFORMS_PASSDETAIL_H
#define WL_LIB_TRANSFORMS_PASSDETAIL_H

#include "wl/Layout/Plan.h"

#include <string>

namespace wl::detail {

/// "shape [4, 8] dst 0 [8, 1] <- 'src' 16 [8, 1]" (see --wl-lower-to-pieces).
std::string describePiece(const layout::Plan &plan, const layout::Piece &p);

} // namespace wl::detail

#endif // WL_LIB_TRANSFORMS_PASSDETAIL_H
