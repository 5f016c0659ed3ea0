#!/usr/bin/env bash
# Rewrites the two tables of docs/robustness.md from what the calls return now
# (tests/robustness_table.c): the host table natively, the guest table through tests/kvm-launch.
# Usage: fuzz/update-robustness-table.sh BUILD  (a configured and built tree, e.g. build-robust)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: update-robustness-table.sh BUILD}
bin=$build/tests/robustness_table
doc=$root/docs/robustness.md
host=$(mktemp) kvm=$(mktemp)
trap 'rm -f "$host" "$kvm"' EXIT
"$bin" host >"$host"
"$root/tests/kvm-launch" "$bin" kvm >"$kvm" || { echo "no KVM: the guest table is left as it is" >&2; : >"$kvm"; }
python3 - "$doc" "$host" "$kvm" <<'PY'
import sys
doc, host, kvm = sys.argv[1:]
text = open(doc).read()
header = "| call | bad input | status |\n|---|---|---|\n"
for name, path in (("host", host), ("kvm", kvm)):
    rows = open(path).read()
    if not rows:
        continue
    begin = "<!-- robustness-table:%s -->\n" % name
    end = "<!-- /robustness-table -->"
    a = text.index(begin) + len(begin)
    b = text.index(end, a)
    text = text[:a] + header + rows + text[b:]
open(doc, "w").write(text)
PY
echo "updated $doc"
