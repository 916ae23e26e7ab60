# SPDX-License-Identifier: MIT
# Registry helpers for the integration tests (sourced after lib.sh): a real
# Debian docker-registry on 127.0.0.1, a busybox OCI image made with umoci,
# and a push with skopeo. Servers go into lib.sh's PIDS, so lib.sh's EXIT
# trap kills them; their data lives under $TMP.
#
#   start_registry NAME [plain|htpasswd|tls|htpasswd+tls]
#       Starts docker-registry on a free port, storage $TMP/reg-NAME/data,
#       delete enabled, log $TMP/reg-NAME.log; waits (<= 30 s) until /v2/
#       answers (200 or 401). Sets, for the last one started:
#         REG_ADDR   127.0.0.1:PORT         REG_PORT  PORT
#         REG_PID    the server's pid       REG_DIR   $TMP/reg-NAME
#         REG_URL    http://127.0.0.1:PORT or https://127.0.0.1:PORT
#         REG_SERVER what src/reg.h's reg_opts.server wants: "http://ADDR"
#                    for plain, "localhost:PORT" for tls (mbedTLS 2.28 does
#                    not match IP SANs; the cert has DNS:localhost too)
#       and per NAME (non-alnum characters of NAME become _):
#         REG_ADDR_<NAME>, REG_PORT_<NAME>, REG_URL_<NAME>, REG_SERVER_<NAME>
#       htpasswd: user $REG_USER ("sbsuser"), password $REG_PASS (random per
#       run, set when this file is sourced unless already set; SECRET: tests
#       grep outputs for it), bcrypt in $TMP/reg-htpasswd.
#       tls: a CA and a server cert (SAN IP:127.0.0.1, DNS:localhost) made
#       with openssl once per run: $REG_CA (CA PEM file), $REG_CERT_DIR (a
#       directory holding ca.crt, for skopeo --cert-dir / --dest-cert-dir).
#   stop_registry PID        kill one (e.g. to test a server going away)
#   make_busybox_image OUTDIR ARCH [BUSYBOX]
#       An OCI image layout in OUTDIR with one tag "latest" (override with
#       $IMG_TAG): rootfs /bin/busybox (the host's /bin/busybox, or the
#       static BUSYBOX binary for other arches), /bin/sh and common applets
#       as symlinks, /etc/passwd and /etc/group with root and app (uid/gid
#       1000), /tmp, /home/app; config os linux, architecture ARCH,
#       Cmd ["/bin/sh"]. Built with umoci init/new/unpack/repack/config.
#   push_image OUTDIR REGADDR REPO:TAG [USER:PASS]
#       skopeo copy oci:OUTDIR:SRC docker://REGADDR/REPO:TAG, where SRC is
#       $IMG_TAG if set, else TAG if the layout has it, else "latest". TLS
#       registries started here are verified with $REG_CERT_DIR, plain
#       ones with --dest-tls-verify=false. Output in $TMP/skopeo.log.
#   reg_curl ARGS...         curl with the right CA/creds flags for REG_URL
#                            (-u used only when REG_AUTH=1), bounded time.

REG_USER=${REG_USER:-sbsuser}
REG_PASS=${REG_PASS:-$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')}
REG_CA=""
REG_CERT_DIR=""
REG_AUTH=0
declare -gA REG_MODE=()

reg_var() { printf '%s' "$1" | tr -c 'A-Za-z0-9' '_'; }

reg_make_tls() {
	[ -n "$REG_CA" ] && return 0
	local d="$TMP/reg-tls"
	mkdir -p "$d/certs"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=sbs test registry CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		>/dev/null 2>&1 || fail "openssl: CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
		-keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 || fail "openssl: csr"
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
		>"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" >/dev/null 2>&1 || fail "openssl: sign"
	cp "$d/ca.pem" "$d/certs/ca.crt"
	REG_CA="$d/ca.pem"
	REG_CERT_DIR="$d/certs"
}

# start_registry NAME [plain|htpasswd|tls|htpasswd+tls]
start_registry() {
	local name=$1 mode=${2:-plain} port dir scheme=http v i code
	dir="$TMP/reg-$name"
	mkdir -p "$dir/data"
	port=$(free_port)
	{
		echo "version: 0.1"
		echo "log:"
		echo "  level: warn"
		echo "  accesslog:"
		echo "    disabled: true"
		echo "storage:"
		echo "  filesystem:"
		echo "    rootdirectory: $dir/data"
		echo "  delete:"
		echo "    enabled: true"
		echo "http:"
		echo "  addr: 127.0.0.1:$port"
		echo "  secret: $(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	} >"$dir/config.yml"
	case $mode in
	plain | htpasswd | tls | htpasswd+tls) ;;
	*) fail "start_registry: unknown mode $mode" ;;
	esac
	if [ "${mode#*tls}" != "$mode" ]; then
		reg_make_tls
		scheme=https
		{
			echo "  tls:"
			echo "    certificate: $TMP/reg-tls/server.pem"
			echo "    key: $TMP/reg-tls/server.key"
		} >>"$dir/config.yml"
	fi
	if [ "${mode%htpasswd*}" != "$mode" ]; then
		[ -f "$TMP/reg-htpasswd" ] ||
			htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$TMP/reg-htpasswd" 2>/dev/null ||
			fail "htpasswd"
		{
			echo "auth:"
			echo "  htpasswd:"
			echo "    realm: sbs-test"
			echo "    path: $TMP/reg-htpasswd"
		} >>"$dir/config.yml"
	fi
	docker-registry serve "$dir/config.yml" >>"$TMP/reg-$name.log" 2>&1 &
	REG_PID=$!
	PIDS+=("$REG_PID")
	REG_PORT=$port
	REG_ADDR=127.0.0.1:$port
	REG_URL=$scheme://$REG_ADDR
	REG_DIR=$dir
	if [ $scheme = http ]; then REG_SERVER=http://$REG_ADDR; else REG_SERVER=localhost:$port; fi
	REG_MODE[$REG_ADDR]=$mode
	v=$(reg_var "$name")
	printf -v "REG_ADDR_$v" '%s' "$REG_ADDR"
	printf -v "REG_PORT_$v" '%s' "$REG_PORT"
	printf -v "REG_URL_$v" '%s' "$REG_URL"
	printf -v "REG_SERVER_$v" '%s' "$REG_SERVER"
	for i in $(seq 1 300); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 ${REG_CA:+--cacert "$REG_CA"} \
			"$REG_URL/v2/" 2>/dev/null || true)
		case $code in 200 | 401) return 0 ;; esac
		kill -0 "$REG_PID" 2>/dev/null || {
			tail -5 "$TMP/reg-$name.log" >&2
			fail "registry $name exited at start"
		}
		sleep 0.1
	done
	fail "registry $name did not answer /v2/ within 30 s"
}

