//===- LowerToPlan.cpp - wl functions to plans of pieces ------------------===//
//
// Walks a function in order and keeps, for every value, the layout::Regions
// that hold its elements; each wl op maps its operands' regions to its
// results' regions (lib/Layout/Region.cpp does the box arithmetic). Sinks turn
// their regions into pieces.
//
//===----------------------------------------------------------------------===//
#include "wl/Transforms/LowerToPlan.h"

#include "wl/IR/WLOps.h"
#include "wl/Layout/RankNames.h"
#include "wl/Layout/Region.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace wl::layout;

namespace wl {

namespace {

Shape shapeOf(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return Shape(s.begin(), s.end());
}

DType dtypeOf(Value v) {
  return *toDType(cast<RankedTensorType>(v.getType()).getElementType());
}

class Lowerer {
public:
  LogicalResult run(func::FuncOp fn, LoweredFunction &out);

private:
  const Regions &get(Value v) { return values[v]; }
  LogicalResult lowerOp(Operation *op);

  llvm::DenseMap<Value, Regions> values;
  llvm::StringMap<int64_t> sourceIndex, targetIndex;
  LoweredFunction *out = nullptr;
};

LogicalResult Lowerer::lowerOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](SourceOp o) -> LogicalResult {
        std::string name = o.getName().str();
        auto [it, inserted] =
            sourceIndex.try_emplace(name, (int64_t)out->plan.sources.size());
        if (inserted) {
          out->plan.sources.push_back(
              {name, dtypeOf(o.getResult()), shapeOf(o.getResult())});
          out->sourceOps.emplace_back();
        }
        const TensorInfo &t = out->plan.sources[it->second];
        if (t.dtype != dtypeOf(o.getResult()) || t.shape != shapeOf(o.getResult()))
          return o.emitOpError("reads '")
                 << name << "' with another type than an earlier wl.source";
        out->sourceOps[it->second].push_back(o);
        values[o.getResult()] = {sourceRegion(it->second, t.shape)};
        return success();
      })
      .Case([&](SinkOp o) -> LogicalResult {
        std::string name = o.getName().str();
        Shape full;
        for (int64_t s : o.getTargetShapeOrInput())
          full.push_back(s);
        DType dt = dtypeOf(o.getInput());
        auto [it, inserted] =
            targetIndex.try_emplace(name, (int64_t)out->plan.targets.size());
        if (inserted) {
          out->plan.targets.push_back({name, dt, full});
          out->targetSinks.emplace_back();
        }
        const TensorInfo &t = out->plan.targets[it->second];
        if (t.dtype != dt || t.shape != full)
          return o.emitOpError("writes '")
                 << name << "' with another dtype or shape than an earlier "
                 << "wl.sink of that name";
        out->targetSinks[it->second].push_back(o);
        Regions rs = get(o.getInput());
        auto offsets = o.getOffsetsOrZero();
        for (size_t d = 0; d < offsets.size(); ++d)
          shiftDim(rs, d, offsets[d]);
        for (Piece &p : regionsToPieces(rs, full, it->second)) {
          out->plan.pieces.push_back(std::move(p));
          out->pieceSinks.push_back(o);
        }
        return success();
      })
      .Case([&](DataMovementOp o) {
        // Each op moves its operands' regions itself (lib/IR/*Ops.cpp).
        SmallVector<Regions> operands;
        for (Value v : op->getOperands())
          operands.push_back(get(v));
        SmallVector<Regions> results = o.mapRegions(operands);
        for (auto [r, rs] : llvm::zip(op->getResults(), results))
          values[r] = std::move(rs);
        return success();
      })
      .Case([&](func::ReturnOp) { return success(); })
      .Default([&](Operation *other) {
        return other->emitOpError(
            "cannot be lowered to a plan: only wl ops may appear in a mapping");
      });
}

LogicalResult Lowerer::run(func::FuncOp fn, LoweredFunction &result) {
  out = &result;
  if (fn.getNumArguments() != 0)
    return fn.emitOpError("cannot be lowered to a plan: a mapping takes its "
                          "inputs from wl.source ops, not from arguments");
  for (Operation &op : fn.getBody().getOps())
    if (failed(lowerOp(&op)))
      return failure();
  return success();
}

} // namespace

FailureOr<layout::Plan> lowerAllRanks(ModuleOp module) {
  layout::Plan plan;
  llvm::StringMap<int64_t> sourceIndex;
  auto fns = module.getOps<func::FuncOp>();
  bool several = std::next(fns.begin()) != fns.end() && !fns.empty();
  for (auto fn : fns) {
    FailureOr<LoweredFunction> lowered = lowerFunction(fn);
    if (failed(lowered))
      return failure();
    std::string prefix;
    if (several) {
      llvm::StringRef name = fn.getSymName();
      std::optional<int64_t> r = rankOfFunction(name);
      prefix = r ? rankPrefix(*r) : name.str() + "/";
    }
    std::vector<int64_t> remap;
    for (const TensorInfo &s : lowered->plan.sources) {
      auto [it, inserted] =
          sourceIndex.try_emplace(s.name, (int64_t)plan.sources.size());
      if (inserted)
        plan.sources.push_back(s);
      remap.push_back(it->second);
    }
    int64_t base = plan.targets.size();
    for (TensorInfo t : lowered->plan.targets) {
      t.name = prefix + t.name;
      plan.targets.push_back(t);
    }
    for (Piece p : lowered->plan.pieces) {
      p.target += base;
      if (!p.isFill())
        p.source = remap[p.source];
      plan.pieces.push_back(std::move(p));
    }
  }
  normalize(plan);
  return plan;
}

FailureOr<LoweredFunction> lowerFunction(func::FuncOp fn) {
  LoweredFunction result;
  Lowerer lowerer;
  if (failed(lowerer.run(fn, result)))
    return failure();
  return result;
}

} // namespace wl
