//===- LowerToPieces.cpp - --wl-lower-to-pieces ---------------------------===//
#include "PassDetail.h"

#include "wl/IR/WLOps.h"
#include "wl/Transforms/LowerToPlan.h"
#include "wl/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

#include <sstream>

namespace wl {
#define GEN_PASS_DEF_WLLOWERTOPIECES
#include "wl/Transforms/Passes.h.inc"
} // namespace wl

using namespace mlir;

namespace wl::detail {

static void list(std::ostringstream &os, const layout::Shape &v) {
  os << "[";
  for (size_t i = 0; i < v.size(); ++i)
    os << (i ? ", " : "") << v[i];
  os << "]";
}

std::string describePiece(const layout::Plan &plan, const layout::Piece &p) {
  std::ostringstream os;
  os << "shape ";
  list(os, p.shape);
  os << " dst " << p.dstOffset << " ";
  list(os, p.dstStrides);
  if (p.isFill()) {
    layout::DType t = plan.targets[p.target].dtype;
    os << " fill ";
    if (layout::isFloat(t))
      os << layout::doubleFromBits(p.fillBits, t);
    else
      os << layout::int64FromBits(p.fillBits, t);
    return os.str();
  }
  os << " <- '" << plan.sources[p.source].name << "' " << p.srcOffset << " ";
  list(os, p.srcStrides);
  for (const layout::Step &s : p.steps) {
    if (s.kind == layout::Step::Cast)
      os << " convert cast " << layout::mlirName(s.from) << "->"
         << layout::mlirName(s.to);
    else
      os << " convert affine(" << s.scale << ", " << s.offset << ")";
  }
  return os.str();
}

} // namespace wl::detail

namespace {
struct LowerToPieces : wl::impl::WLLowerToPiecesBase<LowerToPieces> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      FailureOr<wl::LoweredFunction> lowered = wl::lowerFunction(fn);
      if (failed(lowered))
        return signalPassFailure();
      llvm::DenseMap<Operation *, SmallVector<Attribute>> perSink;
      for (auto [i, p] : llvm::enumerate(lowered->plan.pieces))
        perSink[lowered->pieceSinks[i]].push_back(StringAttr::get(
            &getContext(), wl::detail::describePiece(lowered->plan, p)));
      fn.walk([&](wl::SinkOp sink) {
        sink->setAttr("wl.pieces",
                      ArrayAttr::get(&getContext(), perSink[sink]));
      });
    }
  }
};
} // namespace
