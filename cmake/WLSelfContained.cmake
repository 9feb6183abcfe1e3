# wl_link_self_contained(<target> <library>...)
#
# Links the static libraries <library>... and everything they link into the
# shared library <target> by file, with MLIR's and LLVM's static archives
# in place of libLLVM.so, so that <target> needs no LLVM or MLIR on the
# machine that loads it. Debian's MLIR targets name the imported target
# `LLVM` (libLLVM.so, LLVM_LINK_LLVM_DYLIB); here it stands for the static
# LLVMSupport and LLVMDemangle, the only LLVM components the compiler uses
# (the link checks it: --no-undefined). System libraries named by the
# archives (z, zstd, rt, dl, m, threads) stay shared and are kept only when
# used (--as-needed); Z3, which only LLVM's SMT solver API needs, is dropped.
#
# Only `wl_*` symbols are exported (cmake/weight-layout.map); the C++ standard
# library is linked statically and hidden, so the library runs beside any
# other libstdc++ (pip PyTorch's, a newer GCC's).
#
# wl_link_static_llvm(<executable> <library>...)
#
# Links <library>... and their closure into <executable> the same way, by
# file with LLVM's static archives, the C++ standard library left shared. A
# tool that starts once per conversion then maps a few MB of the code it
# uses rather than the 130 MB libLLVM.so, which a cold page cache makes
# cost 0.1 s a start (docs/benchmarks.md, "Every mapping"). The include
# directories the libraries would have passed on are the project's, which
# the top-level CMakeLists.txt sets for every target.

function(_wl_imported_location lib out)
  set(loc "")
  get_target_property(configs ${lib} IMPORTED_CONFIGURATIONS)
  if(configs)
    foreach(c IN LISTS configs)
      string(TOUPPER "${c}" c)
      get_target_property(loc ${lib} IMPORTED_LOCATION_${c})
      if(loc)
        break()
      endif()
    endforeach()
  endif()
  if(NOT loc)
    get_target_property(loc ${lib} IMPORTED_LOCATION)
  endif()
  set(${out} "${loc}" PARENT_SCOPE)
endfunction()

# Walks the link closure of `items`, appending archives (files or
# $<TARGET_FILE:...>) to WL_SC_ARCHIVES, system link flags to WL_SC_SYSTEM and
# our own targets to WL_SC_TARGETS (in the caller's scope).
function(_wl_walk_closure)
  set(queue ${ARGN})
  set(seen "")
  set(archives "")
  set(system "")
  set(targets "")
  while(queue)
    list(POP_FRONT queue item)
    # $<LINK_ONLY:x> -> x; other generator expressions are not expected here.
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    if(item STREQUAL "LLVM")
      list(APPEND queue LLVMSupport LLVMDemangle)
      continue()
    endif()
    if(item IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${item}")
    if(TARGET ${item})
      get_target_property(type ${item} TYPE)
      get_target_property(imported ${item} IMPORTED)
      get_target_property(deps ${item} INTERFACE_LINK_LIBRARIES)
      if(deps)
        list(APPEND queue ${deps})
      endif()
      if(type STREQUAL "INTERFACE_LIBRARY")
        continue()
      endif()
      if(imported)
        _wl_imported_location(${item} loc)
        if(loc MATCHES "\\.a$")
          list(APPEND archives "${loc}")
        elseif(item MATCHES "^ZLIB::")
          list(APPEND system -lz)
        elseif(item MATCHES "^zstd::")
          list(APPEND system -lzstd)
        elseif(loc)
          message(FATAL_ERROR "wl_link_self_contained: ${item} is a shared "
                              "library (${loc}); link it statically or not at all")
        endif()
      elseif(type STREQUAL "STATIC_LIBRARY")
        list(APPEND archives "$<TARGET_FILE:${item}>")
        list(APPEND targets ${item})
      endif()
    elseif(item MATCHES "libz3\\.so")
      # LLVM's SMT solver API: not used by the compiler.
    elseif(item MATCHES "^-")
      list(APPEND system "${item}")
    elseif(item MATCHES "^/.*\\.a$")
      list(APPEND archives "${item}")
    elseif(item MATCHES "^/.*\\.so")
      get_filename_component(name "${item}" NAME_WE)
      string(REGEX REPLACE "^lib" "" name "${name}")
      list(APPEND system "-l${name}")
    elseif(item MATCHES "^[A-Za-z0-9_+-]+$")
      list(APPEND system "-l${item}")
    endif()
  endwhile()
  set(WL_SC_ARCHIVES ${archives} PARENT_SCOPE)
  set(WL_SC_SYSTEM ${system} PARENT_SCOPE)
  set(WL_SC_TARGETS ${targets} PARENT_SCOPE)
endfunction()

# Links the archives of the closure of ARGN into target, in one group.
function(_wl_link_closure target)
  _wl_walk_closure(${ARGN})
  list(REMOVE_DUPLICATES WL_SC_SYSTEM)
  add_dependencies(${target} ${WL_SC_TARGETS})
  target_link_libraries(${target} PRIVATE
    -Wl,--start-group ${WL_SC_ARCHIVES} -Wl,--end-group
    -Wl,--as-needed ${WL_SC_SYSTEM} -pthread)
endfunction()

function(wl_link_self_contained target)
  _wl_link_closure(${target} ${ARGN})
  set(map ${PROJECT_SOURCE_DIR}/cmake/weight-layout.map)
  target_link_options(${target} PRIVATE
    -static-libstdc++
    -Wl,--no-undefined
    -Wl,--exclude-libs,ALL
    -Wl,--version-script=${map}
    -Wl,--gc-sections)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${map})
endfunction()

function(wl_link_static_llvm target)
  _wl_link_closure(${target} ${ARGN})
  target_link_options(${target} PRIVATE -Wl,--gc-sections)
endfunction()
