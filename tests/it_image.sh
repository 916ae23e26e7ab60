#!/bin/bash
# SPDX-License-Identifier: MIT
# The Dockerfile build engine (src/image*.c) end to end, driven by
# `test_image build ...`, against a real Debian docker-registry on 127.0.0.1:
# a base image made with umoci and pushed with skopeo is pulled, unpacked,
# built upon (RUN in the sandbox, COPY with --chown/--chmod, WORKDIR, USER,
# a RUN that deletes a base file), and the result is pushed. Judges that are
# not sbs: `skopeo inspect` reports our digest; `skopeo copy` to an OCI
# layout and `umoci unpack` give the expected files, modes, owners,
# symlinks, hardlinks and whiteouts. The same build twice without a cache and
# twice with one gives one digest (the second reporting cached steps); a
# partly cached build (cached layers unpacked late) equals an uncached one.
# Hostile bases (layers made with Python's tarfile: path traversal, symlink
# escape, device node, hardlink escape) fail cleanly with a clear message
# and no canary changed outside the work directory. Needs root (sandbox).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_reg.sh"

T=$(dirname "$SBSD")/tests/test_image
[ -x "$T" ] || fail "no $T (build it first)"
[ "$(id -u)" = 0 ] || { echo "skip: it_image needs root"; exit 0; }
SK=(timeout 120 skopeo --policy /etc/containers/policy.json)

start_registry main plain
make_busybox_image "$TMP/bb" amd64
push_image "$TMP/bb" "$REG_ADDR" busybox:latest
ok "base image pushed with skopeo"

# build CTX WORK [options]: digest -> $TMP/digest, output -> $TMP/out, log -> $TMP/err
build() {
	local ctx=$1 work=$2
	shift 2
	timeout 300 $RUN "$T" build "$ctx" "$ctx/Dockerfile" "$work" --server "$REG_SERVER" "$@" \
		>"$TMP/out" 2>"$TMP/err"
}
digest() { head -1 "$TMP/out"; }

C=$TMP/ctx
mkdir -p "$C/data/sub"
echo "payload" >"$C/data/sub/file"
printf '#!/bin/sh\necho run\n' >"$C/run.sh"
chmod 644 "$C/run.sh"
echo "skip me" >"$C/ignored.txt"
echo "ignored.txt" >"$C/.dockerignore"
cat >"$C/Dockerfile" <<'EOF'
# syntax=docker/dockerfile:1
FROM busybox
ARG WHO=world
RUN rm /bin/ls && mkdir -p /app && echo "hello $WHO" > /app/hello && ln /app/hello /app/hardlink
COPY --chown=app:app data/ /app/data/
COPY --chmod=755 run.sh /app/
COPY . /ctx/
USER app
WORKDIR /app/work
RUN id -u > /tmp/uid && ln -s ../hello /app/work/link
ENV X=1
EXPOSE 8080
CMD ["/app/run.sh"]
EOF

build "$C" "$TMP/w1" --push out:v1 --arg WHO=sbs || fail "build 1"
D1=$(digest)
grep -q "^steps=12 cached=0 layers=7" "$TMP/out" || fail "build 1 counts: $(sed -n 2p "$TMP/out")"
grep -q "^base $REG_ADDR/busybox:latest sha256:" "$TMP/out" || fail "base not recorded"
ok "built and pushed $D1"

got=$("${SK[@]}" inspect --tls-verify=false "docker://$REG_ADDR/out:v1" | jq -r .Digest)
[ "$got" = "$D1" ] || fail "skopeo inspect digest $got != $D1"
ok "skopeo inspect reports our digest"

"${SK[@]}" copy --src-tls-verify=false "docker://$REG_ADDR/out:v1" "oci:$TMP/oci:v1" >>"$TMP/skopeo.log" 2>&1 ||
	fail "skopeo copy to an OCI layout"
