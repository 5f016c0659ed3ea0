#!/usr/bin/env bash
# A long guest-fuzzer campaign in the nested-KVM VM: the standalone driver (gcc, ASan, UBSan) over
# RUNS generated guests of seed SEED, starting at input FIRST. QEMU's emulation of nested paging
# can abort the whole VM on a guest's wild page tables (docs/host-differences.md §1.2); the script
# then notes the input it was running, restarts the VM and goes on after it. Any other failure of
# the fuzzer stops the campaign (its input is saved as crash-SEED-INDEX in the current directory).
# Usage: fuzz/guest-campaign.sh [SEED] [RUNS] [FIRST]; the log goes to
# build/fuzz-campaign/guest-SEED.log (BUILD overrides build/).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
seed=${1:-3} runs=${2:-100000} next=${3:-0}
first=$next
out=$build/fuzz-campaign
mkdir -p "$out"
log=$out/guest-$seed.log
export NESTED_KVM_TIMEOUT=${NESTED_KVM_TIMEOUT:-40000} ZXHV_FUZZ_VERBOSE=1
export ZXHV_FUZZ_TIME_SCALE=${ZXHV_FUZZ_TIME_SCALE:-4}
cmake --build "$build" --target fuzz_guest_smoke >/dev/null || exit 1
deaths=0
while ((next < runs)); do
	bash "$root/scripts/nested-kvm/vm.sh" status >/dev/null 2>&1 || bash "$root/scripts/nested-kvm/vm.sh" start || exit 1
	echo "== $(date -u +%FT%TZ) seed $seed from input $next" >>"$log"
	"$root/tests/kvm-launch" "$build/tests/fuzz_guest_smoke" --seed "$seed" --skip "$next" \
		--runs $((runs - next)) --time 1000000 --max-len 1024 >"$out/cur.out" 2>"$out/cur.err"
	rc=$?
	last=$(grep -o '^input [0-9]*' "$out/cur.err" | tail -n 1 | cut -d' ' -f2)
	grep -v '^input ' "$out/cur.err" >>"$log"
	cat "$out/cur.out" >>"$log"
	echo "== $(date -u +%FT%TZ) exit status $rc, last input ${last:-none}" >>"$log"
	((rc == 0)) && break
	if [[ -n $last ]] && grep -q "VM died" "$out/cur.err"; then
		deaths=$((deaths + 1))
		echo "VM-DEATH seed $seed input $last" >>"$log"
		next=$((last + 1))
		continue
	fi
	echo "== the fuzzer failed (exit status $rc): campaign stopped" >>"$log"
	exit 1
done
echo "== done: seed $seed, inputs up to $runs, $deaths VM deaths" >>"$log"
echo "guests: $((runs - first - deaths)) of inputs $first to $((runs - 1)) ran to the end" >>"$log"
tail -n 2 "$log"
