# Optional parts of weight-layout switch on when their dependency is present and
# can be forced off with -DWL_ENABLE_<PART>=OFF. Nothing here is required to
# build the compiler and the CPU runtime.
#
#   WL_HAVE_TORCH  libtorch (Debian's libtorch-dev, CPU) for the embedding API
#   WL_HAVE_CUDA   the CUDA toolkit at /usr/local/cuda for the CUDA executor;
#                  CUDA code compiles without a GPU, GPU tests skip at run time

option(WL_ENABLE_TORCH "Build the libtorch embedding API when libtorch is found" ON)
option(WL_ENABLE_CUDA "Build the CUDA executor when the CUDA toolkit is found" ON)

set(WL_HAVE_TORCH OFF)
if(WL_ENABLE_TORCH)
  find_package(Torch QUIET CONFIG
    HINTS /usr/share/cmake/Torch /usr/lib/x86_64-linux-gnu/cmake/Torch)
  if(Torch_FOUND)
    set(WL_HAVE_TORCH ON)
  endif()
endif()

set(WL_HAVE_CUDA OFF)
if(WL_ENABLE_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(WL_HAVE_CUDA ON)
    # Hopper (H100, H200) machine code, and PTX for newer GPUs.
    set(WL_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING
        "CUDA architectures of the CUDA executor")
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
  endif()
endif()
