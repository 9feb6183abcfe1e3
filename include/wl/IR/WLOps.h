//===- WLOps.h - operations of the wl dialect -------------------*- C++ -*-===//
#ifndef WL_IR_WLOPS_H
#define WL_IR_WLOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "wl/IR/WLDialect.h"
#include "wl/IR/WLInterfaces.h"

#define GET_OP_CLASSES
#include "wl/IR/WLOps.h.inc"

#endif // WL_IR_WLOPS_H
