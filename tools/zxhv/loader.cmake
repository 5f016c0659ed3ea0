# The image loaders (loader.h), a static library the zxhv command links. A bzImage's payload is
# decompressed on the host (loader_decompress.c) with zlib, liblzma and libzstd.
find_package(PkgConfig REQUIRED)
# GLOBAL: the tests (another directory) link them too.
pkg_check_modules(ZXHV_ZLIB REQUIRED IMPORTED_TARGET GLOBAL zlib)
pkg_check_modules(ZXHV_LZMA REQUIRED IMPORTED_TARGET GLOBAL liblzma)
pkg_check_modules(ZXHV_ZSTD REQUIRED IMPORTED_TARGET GLOBAL libzstd)

set(ZXHV_LOADER_SOURCES loader.c loader_linux.c loader_decompress.c loader_acpi.c)
list(TRANSFORM ZXHV_LOADER_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
set(ZXHV_LOADER_LIBS PkgConfig::ZXHV_ZLIB PkgConfig::ZXHV_LZMA PkgConfig::ZXHV_ZSTD)

add_library(zxhv_loader STATIC ${ZXHV_LOADER_SOURCES})
target_include_directories(zxhv_loader PUBLIC ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_LIST_DIR})
target_compile_options(zxhv_loader PRIVATE ${ZXHV_WARNINGS})
target_link_libraries(zxhv_loader PUBLIC ${ZXHV_LOADER_LIBS})

# zxhv_loader_test(NAME SOURCES file.c...), for tests/CMakeLists.txt: zxhv_test() with the loader
# sources compiled into the test itself, so that its asan: variant runs the loaders under
# ASan+UBSan too (they parse hostile images).
set_property(GLOBAL PROPERTY ZXHV_LOADER_SOURCES ${ZXHV_LOADER_SOURCES})
set_property(GLOBAL PROPERTY ZXHV_LOADER_LIBS ${ZXHV_LOADER_LIBS})
set_property(GLOBAL PROPERTY ZXHV_LOADER_DIR ${CMAKE_CURRENT_LIST_DIR})
function(zxhv_loader_test name)
  get_property(sources GLOBAL PROPERTY ZXHV_LOADER_SOURCES)
  get_property(libs GLOBAL PROPERTY ZXHV_LOADER_LIBS)
  get_property(dir GLOBAL PROPERTY ZXHV_LOADER_DIR)
  zxhv_test(${name} ${ARGN} ${sources})
  foreach(exe test_${name} test_${name}_asan)
    target_include_directories(${exe} PRIVATE ${dir})
    target_link_libraries(${exe} PRIVATE ${libs})
    # Where a test may find a real kernel (build/linux, build/nested; scripts/get-linux.sh).
    target_compile_definitions(${exe} PRIVATE ZXHV_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  endforeach()
endfunction()