stop_registry() {
	kill "$1" 2>/dev/null || true
	local i
	for i in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
}

reg_curl() {
	local a=(-s --max-time 20)
	[ -n "$REG_CA" ] && a+=(--cacert "$REG_CA")
	[ "$REG_AUTH" = 1 ] && a+=(-u "$REG_USER:$REG_PASS")
	curl "${a[@]}" "$@"
}

# make_busybox_image OUTDIR ARCH [BUSYBOX]
make_busybox_image() {
	local out=$1 arch=$2 bb=${3:-/bin/busybox} tag=${IMG_TAG:-latest} b r a
	[ -f "$bb" ] || fail "make_busybox_image: no busybox at $bb"
	[ -n "${3:-}" ] || [ "$arch" = amd64 ] || fail "make_busybox_image: give a busybox for $arch"
	b="$TMP/bundle.$$.$RANDOM"
	rm -rf "$out"
	umoci init --layout "$out" >/dev/null || fail "umoci init"
	umoci new --image "$out:$tag" >/dev/null || fail "umoci new"
	umoci unpack --image "$out:$tag" "$b" >/dev/null 2>&1 || fail "umoci unpack"
	r="$b/rootfs"
	mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/home/app"
	chmod 1777 "$r/tmp"
	chmod 700 "$r/root"
	chown 1000:1000 "$r/home/app"
	cp "$bb" "$r/bin/busybox"
	chmod 755 "$r/bin/busybox"
	for a in sh ash ls cat echo mkdir rm cp mv ln id true false env test sleep wc head tail \
		grep sed touch chmod chown printf pwd uname sha256sum tar gzip find sort tr cut \
		whoami hostname date stat readlink expr seq du df; do
		ln -s busybox "$r/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\n' >"$r/etc/group"
	umoci repack --image "$out:$tag" "$b" >/dev/null || fail "umoci repack"
	rm -rf "$b"
	umoci config --image "$out:$tag" --os linux --architecture "$arch" \
		--config.cmd /bin/sh --config.env PATH=/bin >/dev/null || fail "umoci config"
	umoci gc --layout "$out" >/dev/null 2>&1 || true
}

# push_image OUTDIR REGADDR REPO:TAG [USER:PASS]
push_image() {
	local out=$1 addr=$2 dst=$3 creds=${4:-} tag src mode
	tag=${dst##*:}
	src=${IMG_TAG:-}
	if [ -z "$src" ]; then
		if jq -e --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)' \
			"$out/index.json" >/dev/null 2>&1; then src=$tag; else src=latest; fi
	fi
	mode=${REG_MODE[$addr]:-plain}
	local a=(--policy /etc/containers/policy.json copy)
	if [ "${mode#*tls}" != "$mode" ]; then a+=(--dest-cert-dir "$REG_CERT_DIR"); else a+=(--dest-tls-verify=false); fi
	[ -n "$creds" ] && a+=(--dest-creds "$creds")
	timeout 120 skopeo "${a[@]}" "oci:$out:$src" "docker://$addr/$dst" >>"$TMP/skopeo.log" 2>&1 ||
		fail "skopeo copy to $addr/$dst"
}
