#!/usr/bin/env bash
# Installs what building and testing zxhv needs, with apt-get, if it is missing. Idempotent.
# The nested-KVM test VM installs its own extras (scripts/nested-kvm/setup.sh).
set -euo pipefail
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/criterion/criterion.h ] || need+=(libcriterion-dev)
# zxhv run decompresses a bzImage's payload on the host (tools/zxhv/loader_decompress.c).
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -f /usr/include/lzma.h ] || need+=(liblzma-dev)
[ -f /usr/include/zstd.h ] || need+=(libzstd-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
