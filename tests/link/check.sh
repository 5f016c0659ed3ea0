#!/usr/bin/env bash
# Builds tests/link/public_headers.c as an outside user would: C11 and C++ (pedantic), only
# -Iinclude, linked statically against libzxhv.a and dynamically against libzxhv.so; runs each.
set -euo pipefail
src=$1 build=$2 out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$src/include" "$src/tests/link/public_headers.c" \
  "$build/libzxhv.a" -lpthread -o "$out/static"
"$out/static"
cc -std=c11 -Wall -Wextra -Werror -I"$src/include" "$src/tests/link/public_headers.c" \
  -L"$build" -lzxhv -lpthread -Wl,-rpath,"$build" -o "$out/shared"
"$out/shared"
if command -v c++ >/dev/null; then
  c++ -std=c++17 -Wall -Wextra -Werror -x c++ -I"$src/include" "$src/tests/link/public_headers.c" \
    -x none "$build/libzxhv.a" -lpthread -o "$out/cxx"
  "$out/cxx"
fi
# Nothing but the zx_/zxhv_ API may be exported by the shared library.
extra=$(nm -D --defined-only "$build/libzxhv.so" | awk '{print $3}' | grep -vE '^(zx_|zxhv_|_init$|_fini$)' || true)
if [ -n "$extra" ]; then
  echo "libzxhv.so exports more than the API: $extra" >&2
  exit 1
fi
echo "link check: ok"
