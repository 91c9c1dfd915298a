# cmake -DNM=… -DOBJCOPY=… [-DREADELF=…] -DINPUT=a.o -DOUTPUT=b.o -DKEEP=symbol -DSUFFIX=.avx512 -P isolate_object.cmake
#
# Copies an object file with every symbol it defines renamed NAME → NAME${SUFFIX}, except KEEP. Run on an object compiled for a wider instruction set (core/kernels/gemm_avx512.cpp):
# its inline functions and template instantiations (Eigen's, the standard library's) have the
# same names as the baseline objects' copies, and the linker would otherwise keep one copy of
# each for the whole program — possibly the AVX-512 one, which then runs, and faults, on a CPU
# without AVX-512. Renamed, the COMDAT groups no longer match, and every copy stays with its
# object; only KEEP (the entry point) is called from outside.
foreach(var NM OBJCOPY INPUT OUTPUT KEEP SUFFIX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "isolate_object.cmake: ${var} is not set")
  endif()
endforeach()
execute_process(COMMAND "${NM}" --defined-only "${INPUT}" OUTPUT_VARIABLE listing RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "isolate_object.cmake: ${NM} failed on ${INPUT}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(renames "")
set(kept FALSE)
foreach(line IN LISTS lines)
  # "address type name", any type: global ones (T, W, V, D, B, R, u) and local ones too, for a
  # COMDAT group's signature can be a local symbol (GCC's C5/D5 groups of a constructor's or
  # destructor's variants are signed by one): left alone, the linker would keep the baseline's
  # group of that name and drop this object's, whose renamed constructors would then be missing.
  if(line MATCHES "^[0-9a-fA-F]* ([A-Za-z]) (.+)$")
    set(name "${CMAKE_MATCH_2}")
    if(name STREQUAL KEEP)
      set(kept TRUE)
    else()
      string(APPEND renames "${name} ${name}${SUFFIX}\n")
    endif()
  endif()
endforeach()
if(NOT kept)
  message(FATAL_ERROR "isolate_object.cmake: ${INPUT} does not define ${KEEP}")
endif()
file(WRITE "${OUTPUT}.renames" "${renames}")
execute_process(COMMAND "${OBJCOPY}" "--redefine-syms=${OUTPUT}.renames" "${INPUT}" "${OUTPUT}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "isolate_object.cmake: ${OBJCOPY} failed on ${INPUT}")
endif()
# Every COMDAT group must now be signed by a renamed symbol, or the linker could still merge it.
if(READELF)
  execute_process(COMMAND "${READELF}" -g "${OUTPUT}" OUTPUT_VARIABLE groups RESULT_VARIABLE status)
  string(REGEX MATCHALL "COMDAT group section [^\n]*" groups "${groups}")
  foreach(group IN LISTS groups)
    if(NOT group MATCHES "\\[[^]]*${SUFFIX}\\] contains")
      file(REMOVE "${OUTPUT}")
      message(FATAL_ERROR "isolate_object.cmake: a COMDAT group of ${INPUT} kept its name: ${group}")
    endif()
  endforeach()
endif()
