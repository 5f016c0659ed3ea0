#!/usr/bin/env bash
# make bench: runs BUILD/bench/zxhv_bench where KVM is, prints its table and writes
# bench/results.json.  usage: bench/run.sh BUILD [QUICK]
#  - the host's /dev/kvm opens read-write -> run here;
#  - else the nested-KVM VM (scripts/nested-kvm) runs it: a VM already running is used as it is;
#    otherwise one is set up and started here, and stopped again at the end.
# The benchmark prints its JSON after its table (the VM cannot write into the checkout); this
# script splits the two.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:?usage: bench/run.sh BUILD [QUICK]}" && pwd)
quick=${2:-}
exe=$build/bench/zxhv_bench
[[ -x $exe ]] || { echo "bench: $exe is not built" >&2; exit 1; }
args=(--json -)
[[ -n $quick && $quick != 0 ]] && args+=(--quick)

host_kvm_usable() { [[ -c /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null; }

vm_dir=$build/bench-vm  # the fixture's marker: a VM started here is stopped here
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
where="host: ${cpu:-?}, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
if ! host_kvm_usable; then
  if ! bash "$root/scripts/nested-kvm/vm.sh" status >/dev/null 2>&1; then
    echo "bench: no /dev/kvm here, no nested-KVM VM running: starting one (scripts/nested-kvm)" >&2
    bash "$root/tests/nested-vm-fixture" start "$vm_dir" >&2
    trap 'bash "$root/tests/nested-vm-fixture" stop "$vm_dir"' EXIT
  fi
  vm_cpu=$(cat "${NESTED_KVM_DIR:-$root/build/nested}/cpu" 2>/dev/null || echo '?')
  where="nested VM (QEMU TCG -cpu $vm_cpu) on $where"
fi

out=$(mktemp)
rc=0
ZXHV_BENCH_HOST=$where NESTED_KVM_TIMEOUT=${NESTED_KVM_TIMEOUT:-3600} \
  bash "$root/tests/kvm-launch" "$exe" "${args[@]}" >"$out" || rc=$?
sed '/^@@json@@$/,$d' "$out"
if ((rc == 0)) && grep -q '^@@json@@$' "$out"; then
  sed '1,/^@@json@@$/d' "$out" >"$root/bench/results.json"
  echo
  echo "bench: wrote bench/results.json"
fi
rm -f "$out"
exit "$rc"
