#!/usr/bin/env bash
# `make fuzz`: builds the fuzzers with clang and libFuzzer (ASan+UBSan) in BUILD and runs them
# for SECONDS each: the syscall fuzzer (no guests without KVM) and the device fuzzer natively,
# then, through tests/kvm-launch when KVM is reachable (the host's /dev/kvm or the nested VM), the
# syscall fuzzer with guests and the guest fuzzer. Corpora start from fuzz/corpus/*; new inputs go
# to BUILD/corpus/*, crashes to BUILD/artifacts/. Usage: fuzz/run.sh [BUILD] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
seconds=${2:-600}
command -v clang >/dev/null || { echo "make fuzz needs clang with libFuzzer (apt-get install clang)" >&2; exit 2; }
CC=clang cmake -S "$root/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
mkdir -p "$build/corpus/syscalls" "$build/corpus/guest" "$build/corpus/devices" "$build/artifacts"

echo "== syscall fuzzer, host (${seconds}s)"
"$build/fuzz_syscalls" -max_total_time="$seconds" -max_len=512 -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/" "$build/corpus/syscalls" "$root/fuzz/corpus/syscalls"

echo "== device fuzzer, host (${seconds}s)"
"$build/fuzz_devices" -max_total_time="$seconds" -max_len=2048 -timeout=30 -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/devices-" "$build/corpus/devices" "$root/fuzz/corpus/devices"

probe=$("$root/tests/kvm-launch" /bin/sh -c 'test -c /dev/kvm && echo yes' 2>/dev/null || true)
if [[ $probe != yes ]]; then
	echo "== no KVM reachable: the guest campaigns are skipped"
	exit 0
fi
# Inside the nested VM everything is 10-50 times slower: stretch the fuzzers' time budgets.
[[ -c /dev/kvm ]] || export ZXHV_FUZZ_TIME_SCALE=${ZXHV_FUZZ_TIME_SCALE:-4}
export NESTED_KVM_TIMEOUT=$((seconds * 2 + 300))
echo "== syscall fuzzer, with guests (${seconds}s)"
"$root/tests/kvm-launch" "$build/fuzz_syscalls" -max_total_time="$seconds" -max_len=512 \
	-print_final_stats=1 -artifact_prefix="$build/artifacts/kvm-" "$build/corpus/syscalls"
echo "== guest fuzzer (${seconds}s)"
"$root/tests/kvm-launch" "$build/fuzz_guest" -max_total_time="$seconds" -max_len=1024 \
	-print_final_stats=1 -artifact_prefix="$build/artifacts/" "$build/corpus/guest" "$root/fuzz/corpus/guest"