umoci unpack --image "$TMP/oci:v1" "$TMP/bundle" >/dev/null 2>&1 || fail "umoci unpack"
R=$TMP/bundle/rootfs
[ ! -e "$R/bin/ls" ] && [ ! -L "$R/bin/ls" ] || fail "/bin/ls deleted by RUN is still there"
[ -L "$R/bin/cat" ] && [ "$(readlink "$R/bin/cat")" = busybox ] || fail "base symlink /bin/cat"
[ "$(cat "$R/app/hello")" = "hello sbs" ] || fail "/app/hello: $(cat "$R/app/hello")"
[ "$(stat -c %i "$R/app/hello")" = "$(stat -c %i "$R/app/hardlink")" ] || fail "hardlink lost"
[ "$(stat -c %u:%g "$R/app/data/sub/file")" = 1000:1000 ] || fail "--chown app:app"
[ "$(stat -c %u:%g:%a "$R/app/run.sh")" = 0:0:755 ] || fail "--chmod 755: $(stat -c %u:%g:%a "$R/app/run.sh")"
[ "$(cat "$R/tmp/uid")" = 1000 ] || fail "USER app: uid $(cat "$R/tmp/uid")"
[ "$(stat -c %u "$R/app/work")" = 1000 ] || fail "WORKDIR owned by USER"
[ "$(readlink "$R/app/work/link")" = ../hello ] || fail "symlink made by RUN"
[ -f "$R/ctx/Dockerfile" ] && [ ! -e "$R/ctx/ignored.txt" ] || fail ".dockerignore on COPY ."
[ ! -e "$R/proc" ] || [ -z "$(ls -A "$R/proc")" ] || fail "/proc content in the image"
ok "umoci unpack: files, modes, owners, symlinks, hardlinks, whiteout"

