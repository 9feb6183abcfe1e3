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

uint64_t fillBitsOf(PadOp op) {
  auto value = op.getValue();
  if (!value)
    return 0;
  if (auto f = dyn_cast<FloatAttr>(*value))
    return f.getValue().bitcastToAPInt().getZExtValue();
  if (auto i = dyn_cast<IntegerAttr>(*value))
    return maskBits(i.getValue().getZExtValue(), dtypeOf(op.getInput()));
  return 0;
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
      .Case([&](SliceOp o) {
        Shape off(o.getOffsets().begin(), o.getOffsets().end());
        Shape sz(o.getSizes().begin(), o.getSizes().end());
        Shape st(o.getStrides().begin(), o.getStrides().end());
        values[o.getResult()] = sliceRegions(get(o.getInput()), off, sz, st);
        return success();
      })
      .Case([&](ShardOp o) {
        Shape in = shapeOf(o.getInput());
        int64_t d = o.getDim(), chunk = in[d] / o.getCount();
        Regions rs = restrictDim(get(o.getInput()), d, o.getIndex() * chunk,
                                 (o.getIndex() + 1) * chunk);
        shiftDim(rs, d, -o.getIndex() * chunk);
        values[o.getResult()] = std::move(rs);
        return success();
      })
      .Case([&](ConcatOp o) {
        int64_t d = o.getDim(), at = 0;
        Regions rs;
        for (Value v : o.getInputs()) {
          Regions part = get(v);
          shiftDim(part, d, at);
          rs.insert(rs.end(), part.begin(), part.end());
          at += shapeOf(v)[d];
        }
        values[o.getResult()] = std::move(rs);
        return success();
      })
      .Case([&](SplitOp o) {
        int64_t d = o.getDim(), at = 0;
        for (Value r : o.getResults()) {
          int64_t n = shapeOf(r)[d];
          Regions rs = restrictDim(get(o.getInput()), d, at, at + n);
          shiftDim(rs, d, -at);
          values[r] = std::move(rs);
          at += n;
        }
        return success();
      })
      .Case([&](InterleaveOp o) {
        int64_t d = o.getDim(), g = o.getGroups();
        int64_t total = shapeOf(o.getResult())[d], before = 0;
        Regions rs;
        for (Value v : o.getInputs()) {
          int64_t c = shapeOf(v)[d] / g;
          for (int64_t k = 0; k < g; ++k) {
            Regions part = restrictDim(get(v), d, k * c, (k + 1) * c);
            shiftDim(part, d, k * (total / g) + before - k * c);
            rs.insert(rs.end(), part.begin(), part.end());
          }
          before += c;
        }
        values[o.getResult()] = std::move(rs);
        return success();
      })
      .Case([&](DeinterleaveOp o) {
        int64_t d = o.getDim(), g = o.getGroups();
        int64_t total = shapeOf(o.getInput())[d], before = 0;
        for (Value r : o.getResults()) {
          int64_t c = shapeOf(r)[d] / g;
          Regions rs;
          for (int64_t k = 0; k < g; ++k) {
            int64_t from = k * (total / g) + before;
            Regions part = restrictDim(get(o.getInput()), d, from, from + c);
            shiftDim(part, d, k * c - from);
            rs.insert(rs.end(), part.begin(), part.end());
          }
          values[r] = std::move(rs);
          before += c;
        }
        return success();
      })
      .Case([&](ReshapeOp o) {
        values[o.getResult()] = reshapeRegions(
            get(o.getInput()), shapeOf(o.getInput()), shapeOf(o.getResult()));
        return success();
      })
      .Case([&](PermuteOp o) {
        std::vector<int64_t> perm(o.getPerm().begin(), o.getPerm().end());
        values[o.getResult()] = permuteRegions(get(o.getInput()), perm);
        return success();
      })
      .Case([&](StackOp o) {
        int64_t d = o.getDim(), k = 0;
        Regions rs;
        for (Value v : o.getInputs()) {
          Regions part = insertDim(get(v), d, k++);
          rs.insert(rs.end(), part.begin(), part.end());
        }
        values[o.getResult()] = std::move(rs);
        return success();
      })
      .Case([&](UnstackOp o) {
        int64_t d = o.getDim(), k = 0;
        for (Value r : o.getResults()) {
          Regions part = restrictDim(get(o.getInput()), d, k, k + 1);
          shiftDim(part, d, -k);
          values[r] = removeDim(part, d);
          ++k;
        }
        return success();
      })
      .Case([&](PadOp o) {
        int64_t d = o.getDim();
        Shape in = shapeOf(o.getInput()), res = shapeOf(o.getResult());
        Regions rs = get(o.getInput());
        shiftDim(rs, d, o.getLow());
        uint64_t fill = fillBitsOf(o);
        Shape lo(res.size(), 0), size = res;
        if (o.getLow() > 0) {
          size[d] = o.getLow();
          rs.push_back(fillRegion(lo, size, fill));
        }
        if (o.getHigh() > 0) {
          lo[d] = o.getLow() + in[d];
          size[d] = o.getHigh();
          rs.push_back(fillRegion(lo, size, fill));
        }
        values[o.getResult()] = std::move(rs);
        return success();
      })
      .Case([&](CastOp o) {
        DType from = dtypeOf(o.getInput()), to = dtypeOf(o.getResult());
        Regions rs = get(o.getInput());
        for (layout::Region &r : rs) {
          if (from == to)
            continue;
          if (r.source < 0)
            r.fillBits = castBits(r.fillBits, from, to);
          else
            r.steps.push_back({Step::Cast, from, to, 1.0, 0.0});
        }
        values[o.getResult()] = std::move(rs);
        return success();
      })
      .Case([&](AffineOp o) {
        DType t = dtypeOf(o.getInput());
        double scale = o.getScaleAttr().getValueAsDouble();
        double offset = o.getOffsetAttr().getValueAsDouble();
        Regions rs = get(o.getInput());
        for (layout::Region &r : rs) {
          if (scale == 1.0 && offset == 0.0)
            continue;
          if (r.source < 0)
            r.fillBits = affineBits(r.fillBits, t, scale, offset);
          else
            r.steps.push_back({Step::Affine, t, t, scale, offset});
        }
        values[o.getResult()] = std::move(rs);
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
