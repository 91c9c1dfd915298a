# attn_version: an interface target whose users can include "attn_version.h" — the project's
# version (project(VERSION)) and, in a git checkout, the commit built. The header is rewritten
# at every build only when its text changes, so a new commit shows without reconfiguring and
# nothing recompiles otherwise. Without git, or outside a checkout, the hash is left out.
find_package(Git QUIET)
set(ATTN_VERSION_HEADER ${PROJECT_BINARY_DIR}/generated/attn_version.h)
add_custom_target(attn_version_header
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DVERSION=${PROJECT_VERSION}
          -DGIT=${GIT_EXECUTABLE} -DOUT=${ATTN_VERSION_HEADER}
          -P ${PROJECT_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${ATTN_VERSION_HEADER}
  COMMENT "" VERBATIM)
add_library(attn_version INTERFACE)
target_include_directories(attn_version INTERFACE ${PROJECT_BINARY_DIR}/generated)
add_dependencies(attn_version attn_version_header)
