#!/usr/bin/env bash
# Fetches the Linux kernel `make test-linux` boots under `zxhv run`: Debian's current x86-64
# kernel, the package linux-image-amd64 depends on, as the nested-KVM VM does
# (scripts/nested-kvm/setup.sh). When that VM's set-up already holds the same package, its
# vmlinuz is reused and nothing is downloaded.
#
# usage: get-linux.sh [OUTDIR]      (default: <repo>/build/linux; nothing there is committed)
#
# Leaves OUTDIR/vmlinuz, OUTDIR/release (e.g. 6.1.0-56-amd64) and OUTDIR/package. Idempotent:
# it downloads again only when linux-image-amd64 points to another package. Exits 0 when
# ready, else non-zero with a one-line reason on stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
outdir=${1:-$repo/build/linux}
nested=${NESTED_KVM_DIR:-$repo/build/nested}/kernel

die() {
	echo "get-linux: $*" >&2
	exit 1
}
note() { echo "get-linux: $*" >&2; }

mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)

as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

have() { [[ -s $outdir/vmlinuz && -s $outdir/release && -s $outdir/package ]]; }

# The versioned package behind the linux-image-amd64 meta-package.
resolve_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
command -v apt-cache >/dev/null || { have && exit 0; die "no apt-cache: cannot find Debian's kernel"; }
pkg=$(resolve_pkg || true)
if [[ -z $pkg ]]; then
	note "apt-cache does not know linux-image-amd64; running apt-get update"
	as_root apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve_pkg || true)
fi
if [[ -z $pkg ]]; then
	have || die "cannot resolve the kernel package behind linux-image-amd64"
	note "cannot resolve linux-image-amd64 now; keeping $(cat "$outdir/package")"
	exit 0
fi
if have && [[ $(cat "$outdir/package") == "$pkg" ]]; then
	exit 0
fi

install_kernel() { # VMLINUZ RELEASE
	cp "$1" "$outdir/vmlinuz.tmp" && mv -f "$outdir/vmlinuz.tmp" "$outdir/vmlinuz" &&
		echo "$2" >"$outdir/release" && echo "$pkg" >"$outdir/package"
}

# The nested-KVM VM's copy of the same package.
if [[ -s $nested/vmlinuz && -s $nested/release && $(cat "$nested/package" 2>/dev/null) == "$pkg" ]]; then
	install_kernel "$nested/vmlinuz" "$(cat "$nested/release")" || die "cannot copy $nested/vmlinuz"
	note "$pkg: reused $nested/vmlinuz"
	exit 0
fi

dl=$outdir/download
rm -rf "$dl"
mkdir -p "$dl"
note "downloading $pkg"
# As root, apt warns that the download is unsandboxed (_apt user): harmless.
if ! (cd "$dl" && apt-get download -qq "$pkg") >"$dl.log" 2>&1 &&
	! (as_root apt-get update -qq && cd "$dl" && apt-get download -qq "$pkg") >>"$dl.log" 2>&1; then
	reason=$(grep -v -e '^$' -e _apt "$dl.log" | tail -n 1)
	rm -rf "$dl" "$dl.log"
	have && { note "could not download $pkg ($reason); keeping $(cat "$outdir/package")"; exit 0; }
	die "could not download $pkg: $reason"
fi
debs=("$dl"/*.deb)
dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$dl" --wildcards './boot/vmlinuz-*' ||
	die "no /boot/vmlinuz-* in ${debs[0]}"
vmlinuzes=("$dl"/boot/vmlinuz-*)
[[ -f ${vmlinuzes[0]} ]] || die "no /boot/vmlinuz-* in ${debs[0]}"
install_kernel "${vmlinuzes[0]}" "${vmlinuzes[0]##*/vmlinuz-}" || die "cannot write $outdir"
rm -rf "$dl" "$dl.log"
note "$pkg: $outdir/vmlinuz"
