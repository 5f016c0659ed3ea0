#!/usr/bin/env bash
# Prepare the nested-KVM VM (see README.md): install qemu/busybox/cpio if
# missing, fetch Debian's current amd64 kernel package, extract vmlinuz and
# the modules KVM and virtio-9p need, and build the initramfs.
#
# usage: setup.sh [OUTDIR]      (default: $NESTED_KVM_DIR, else <repo>/build/nested)
#
# Idempotent: re-running only redoes what is missing or out of date.  Exits 0
# when ready, else non-zero with a one-line reason on stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
outdir=${1:-${NESTED_KVM_DIR:-$repo/build/nested}}

die() {
	echo "nested-kvm setup: $*" >&2
	exit 1
}
note() { echo "nested-kvm setup: $*" >&2; }

mkdir -p "$outdir" || die "cannot create $outdir"
outdir=$(cd "$outdir" && pwd)
case $outdir in
*[[:space:],]*) die "OUTDIR must not contain whitespace or commas: $outdir" ;;
esac

as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

# --- host packages --------------------------------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
# Only the static busybox can run alone in the initramfs.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if ((${#missing[@]})); then
	command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
	note "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (need root or passwordless sudo, and network)"
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
fi
busybox=$(command -v busybox || true)
[[ -x $busybox ]] || busybox=/bin/busybox
[[ -x $busybox ]] || die "busybox-static is installed but /bin/busybox is missing"

# --- kernel package ---------------------------------------------------------
kdir=$outdir/kernel
stamp=$kdir/package
have_kernel() { [[ -s $kdir/vmlinuz && -s $kdir/modules/order && -s $stamp ]]; }

resolve_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve_pkg || true)
if [[ -z $pkg ]] && ! have_kernel; then
	note "apt-cache does not know linux-image-amd64; running apt-get update"
	as_root apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve_pkg || true)
fi
if [[ -z $pkg ]]; then
	have_kernel || die "cannot resolve the kernel package behind linux-image-amd64 (apt-cache depends linux-image-amd64)"
	note "cannot resolve linux-image-amd64 now; keeping $(cat "$stamp")"
	pkg=$(cat "$stamp")
fi

# Modules wanted; their dependencies are added from the .ko depends= strings.
want=(kvm kvm-amd kvm-intel 9p 9pnet_virtio virtio_pci)

