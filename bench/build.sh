#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench-build` (part of `make bench`): image builds by sbs next to
# `buildah bud --isolation chroot --layers` in the same run, and our layer
# packer next to `tar -cf - | pigz | sha256sum`.
#
#   bench/build.sh TEST_IMAGE PACK
#     TEST_IMAGE: build/<target>/tests/test_image (the build engine without
#     sbsd: `test_image build CTX DOCKERFILE WORKDIR --server S --push R:T`),
#     PACK: build/<target>/bench/pack.
#
# Two reference builds from bench/mkctx.py (seed $BENCH_SEED): copy-heavy
# (COPY of ~200 MB in 2,000 files, half copied from /usr, half random) and
# run-heavy (30 RUN steps writing and deleting files), both on a busybox base
# pushed to a local docker-registry on 127.0.0.1, each build pushed to it:
#   cold     empty cache (sbs: a new cache dir; buildah: new storage, so the
#            base is pulled too) and a new repository (every blob uploaded)
#   warm     the same build again: every step cached, pushed to the cold
#            build's repository (every blob already there)
#   no-cache the cache off (sbs: no cache dir; buildah --no-cache, base image
#            already in storage), a new repository
# BENCH_REPS=N (default 1) repeats all of it N times and keeps each
# figure's fastest run. buildah runs with the vfs and the overlay storage
# drivers; the ratio is taken against the faster of the two for each figure.
# Packing: the copy-heavy context as one layer, MB/s of uncompressed tar. Machines here
# are shared and noisy: only the ratios mean something, and no figure is
# asserted. Installs buildah and pigz with apt-get if they are missing.
# BENCH_PERF=1: the cold sbs builds run under `perf record` and the top
# symbols are printed (build TEST_IMAGE without -s to see names).
# Everything lives in one temp dir, removed on exit with the servers.
set -euo pipefail
TI=$(realpath "$1")
PACK=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
SEED=${BENCH_SEED:-42}
REPS=${BENCH_REPS:-1}
export SBSD=${SBSD:-none} SBS=${SBS:-none}   # lib.sh wants them; no sbsd runs here
. "$HERE/../tests/lib.sh"
. "$HERE/../tests/lib_reg.sh"

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v pigz >/dev/null || need+=(pigz)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench-build: apt-get install ${need[*]}"
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		fail "apt-get install ${need[*]} (run as root)"
fi
[ "$(id -u)" = 0 ] || fail "bench-build needs root (RUN sandbox, buildah)"

now() { date +%s.%N; }
# timed LABEL CMD...: runs CMD (output in $TMP/LABEL.log), sets T (seconds)
timed() {
	local label=$1 t0
	shift
	t0=$(now)
	"$@" >"$TMP/$label.log" 2>&1 || { tail -20 "$TMP/$label.log" >&2; fail "$label failed"; }
	T=$(echo "$(now) - $t0" | bc)
}
declare -A R=()

start_registry bench plain
make_busybox_image "$TMP/bb" amd64
push_image "$TMP/bb" "$REG_ADDR" busybox:latest
echo "registry $REG_ADDR, base busybox pushed"

# Contexts: the Dockerfiles are kept outside the context (buildah's names the
# registry: it has no default host for unqualified names).
python3 "$HERE/mkctx.py" copy "$TMP/copy" "$SEED"
python3 "$HERE/mkctx.py" run "$TMP/run" "$SEED"
for b in copy run; do
	mv "$TMP/$b/Dockerfile" "$TMP/$b.sbs.Dockerfile"
	sed "s|^FROM busybox|FROM $REG_ADDR/busybox:latest|" "$TMP/$b.sbs.Dockerfile" >"$TMP/$b.bah.Dockerfile"
done
echo "contexts: copy $(du -sm "$TMP/copy" | cut -f1) MB in $(find "$TMP/copy" -type f | wc -l) files;" \
	"run $(grep -c '^RUN' "$TMP/run.sbs.Dockerfile") RUN steps"

sbs_build() { # B MODE REPO
	local b=$1 mode=$2 repo=$3 w cache=() perf=()
	w=$TMP/sbs-w-$b-$mode
	rm -rf "$w" && mkdir -p "$w"
	[ "$mode" = nocache ] || cache=(--cache "$TMP/sbs-cache-$b")
	[ "${BENCH_PERF:-0}" = 1 ] && [ "$mode" = cold ] && perf=(perf record -q -o "$TMP/perf-$b.data" --)
	"${perf[@]}" "$TI" build "$TMP/$b" "$TMP/$b.sbs.Dockerfile" "$w" --server "$REG_SERVER" \
		"${cache[@]}" --push "$repo:v1"
}
bah_build() { # DRIVER B MODE REPO
	local drv=$1 b=$2 mode=$3 repo=$4 s nc=()
	s=(buildah --root "$TMP/bah-$drv/root" --runroot "$TMP/bah-$drv/run" --storage-driver "$drv")
	[ "$mode" = nocache ] && nc=(--no-cache)
	"${s[@]}" bud --isolation chroot --layers "${nc[@]}" --tls-verify=false \
		-f "$TMP/$b.bah.Dockerfile" -t "bench/$b:$mode" "$TMP/$b" &&
		"${s[@]}" push --tls-verify=false "bench/$b:$mode" "docker://$REG_ADDR/$repo:v1"
}
bah_reset() { # DRIVER: a new, empty storage
	local drv=$1 s
	s=(buildah --root "$TMP/bah-$drv/root" --runroot "$TMP/bah-$drv/run" --storage-driver "$drv")
	[ -d "$TMP/bah-$drv" ] && { "${s[@]}" rm -a >/dev/null 2>&1; "${s[@]}" rmi -a -f >/dev/null 2>&1; } || true
	rm -rf "$TMP/bah-$drv"
}

