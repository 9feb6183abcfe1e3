//===- HostDevice.h - functions compiled for the host and the GPU -*- C++ -*-===//
//
// WL_HD marks a function that the CUDA kernels and the host (the task
// table's emulation, the unit tests) both run, from one definition: under
// nvcc it is __host__ __device__, in a host compiler a plain inline.
//
//===----------------------------------------------------------------------===//
#ifndef WL_CUDA_HOSTDEVICE_H
#define WL_CUDA_HOSTDEVICE_H

#ifdef __CUDACC__
#define WL_HD __host__ __device__ __forceinline__
#else
#define WL_HD inline
#endif

#endif // WL_CUDA_HOSTDEVICE_H
