//===- WLDialect.h - the wl dialect -----------------------------*- C++ -*-===//
#ifndef WL_IR_WLDIALECT_H
#define WL_IR_WLDIALECT_H

#include "mlir/IR/Dialect.h"

#include "wl/IR/WLDialect.h.inc"

#endif // WL_IR_WLDIALECT_H