# Print the modinfo depends= list of a module file (no modinfo needed).
ko_depends() {
	local d
	d=$(grep -a -o -m1 'depends=[^[:cntrl:]]*' "$1" | head -n 1 || true)
	d=${d#depends=}
	echo "${d//,/ }"
}

extract_kernel() {
	local dl=$outdir/download
	rm -rf "$dl"
	mkdir -p "$dl"
	note "downloading $pkg"
	# As root, apt warns that the download is unsandboxed (_apt user): harmless.
	local log=$outdir/download.log
	(cd "$dl" && apt-get download -qq "$pkg") >"$log" 2>&1 ||
		(as_root apt-get update -qq && cd "$dl" && apt-get download -qq "$pkg") >>"$log" 2>&1 ||
		return 1
	local debs=("$dl"/*.deb) deb
	deb=${debs[0]}
	[[ -f $deb ]] || return 1
	dpkg-deb -x "$deb" "$dl/x" || return 1
	local kver vmlinuz vmlinuzes=("$dl"/x/boot/vmlinuz-*)
	vmlinuz=${vmlinuzes[0]}
	[[ -f $vmlinuz ]] || return 1
	kver=${vmlinuz##*/vmlinuz-}
	local mroot=$dl/x/lib/modules/$kver
	[[ -d $mroot ]] || mroot=$dl/x/usr/lib/modules/$kver
	[[ -d $mroot ]] || return 1

	# Index every module file by name (- and _ are equivalent in names).
	declare -A path=()
	local f n
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		path[${n//-/_}]=$f
	done < <(find "$mroot" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')

	# Depth-first: dependencies before dependents.
	declare -A seen=()
	local order=()
	visit() {
		local m=${1//-/_} d
		[[ -n ${seen[$m]:-} ]] && return 0
		seen[$m]=1
		[[ -n ${path[$m]:-} ]] || {
			note "module $1 not found in $pkg"
			return 1
		}
		for d in $(ko_depends "$(plain_ko "${path[$m]}")"); do
			visit "$d" || return 1
		done
		order+=("$m")
	}
	# Modules may be compressed (newer Debian kernels); busybox insmod wants them plain.
	mkdir -p "$dl/plain"
	plain_ko() {
		local src=$1 name=${1##*/}
		name=${name%%.ko*}.ko
		if [[ ! -e $dl/plain/$name ]]; then
			case $src in
			*.ko) cp "$src" "$dl/plain/$name" ;;
			*.xz) xz -dc "$src" >"$dl/plain/$name" ;;
			*.zst) zstd -qdc "$src" >"$dl/plain/$name" ;;
			*.gz) gzip -dc "$src" >"$dl/plain/$name" ;;
			esac
		fi
		echo "$dl/plain/$name"
	}
	local m
	for m in "${want[@]}"; do
		visit "$m" || return 1
	done

	rm -rf "$kdir.new"
	mkdir -p "$kdir.new/modules"
	cp "$vmlinuz" "$kdir.new/vmlinuz"
	for m in "${order[@]}"; do
		cp "$(plain_ko "${path[$m]}")" "$kdir.new/modules/$m.ko"
	done
	printf '%s\n' "${order[@]}" >"$kdir.new/modules/order"
	echo "$kver" >"$kdir.new/release"
	echo "$pkg" >"$kdir.new/package"
	rm -rf "$kdir"
	mv "$kdir.new" "$kdir"
	rm -rf "$dl" "$log"
}

if ! have_kernel || [[ $(cat "$stamp") != "$pkg" ]]; then
	if ! extract_kernel; then
		rm -rf "$outdir/download" "$kdir.new"
		have_kernel || die "could not download/extract $pkg: $(grep -v -e '^$' -e _apt "$outdir/download.log" 2>/dev/null | tail -n 1)"
		note "could not fetch $pkg; keeping $(cat "$stamp")"
	fi
fi

# --- kvmcheck (static, for the initramfs) --------------------------------------
kvmcheck=$outdir/kvmcheck
if [[ ! -x $kvmcheck || $here/kvmcheck.c -nt $kvmcheck ]]; then
	cc=$(command -v cc || command -v gcc || command -v clang || true)
	if [[ -n $cc ]] && "$cc" -O2 -static -o "$kvmcheck.tmp" "$here/kvmcheck.c" 2>/dev/null; then
		mv -f "$kvmcheck.tmp" "$kvmcheck"
	else
		rm -f "$kvmcheck.tmp"
		note "no C compiler/static libc: the VM will only check that /dev/kvm opens"
	fi
fi

# --- initramfs ----------------------------------------------------------------
initrd=$outdir/initramfs.gz
stale=0
[[ -s $initrd ]] || stale=1
for f in "$here/init" "$kdir/modules/order" "$busybox" "$kvmcheck"; do
	[[ -e $f && $f -nt $initrd ]] && stale=1
done
if ((stale)); then
	st=$outdir/initramfs.d
	rm -rf "$st"
	mkdir -p "$st/bin" "$st/lib/nkvm-modules" "$st/proc" "$st/sys" "$st/dev" "$st/newroot"
	cp "$busybox" "$st/bin/busybox"
	cp "$here/init" "$st/init"
	chmod 755 "$st/init"
	cp "$kdir"/modules/* "$st/lib/nkvm-modules/"
	[[ -x $kvmcheck ]] && cp "$kvmcheck" "$st/kvmcheck"
	(cd "$st" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$initrd.tmp") ||
		die "building the initramfs failed"
	mv -f "$initrd.tmp" "$initrd"
	rm -rf "$st"
fi

mkdir -p "$outdir/spool"
echo "nested-kvm setup: ready in $outdir (kernel $(cat "$kdir/release"), from $(cat "$stamp"))"
