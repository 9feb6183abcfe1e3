//===- Interpreter.cpp - the reference interpreter of wl ------------------===//
#include "wl/Interpreter/Interpreter.h"

#include "wl/IR/WLOps.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using llvm::APFloat;
using llvm::APInt;

namespace wl::interp {

namespace {

using Coords = std::vector<int64_t>;

int64_t count(const Coords &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

Coords unflat(const Coords &shape, int64_t i) {
  Coords c(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

int64_t flat(const Coords &shape, const Coords &c) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    i = i * shape[d] + c[d];
  return i;
}

Tensor make(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  Tensor r{t.getElementType(), Coords(t.getShape().begin(), t.getShape().end()),
           {}};
  r.bits.assign(count(r.shape), 0);
  return r;
}

/// Fills `r` with f(result coordinates) = the element's bits.
template <typename F> void fill(Tensor &r, F f) {
  for (int64_t i = 0; i < (int64_t)r.bits.size(); ++i)
    r.bits[i] = f(unflat(r.shape, i));
}

uint64_t at(const Tensor &t, const Coords &c) { return t.bits[flat(t.shape, c)]; }

const llvm::fltSemantics &semantics(Type t) {
  return cast<FloatType>(t).getFloatSemantics();
}

unsigned width(Type t) { return t.getIntOrFloatBitWidth(); }

APFloat toFloat(uint64_t bits, Type t) {
  return APFloat(semantics(t), APInt(width(t), bits));
}

uint64_t convertElement(uint64_t bits, Type from, Type to) {
  if (from == to)
    return bits;
  if (isa<FloatType>(from)) {
    APFloat v = toFloat(bits, from);
    bool lost;
    v.convert(semantics(to), APFloat::rmNearestTiesToEven, &lost);
    return v.bitcastToAPInt().getZExtValue();
  }
  auto it = cast<IntegerType>(from);
  bool isSigned = !it.isUnsigned() && it.getWidth() > 1;
  APInt value(it.getWidth(), bits);
  if (isa<FloatType>(to)) {
    APFloat v(semantics(to));
    v.convertFromAPInt(value, isSigned, APFloat::rmNearestTiesToEven);
    return v.bitcastToAPInt().getZExtValue();
  }
  unsigned w = width(to);
  APInt r = isSigned ? value.sextOrTrunc(w) : value.zextOrTrunc(w);
  return r.getZExtValue();
}

uint64_t affineElement(uint64_t bits, Type t, double scale, double offset) {
  const llvm::fltSemantics &compute =
      t.isF64() ? APFloat::IEEEdouble() : APFloat::IEEEsingle();
  bool lost;
  APFloat x = toFloat(bits, t);
  x.convert(compute, APFloat::rmNearestTiesToEven, &lost);
  if (scale != 1.0) {
    APFloat s(scale);
    s.convert(compute, APFloat::rmNearestTiesToEven, &lost);
    x.multiply(s, APFloat::rmNearestTiesToEven);
  }
  if (offset != 0.0) {
    APFloat o(offset);
    o.convert(compute, APFloat::rmNearestTiesToEven, &lost);
    x.add(o, APFloat::rmNearestTiesToEven);
  }
  x.convert(semantics(t), APFloat::rmNearestTiesToEven, &lost);
  return x.bitcastToAPInt().getZExtValue();
}

} // namespace

FailureOr<std::map<std::string, Tensor>>
interpret(func::FuncOp fn, const std::map<std::string, Tensor> &sources) {
  llvm::DenseMap<Value, Tensor> env;
  std::map<std::string, Tensor> targets;
  for (Operation &op : fn.getBody().getOps()) {
    LogicalResult ok =
        llvm::TypeSwitch<Operation *, LogicalResult>(&op)
            .Case([&](SourceOp o) -> LogicalResult {
              auto it = sources.find(o.getName().str());
              Tensor r = make(o.getResult());
              if (it == sources.end() || it->second.shape != r.shape ||
                  it->second.elementType != r.elementType)
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
            .Case([&](SliceOp o) {
              const Tensor &x = env[o.getInput()];
              Tensor r = make(o.getResult());
              fill(r, [&](Coords c) {
                for (size_t d = 0; d < c.size(); ++d)
                  c[d] = o.getOffsets()[d] + c[d] * o.getStrides()[d];
                return at(x, c);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](ShardOp o) {
              const Tensor &x = env[o.getInput()];
              Tensor r = make(o.getResult());
              int64_t d = o.getDim(), chunk = r.shape[d];
              fill(r, [&](Coords c) {
                c[d] += o.getIndex() * chunk;
                return at(x, c);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](ConcatOp o) {
              Tensor r = make(o.getResult());
              int64_t d = o.getDim();
              fill(r, [&](Coords c) {
                for (Value v : o.getInputs()) {
                  const Tensor &x = env[v];
                  if (c[d] < x.shape[d])
                    return at(x, c);
                  c[d] -= x.shape[d];
                }
                return uint64_t(0);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](SplitOp o) {
              const Tensor &x = env[o.getInput()];
              int64_t d = o.getDim(), before = 0;
              for (Value res : o.getResults()) {
                Tensor r = make(res);
                fill(r, [&](Coords c) {
                  c[d] += before;
                  return at(x, c);
                });
                before += r.shape[d];
                env[res] = r;
              }
              return success();
            })
            .Case([&](InterleaveOp o) {
              Tensor r = make(o.getResult());
              int64_t d = o.getDim(), g = o.getGroups();
              int64_t per = r.shape[d] / g;
              fill(r, [&](Coords c) {
                int64_t group = c[d] / per, w = c[d] % per;
                for (Value v : o.getInputs()) {
                  const Tensor &x = env[v];
                  int64_t chunk = x.shape[d] / g;
                  if (w < chunk) {
                    c[d] = group * chunk + w;
                    return at(x, c);
                  }
                  w -= chunk;
                }
                return uint64_t(0);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](DeinterleaveOp o) {
              const Tensor &x = env[o.getInput()];
              int64_t d = o.getDim(), g = o.getGroups();
              int64_t per = x.shape[d] / g, before = 0;
              for (Value res : o.getResults()) {
                Tensor r = make(res);
                int64_t chunk = r.shape[d] / g;
                fill(r, [&](Coords c) {
                  int64_t group = c[d] / chunk, w = c[d] % chunk;
                  c[d] = group * per + before + w;
                  return at(x, c);
                });
                before += chunk;
                env[res] = r;
              }
              return success();
            })
            .Case([&](ReshapeOp o) {
              Tensor r = make(o.getResult());
              r.bits = env[o.getInput()].bits;
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](PermuteOp o) {
              const Tensor &x = env[o.getInput()];
              Tensor r = make(o.getResult());
              fill(r, [&](const Coords &c) {
                Coords xc(c.size());
                for (size_t k = 0; k < c.size(); ++k)
                  xc[o.getPerm()[k]] = c[k];
                return at(x, xc);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](StackOp o) {
              Tensor r = make(o.getResult());
              int64_t d = o.getDim();
              fill(r, [&](Coords c) {
                int64_t k = c[d];
                c.erase(c.begin() + d);
                return at(env[o.getInputs()[k]], c);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](UnstackOp o) {
              const Tensor &x = env[o.getInput()];
              int64_t d = o.getDim(), k = 0;
              for (Value res : o.getResults()) {
                Tensor r = make(res);
                fill(r, [&](Coords c) {
                  c.insert(c.begin() + d, k);
                  return at(x, c);
                });
                env[res] = r;
                ++k;
              }
              return success();
            })
            .Case([&](PadOp o) {
              const Tensor &x = env[o.getInput()];
              Tensor r = make(o.getResult());
              int64_t d = o.getDim(), low = o.getLow();
              uint64_t value = 0;
              if (auto v = o.getValue()) {
                if (auto f = dyn_cast<FloatAttr>(*v))
                  value = f.getValue().bitcastToAPInt().getZExtValue();
                else
                  value = cast<IntegerAttr>(*v).getValue().getZExtValue();
              }
              fill(r, [&](Coords c) {
                if (c[d] < low || c[d] >= low + x.shape[d])
                  return value;
                c[d] -= low;
                return at(x, c);
              });
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](CastOp o) {
              const Tensor &x = env[o.getInput()];
              Tensor r = make(o.getResult());
              for (size_t i = 0; i < r.bits.size(); ++i)
                r.bits[i] =
                    convertElement(x.bits[i], x.elementType, r.elementType);
              env[o.getResult()] = r;
              return success();
            })
            .Case([&](AffineOp o) {
              const Tensor &x = env[o.getInput()];
              Tensor r = make(o.getResult());
              double s = o.getScaleAttr().getValueAsDouble();
              double b = o.getOffsetAttr().getValueAsDouble();
              for (size_t i = 0; i < r.bits.size(); ++i)
                r.bits[i] = affineElement(x.bits[i], x.elementType, s, b);
              env[o.getResult()] = r;
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