DRIVERS=()
for drv in vfs overlay; do
	bah_reset "$drv"
	if bah_build "$drv" run nocache "probe-$drv" >"$TMP/probe-$drv.log" 2>&1; then
		DRIVERS+=("$drv")
	else
		echo "buildah with --storage-driver $drv does not work here:"
		tail -3 "$TMP/probe-$drv.log" | sed 's/^/  /'
	fi
	bah_reset "$drv"
done
[ ${#DRIVERS[@]} -gt 0 ] || fail "no buildah storage driver works here"

# keep KEY: R[KEY] = the smallest T seen (over BENCH_REPS runs)
keep() {
	if [ -z "${R[$1]:-}" ] || [ "$(echo "$T < ${R[$1]}" | bc)" = 1 ]; then R[$1]=$T; fi
	echo "$1 (run $rep): ${T}s"
}
# A warm build pushes to the repository of its cold build (every blob there);
# cold and no-cache builds push to new repositories.
for b in copy run; do
	for rep in $(seq 1 "$REPS"); do
		rm -rf "$TMP/sbs-cache-$b"
		for mode in cold warm nocache; do
			repo=sbs-$b-$mode-$rep
			[ "$mode" = warm ] && repo=sbs-$b-cold-$rep
			timed "sbs-$b-$mode-$rep" sbs_build "$b" "$mode" "$repo"
			keep "sbs-$b-$mode"
			echo "  $(grep -m1 '^steps=' "$TMP/sbs-$b-$mode-$rep.log")"
		done
		for drv in "${DRIVERS[@]}"; do
			bah_reset "$drv"
			for mode in cold warm nocache; do
				repo=bah-$drv-$b-$mode-$rep
				[ "$mode" = warm ] && repo=bah-$drv-$b-cold-$rep
				timed "bah-$drv-$b-$mode-$rep" bah_build "$drv" "$b" "$mode" "$repo"
				keep "bah-$drv-$b-$mode"
			done
			bah_reset "$drv"
		done
	done
done

# packing: the copy-heavy context as one layer
pigz_pipe() { tar -C "$TMP/copy" --sort=name -cf - . | pigz | sha256sum; }
for rep in $(seq 1 "$REPS"); do
	timed pack-ours "$PACK" "$TMP/copy" "$TMP/pack.tgz"
	keep pack-ours
	timed pack-pigz pigz_pipe
	keep pack-pigz
done
read -r tarb < <(awk '{print $2}' "$TMP/pack-ours.log")
"$PACK" "$TMP/copy" "$TMP/pack2.tgz" 1 >"$TMP/pack-1thread.log"
cmp -s "$TMP/pack.tgz" "$TMP/pack2.tgz" && det="same bytes with 1 thread" || det="DIFFERENT bytes with 1 thread"
gzip -t "$TMP/pack.tgz" || fail "gzip -t on our layer"

if [ "${BENCH_PERF:-0}" = 1 ]; then
	for b in copy run; do
		echo "== perf profile of the sbs $b-heavy cold build (an unstripped TEST_IMAGE names symbols)"
		{ perf report -i "$TMP/perf-$b.data" --no-children --sort comm,sym 2>/dev/null |
			grep -v '^#' | grep '%' | head -25; } || echo "(no profile)"
	done
fi

echo
echo "== image builds (seconds, fastest of $REPS, each pushed to $REG_ADDR; ratio = sbs / faster buildah)"
printf '%-18s %9s' build sbs
for drv in "${DRIVERS[@]}"; do printf ' %13s' "buildah-$drv"; done
printf ' %8s\n' ratio
for b in copy run; do
	for mode in cold warm nocache; do
		best=
		printf '%-18s %9.2f' "$b-heavy $mode" "${R[sbs-$b-$mode]}"
		for drv in "${DRIVERS[@]}"; do
			v=${R[bah-$drv-$b-$mode]}
			printf ' %13.2f' "$v"
			if [ -z "$best" ] || [ "$(echo "$v < $best" | bc)" = 1 ]; then best=$v; fi
		done
		printf ' %7.2fx\n' "$(echo "${R[sbs-$b-$mode]} / $best" | bc -l)"
	done
done
echo
echo "== layer packing of the copy-heavy context ($((tarb / 1000000)) MB of tar)"
ours=$(echo "$tarb / 1000000 / ${R[pack-ours]}" | bc -l)
theirs=$(echo "$tarb / 1000000 / ${R[pack-pigz]}" | bc -l)
printf '%-34s %8.1f MB/s  (%s, %s)\n' "sbs arc_write_layer (threads: $(nproc))" "$ours" \
	"$(awk '{printf "%d MB gzip", $4 / 1000000}' "$TMP/pack-ours.log")" "$det"
printf '%-34s %8.1f MB/s  (%d MB gzip)\n' "tar | pigz | sha256sum" "$theirs" \
	"$(( $(tar -C "$TMP/copy" --sort=name -cf - . | pigz | wc -c) / 1000000 ))"
printf '%-34s %8.2fx\n' "ratio (sbs / pigz)" "$(echo "$ours / $theirs" | bc -l)"
