//===- Interpreter.cpp - the reference interpreter of wl ------------------===//
#include "wl/Interpreter/Interpreter.h"

#include "wl/IR/WLOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace wl::interp {

using namespace wl::eval;

FailureOr<std::map<std::string, Tensor>>
interpret(func::FuncOp fn, const std::map<std::string, Tensor> &sources) {
  llvm::DenseMap<Value, Tensor> env;
  std::map<std::string, Tensor> targets;
  for (Operation &op : fn.getBody().getOps()) {
    LogicalResult ok =
        llvm::TypeSwitch<Operation *, LogicalResult>(&op)
            .Case([&](SourceOp o) -> LogicalResult {
              auto it = sources.find(o.getName().str());
              auto type = cast<RankedTensorType>(o.getType());
              if (it == sources.end() ||
                  it->second.shape != Coords(type.getShape().begin(),
                                             type.getShape().end()) ||
                  it->second.elementType != type.getElementType())
                return o.emitOpError("has no matching input tensor");
              env[o.getResult()] = it->second;
              return success();
            })
            .Case([&](SinkOp o) {
              const Tensor &v = env[o.getInput()];
              auto full = o.getTargetShapeOrInput();
              auto off = o.getOffsetsOrZero();
              auto [it, inserted] = targets.try_emplace(o.getName().str());
              Tensor &t = it->second;
              if (inserted) {
                t.elementType = v.elementType;
                t.shape.assign(full.begin(), full.end());
                t.bits.assign(count(t.shape), 0);
              }
              for (int64_t i = 0; i < (int64_t)v.bits.size(); ++i) {
                Coords c = unflat(v.shape, i);
                for (size_t d = 0; d < c.size(); ++d)
                  c[d] += off[d];
                t.bits[flat(t.shape, c)] = v.bits[i];
              }
              return success();
            })
            .Case([&](DataMovementOp o) {
              // Each op computes its elements itself (lib/IR/*Ops.cpp).
              SmallVector<Tensor> operands;
              for (Value v : op.getOperands())
                operands.push_back(env[v]);
              SmallVector<Tensor> results = o.evaluate(operands);
              for (auto [r, t] : llvm::zip(op.getResults(), results))
                env[r] = std::move(t);
              return success();
            })
            .Case([&](func::ReturnOp) { return success(); })
            .Default([&](Operation *other) {
              return other->emitOpError("is not a wl op");
            });
    if (failed(ok))
      return failure();
  }
  return targets;
}

} // namespace wl::interp