cfg=$(jq -r '.manifests[0].digest' "$TMP/oci/index.json")
m=$TMP/oci/blobs/sha256/${cfg#sha256:}
jq -e '.mediaType == "application/vnd.oci.image.manifest.v1+json"' "$m" >/dev/null || fail "manifest type"
c=$TMP/oci/blobs/sha256/$(jq -r '.config.digest' "$m" | cut -d: -f2)
jq -e '.config.User == "app" and .config.WorkingDir == "/app/work" and
	.config.Cmd == ["/app/run.sh"] and (.config.Env | index("X=1")) != null and
	(.config.Env | index("PATH=/bin")) != null and .config.ExposedPorts["8080/tcp"] == {} and
	.created == "2023-11-14T22:13:20Z" and (.rootfs.diff_ids | length) == 7 and
	([.history[] | select(.empty_layer != true)] | length) == 7' "$c" >/dev/null ||
	fail "config: $(cat "$c")"
ok "config: user, workdir, cmd, env from the base and ENV, ports, created, history"

# a build argument's value reaches the RUN step only: not the log, not the config
SECRETV=s3cr3t-$RANDOM$RANDOM
build "$C" "$TMP/w6" --arg WHO="$SECRETV" || fail "build with a secret-like argument"
grep -q "$SECRETV" "$TMP/err" && fail "a build argument value is in the log"
grep -rq "$SECRETV" "$TMP/w6/blobs/sha256/$(jq -r .config.digest "$TMP/w6/blobs/sha256/$(head -1 "$TMP/out" | cut -d: -f2)" | cut -d: -f2)" &&
	fail "a build argument value is in the config"
ok "build argument values stay out of the log and the config"

# COPY --from an image (pulled once, listed as a base; /bin/sh -> busybox resolved in that image)
printf 'FROM scratch\nCOPY --from=busybox /bin/sh /bin/busybox\nCOPY --from=busybox /etc/passwd /etc/\nRUN ["/bin/busybox", "test", "-s", "/etc/passwd"]\n' >"$TMP/sctx.df"
mkdir -p "$TMP/fctx" && cp "$TMP/sctx.df" "$TMP/fctx/Dockerfile"
build "$TMP/fctx" "$TMP/wf" --no-network || fail "COPY --from=image"
grep -q "^base $REG_ADDR/busybox:latest sha256:" "$TMP/out" && grep -q "layers=2" "$TMP/out" ||
	fail "COPY --from=image: $(cat "$TMP/out")"
ok "COPY --from an image: pulled, symlink resolved inside it, recorded as a base"

# a RUN that changes nothing adds no layer (the sandbox's mount points and
# stubs leave no trace, network on or off)
mkdir -p "$TMP/nctx"
printf 'FROM busybox\nRUN true\nRUN ls / >/dev/null\n' >"$TMP/nctx/Dockerfile"
build "$TMP/nctx" "$TMP/wn1" || fail "RUN true"
grep -q "layers=1$" "$TMP/out" || fail "RUN true made a layer (network on): $(sed -n 2p "$TMP/out")"
build "$TMP/nctx" "$TMP/wn2" --no-network || fail "RUN true"
grep -q "layers=1$" "$TMP/out" || fail "RUN true made a layer (network off): $(sed -n 2p "$TMP/out")"
ok "a RUN that changes nothing adds no layer"

build "$C" "$TMP/w2" --arg WHO=sbs || fail "build 2"
[ "$(digest)" = "$D1" ] || fail "rebuild without cache: $(digest) != $D1"
ok "same inputs, fresh work directory: same digest"

build "$C" "$TMP/w3" --arg WHO=sbs --cache "$TMP/cache" || fail "build 3"
[ "$(digest)" = "$D1" ] || fail "first cached build differs"
build "$C" "$TMP/w4" --arg WHO=sbs --cache "$TMP/cache" || fail "build 4"
[ "$(digest)" = "$D1" ] || fail "build from the cache: $(digest) != $D1"
grep -q "^steps=12 cached=5 layers=7" "$TMP/out" || fail "cache counts: $(sed -n 2p "$TMP/out")"
ok "with a cache: 5 steps from the cache, same digest"

build "$C" "$TMP/w5" --arg WHO=other --cache "$TMP/cache" || fail "build 5"
[ "$(digest)" != "$D1" ] || fail "a different build arg gave the same image"
grep -q "cached=0" "$TMP/out" || fail "the RUN with another ARG value came from the cache"
ok "another build arg value: a cache miss and another digest"

# cached layers are unpacked only when a later step needs the rootfs: after a
# run of hits (a whole stage, then COPY --from it, then a RUN), a RUN that
# misses sees every cached file, and the image equals a build without a cache
L=$TMP/lazy
mkdir -p "$L"
cat >"$L/Dockerfile" <<'EOF'
FROM busybox AS one
RUN echo first > /f1
RUN echo second >> /f1 && mkdir /d && echo x > /d/x && rm /bin/ls
FROM busybox
COPY --from=one /f1 /copied
RUN cat /copied > /out1 && echo keep > /k
ARG V=a
RUN rm /k && cat /copied /out1 > /out2 && echo "$V" >> /out2 && ls /k 2>> /out2; true
EOF
build "$L" "$TMP/lw1" --cache "$TMP/lcache" || fail "lazy build 1"
build "$L" "$TMP/lw2" --cache "$TMP/lcache" --arg V=b --push lazy:v1 || fail "lazy build 2"
DL=$(digest)
grep -q "^steps=8 cached=4 " "$TMP/out" || fail "lazy build 2 counts: $(sed -n 2p "$TMP/out")"
build "$L" "$TMP/lw3" --arg V=b || fail "lazy build 3 (no cache)"
[ "$(digest)" = "$DL" ] || fail "partly cached build $DL != uncached $(digest)"
"${SK[@]}" copy --src-tls-verify=false "docker://$REG_ADDR/lazy:v1" "oci:$TMP/oci:lazy" >>"$TMP/skopeo.log" 2>&1 ||
	fail "skopeo copy lazy"
umoci unpack --image "$TMP/oci:lazy" "$TMP/lbundle" >/dev/null 2>&1 || fail "umoci unpack lazy"
printf 'first\nsecond\nfirst\nsecond\nb\n' | cmp - <(head -5 "$TMP/lbundle/rootfs/out2") ||
	fail "/out2: $(cat "$TMP/lbundle/rootfs/out2")"
[ ! -e "$TMP/lbundle/rootfs/k" ] || fail "/k deleted by the last RUN is there"
ok "4 cached steps left unpacked until a step needed them: same digest as without a cache"

# ---- signed bases (DOCKER_CONTENT_TRUST_BASE) ----
openssl ecparam -genkey -name prime256v1 -noout -out "$TMP/k1.pem" 2>/dev/null
openssl ec -in "$TMP/k1.pem" -pubout -out "$TMP/p1.pem" 2>/dev/null
openssl ecparam -genkey -name prime256v1 -noout -out "$TMP/k2.pem" 2>/dev/null
openssl ec -in "$TMP/k2.pem" -pubout -out "$TMP/p2.pem" 2>/dev/null
$RUN "$T" sign "$REG_SERVER" busybox latest "$TMP/k1.pem" 2>"$TMP/err" || fail "sign the base"
S=$TMP/sctx
mkdir -p "$S"
printf 'FROM busybox\nRUN echo signed > /s\n' >"$S/Dockerfile"
build "$S" "$TMP/ws1" --pubkey "$TMP/p1.pem" || fail "signed base refused"
grep -q "signature of $REG_ADDR/busybox:latest verified" "$TMP/err" || fail "no verification logged"
if build "$S" "$TMP/ws2" --pubkey "$TMP/p2.pem"; then fail "a signature under another key passed"; fi
grep -q "Dockerfile:1: base image $REG_ADDR/busybox:latest: signature verification failed" "$TMP/err" ||
	fail "wrong key: $(tail -1 "$TMP/err")"
[ ! -d "$TMP/ws2/stage0/rootfs/bin" ] || fail "an unverified base was unpacked"
push_image "$TMP/bb" "$REG_ADDR" unsigned:latest
printf 'FROM unsigned\nRUN true\n' >"$S/Dockerfile"
if build "$S" "$TMP/ws3" --pubkey "$TMP/p1.pem"; then fail "an unsigned base passed"; fi
grep -q "Dockerfile:1: base image $REG_ADDR/unsigned:latest: signature verification failed" "$TMP/err" ||
	fail "unsigned: $(tail -1 "$TMP/err")"
ok "base_pubkey: signed base verified; another key and an unsigned base stop the build naming the base"

# a multi-platform base (an OCI index made here) signed on its index digest, as cosign does
python3 - "$TMP/bb" "$TMP/multi" <<'PY'
import hashlib, json, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
m = json.load(open(os.path.join(src, "index.json")))["manifests"][0]
ents = [dict(mediaType=m["mediaType"], digest=m["digest"], size=m["size"],
             platform=dict(architecture=a, os="linux")) for a in ("s390x", "amd64")]
idx = json.dumps(dict(schemaVersion=2, mediaType="application/vnd.oci.image.index.v1+json",
                      manifests=ents)).encode()
h = hashlib.sha256(idx).hexdigest()
open(os.path.join(dst, "blobs", "sha256", h), "wb").write(idx)
json.dump(dict(schemaVersion=2, manifests=[dict(mediaType="application/vnd.oci.image.index.v1+json",
          digest="sha256:" + h, size=len(idx),
          annotations={"org.opencontainers.image.ref.name": "latest"})]),
          open(os.path.join(dst, "index.json"), "w"))
PY
timeout 120 skopeo --policy /etc/containers/policy.json copy --all --dest-tls-verify=false \
	"oci:$TMP/multi:latest" "docker://$REG_ADDR/multi:latest" >>"$TMP/skopeo.log" 2>&1 || fail "push the index"
$RUN "$T" sign "$REG_SERVER" multi latest "$TMP/k1.pem" 2>"$TMP/err" || fail "sign the index"
printf 'FROM multi\nRUN test -x /bin/busybox\n' >"$S/Dockerfile"
build "$S" "$TMP/ws4" --pubkey "$TMP/p1.pem" || fail "a base signed on its index was refused"
grep -q "signature of $REG_ADDR/multi:latest (index sha256:" "$TMP/err" || fail "index signature not named"
if build "$S" "$TMP/ws5" --pubkey "$TMP/p2.pem"; then fail "index signature under another key passed"; fi
ok "a multi-platform base: the platform picked from the index, the signature on the index verified"

# ---- hostile bases ----
CAN=$TMP/canary
mkdir -p "$CAN"
echo canary >"$CAN/file"
python3 - "$TMP/hostile" "$CAN" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, canary = sys.argv[1], sys.argv[2]

def ti(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.linkname, t.mode, t.mtime = kind, len(data), link, mode, 1600000000
    return (t, data)

cases = {
    "traversal": [ti("../../../../../../../.." + canary + "/file", data=b"pwned")],
    "symlink": [ti("esc", tarfile.SYMTYPE, link=canary), ti("esc/file", data=b"pwned")],
    "device": [ti("dev/sda", tarfile.BLKTYPE)],
    "hardlink": [ti("pw", tarfile.LNKTYPE, link="../../../../../../.." + canary + "/file")],
    "diffids": [ti("ok", data=b"fine")],
}
for name, members in cases.items():
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "blobs", "sha256"))
    def blob(b):
        h = hashlib.sha256(b).hexdigest()
        open(os.path.join(d, "blobs", "sha256", h), "wb").write(b)
        return "sha256:" + h, len(b)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for t, data in members:
            tf.addfile(t, io.BytesIO(data) if t.size else None)
    tar = raw.getvalue()
    ldig, lsize = blob(gzip.compress(tar, mtime=0))
    ids = ["sha256:" + hashlib.sha256(tar).hexdigest()] if name != "diffids" else []
    cfg = {"architecture": "amd64", "os": "linux", "config": {},
           "rootfs": {"type": "layers", "diff_ids": ids}}
    cdig, csize = blob(json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": csize},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ldig, "size": lsize}]}
    mdig, msize = blob(json.dumps(man).encode())
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": man["mediaType"], "digest": mdig, "size": msize,
               "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
              open(os.path.join(d, "index.json"), "w"))
    open(os.path.join(d, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
H=$TMP/hctx
mkdir -p "$H"
for k in traversal:"layer sha256:.*escapes the root" symlink:"layer sha256:.*symlink in path" \
	device:"layer sha256:.*device" hardlink:"layer sha256:.*hardlink target escapes" \
	diffids:"1 layers but 0 diff_ids"; do
	name=${k%%:*} words=${k#*:}
	push_image "$TMP/hostile/$name" "$REG_ADDR" "hostile-$name:latest"
	printf 'FROM hostile-%s\nRUN true\n' "$name" >"$H/Dockerfile"
	if build "$H" "$TMP/wh-$name"; then fail "hostile base $name was accepted"; fi
	grep -q "Dockerfile:1: base image $REG_ADDR/hostile-$name:latest: .*$words" "$TMP/err" ||
		fail "hostile $name: unclear message: $(tail -1 "$TMP/err")"
	[ "$(cat "$CAN/file")" = canary ] && [ "$(ls -A "$CAN")" = file ] || fail "canary changed by $name"
done
ok "hostile bases (traversal, symlink escape, device, hardlink escape, diff_ids that do not match the layers) refused, canary intact"

# ---- context escapes and Dockerfile errors ----
echo secret >"$TMP/outside"
ln -s "$TMP/outside" "$H/abs-link"
ln -s ../outside "$H/rel-link"
for k in "COPY ../outside /x:forbidden path outside the build context" \
	"COPY abs-link /x:a symlink leads out of the build context" \
	"COPY rel-link /x:a symlink leads out of the build context" \
	"RUN exit 7:RUN returned a non-zero code: 7" \
	"FROBNICATE x:unknown instruction"; do
	printf 'FROM busybox\n\n%s\n' "${k%%:*}" >"$H/Dockerfile"
	if build "$H" "$TMP/wc" ; then fail "accepted: ${k%%:*}"; fi
	grep -q "Dockerfile:3: .*${k#*:}" "$TMP/err" || fail "${k%%:*}: $(tail -1 "$TMP/err")"
	rm -rf "$TMP/wc"
done
ok "COPY ../, symlinks out of the context, RUN exit codes and syntax errors name Dockerfile:line"
echo "it_image: $n checks passed"
