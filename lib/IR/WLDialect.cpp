//===- WLDialect.cpp - the wl dialect -------------------------------------===//
#include "wl/IR/WLDialect.h"

#include "wl/IR/WLOps.h"

#include "wl/IR/WLDialect.cpp.inc"

void wl::WLDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "wl/IR/WLOps.cpp.inc"
      >();
}
