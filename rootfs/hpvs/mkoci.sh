#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the sbsd OCI image archive for HPVS reproducibly (docs/hpvs.md):
#   rootfs/hpvs/mkoci.sh OUT.tar SBSD VERSION [CA_BUNDLE]
# OUT.tar is an OCI image layout (oci-layout, index.json, blobs/sha256/...)
# in a plain tar, as `skopeo copy oci-archive:OUT.tar ...` reads it:
# linux/s390x, FROM scratch, one layer holding
#   /sbsd                               the stripped static s390x sbsd (0755)
#   /etc/ssl/certs/ca-certificates.crt  trust anchors for git and registries
#                                       over https (SBS_CA_BUNDLE), 0644
#   /data                               the volume's mount point (0700)
#   /tmp                                git fetch and manifest scratch (1777)
# and a config with Entrypoint ["/sbsd"], Env SBS_HAL=hpvs,
# SBS_DATA_DIR=/data, SBS_PORT=443, SBS_CA_BUNDLE, ExposedPorts 443/tcp,
# Volumes /data, User 0:0. Every tar has sorted names, mtime 0, owner 0:0
# and numeric ids (GNU tar, ustar format); gzip -n stores no name or time;
# JSON is written by jq -c in a fixed key order; every time stamp is the
# epoch. Two runs from the same inputs give the same bytes (make oci checks).
set -eu
out=$1 sbsd=$2 version=$3 ca=${4:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$sbsd" ] || { echo "mkoci: no sbsd at $sbsd" >&2; exit 1; }
[ -f "$ca" ] || { echo "mkoci: no CA bundle at $ca" >&2; exit 1; }
case $(file -b "$sbsd") in
*"IBM S/390"*statically*) ;;
*) echo "mkoci: $sbsd is not a static s390x executable" >&2; exit 1 ;;
esac
st=$(mktemp -d "${TMPDIR:-/tmp}/sbs-oci.XXXXXX")
trap 'rm -rf "$st"' EXIT
EPOCH=1970-01-01T00:00:00Z
TARFLAGS="--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar"
export LC_ALL=C

# ---- the layer ----
r=$st/rootfs
mkdir -p "$r/etc/ssl/certs" "$r/data" "$r/tmp"
cp "$sbsd" "$r/sbsd"
cp "$ca" "$r/etc/ssl/certs/ca-certificates.crt"
chmod 0755 "$r" "$r/etc" "$r/etc/ssl" "$r/etc/ssl/certs" "$r/sbsd"
chmod 0644 "$r/etc/ssl/certs/ca-certificates.crt"
chmod 0700 "$r/data"
chmod 1777 "$r/tmp"
# shellcheck disable=SC2086
tar $TARFLAGS -C "$r" -cf "$st/layer.tar" data etc sbsd tmp
gzip -n -9 <"$st/layer.tar" >"$st/layer.tar.gz"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
diff_id=$(sha "$st/layer.tar")
layer=$(sha "$st/layer.tar.gz")
mkdir -p "$st/oci/blobs/sha256"
mv "$st/layer.tar.gz" "$st/oci/blobs/sha256/$layer"

# ---- the config ----
jq -n -c --arg e "$EPOCH" --arg d "sha256:$diff_id" --arg v "$version" --arg ca \
	/etc/ssl/certs/ca-certificates.crt '{
	created: $e, author: "sbs", architecture: "s390x", os: "linux",
	config: {
		User: "0:0",
		ExposedPorts: {"443/tcp": {}},
		Env: ["SBS_HAL=hpvs", "SBS_DATA_DIR=/data", "SBS_PORT=443", ("SBS_CA_BUNDLE=" + $ca)],
		Entrypoint: ["/sbsd"],
		Volumes: {"/data": {}},
		WorkingDir: "/",
		Labels: {"org.opencontainers.image.title": "sbsd",
			 "org.opencontainers.image.version": $v}
	},
	rootfs: {type: "layers", diff_ids: [$d]},
	history: [{created: $e, created_by: ("make oci (sbs " + $v + ")")}]
}' >"$st/config.json"
cfg=$(sha "$st/config.json")
cfg_size=$(size "$st/config.json")
mv "$st/config.json" "$st/oci/blobs/sha256/$cfg"

# ---- manifest, index, layout ----
jq -n -c --arg c "sha256:$cfg" --argjson cs "$cfg_size" --arg l "sha256:$layer" \
	--argjson ls "$(size "$st/oci/blobs/sha256/$layer")" --arg v "$version" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}],
	annotations: {"org.opencontainers.image.title": "sbsd",
		      "org.opencontainers.image.version": $v}
}' >"$st/manifest.json"
man=$(sha "$st/manifest.json")
man_size=$(size "$st/manifest.json")
mv "$st/manifest.json" "$st/oci/blobs/sha256/$man"
jq -n -c --arg m "sha256:$man" --argjson ms "$man_size" --arg v "$version" '{
	schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m,
		     size: $ms, platform: {architecture: "s390x", os: "linux"},
		     annotations: {"org.opencontainers.image.ref.name": $v}}]
}' >"$st/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$st/oci/oci-layout"
find "$st/oci" -type d -exec chmod 0755 {} +
find "$st/oci" -type f -exec chmod 0644 {} +
# shellcheck disable=SC2086
tar $TARFLAGS -C "$st/oci" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
