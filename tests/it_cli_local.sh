#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of the sbs client's local-only commands (no server): config
# auto-fill and rewrite, create-client-cert (ECDSA and --rsa), create-server-cert,
# instance-env, sign-csr, delete-certificates, help and usage errors. Every
# result is judged by independent tools: openssl, jq, base64, cmp, python3's
# json module when present. Env: SBS (path of the binary), RUN (empty, or
# qemu-s390x-static). One line per check; stops at the first failure.
set -euo pipefail

: "${SBS:?set SBS to the sbs binary}"
RUN=${RUN:-}
SBS=$(cd "$(dirname "$SBS")" && pwd)/$(basename "$SBS")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
HOST=sbs.example.test
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "FAIL - $*" >&2; [ -f "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2; exit 1; }
# sbs ARGS...: runs the client, stdout to $TMP/out, stderr to $TMP/err; returns its status
sbs() { $RUN "$SBS" "$@" >"$TMP/out" 2>"$TMP/err"; }
has() { grep -q -- "$1" "$2"; }
subj() { openssl x509 -in "$1" -noout -subject | sed 's/^subject=//'; }
text() { openssl x509 -in "$1" -noout -text; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
pub_of_key() { openssl pkey -in "$1" -pubout; }
# the EKU line of `openssl x509 -text` output names clientAuth and serverAuth (any order)
eku_both() {
	local l
	l=$(grep -A1 "Extended Key Usage" "$1" | tail -n1)
	[[ "$l" == *"TLS Web Client Authentication"* && "$l" == *"TLS Web Server Authentication"* ]]
}
mkcfg() { printf '{"HOSTNAME": "%s", "CICD_PORT": "18443", "CONTAINER_NAME": "t"}' "$HOST" >"$1"; }

# ---- help, version, usage errors ----
cd "$TMP"
sbs --help || fail "sbs --help exits non-zero"
for c in create-client-cert create-server-cert instance-env sign-csr status init update build \
	log get-digest get-manifest get-state-image post-state-image get-server-csr post-server-cert; do
	has "^  $c " "$TMP/out" || fail "sbs --help does not list $c"
done
ok "sbs --help lists every command"
sbs status --help || fail "sbs status --help exits non-zero"
has "sbs status" "$TMP/out" && has "GET /image" "$TMP/out" && has "--noverify" "$TMP/out" ||
	fail "sbs status --help does not describe status"
ok "sbs status --help describes the command"
sbs --version || fail "sbs --version exits non-zero"
grep -Eq '^sbs [0-9][^ ]* \(build\.py v0\.221 compatible\)$' "$TMP/out" || fail "bad --version output"
ok "sbs --version"

mkcfg cfg.json
if sbs status; then fail "status without --env succeeded"; fi
has "--env" "$TMP/err" || fail "missing --env: error does not mention --env"
ok "missing --env is an error naming --env"
if sbs frobnicate --env cfg.json; then fail "unknown command succeeded"; fi
has "unknown command: frobnicate" "$TMP/err" && has "--help" "$TMP/err" ||
	fail "unknown command: unclear error"
ok "unknown command is an error with a hint"
printf '{"CICD_PORT": "18443"}' >nohost.json
cp nohost.json nohost.orig
if sbs create-client-cert --env nohost.json; then fail "config without HOSTNAME accepted"; fi
has "HOSTNAME" "$TMP/err" || fail "missing HOSTNAME: error does not name HOSTNAME"
cmp -s nohost.json nohost.orig || fail "config without HOSTNAME was rewritten"
ok "config without HOSTNAME is an error naming HOSTNAME"
if sbs status --env does-not-exist.json; then fail "missing config file accepted"; fi
has "does-not-exist.json" "$TMP/err" || fail "missing config: error does not name the file"
ok "missing config file is an error naming it"

# ---- create-client-cert: config auto-fill and rewrite ----
mkdir "$TMP/ec" && cd "$TMP/ec"
mkcfg cfg.json
cp cfg.json cfg.orig
sbs create-client-cert --env cfg.json || fail "create-client-cert failed"
ok "create-client-cert (ECDSA) runs"
UUID=$(jq -r .UUID cfg.json)
SECRET=$(jq -r .SECRET cfg.json)
[ "$(jq -r .RUNTIME_TYPE cfg.json)" = vpc ] || fail "RUNTIME_TYPE is not vpc"
[[ "$UUID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
	fail "UUID is not a v4 UUID: $UUID"
[ ${#UUID} -eq 36 ] || fail "UUID is not 36 characters"
[ ${#SECRET} -eq 172 ] || fail "SECRET is not 172 characters"
[ "$(printf '%s' "$SECRET" | base64 -d | wc -c)" -eq 128 ] || fail "SECRET is not base64 of 128 bytes"
ok "config filled: RUNTIME_TYPE vpc, UUID v4 ($UUID), SECRET base64 of 128 bytes"
[ "$(jq -r 'keys_unsorted | join(",")' cfg.json)" = HOSTNAME,CICD_PORT,CONTAINER_NAME,RUNTIME_TYPE,UUID,SECRET ] ||
	fail "key order not kept: $(jq -c 'keys_unsorted' cfg.json)"
[ "$(jq -r .HOSTNAME cfg.json)" = "$HOST" ] || fail "HOSTNAME changed"
ok "original keys kept in order, new keys appended"
if command -v python3 >/dev/null; then
	python3 - cfg.json <<'EOF' || fail "config is not formatted like json.dump(indent=4)"
import json, sys, collections
raw = open(sys.argv[1]).read()
obj = json.loads(raw, object_pairs_hook=collections.OrderedDict)
sys.exit(0 if json.dumps(obj, indent=4) == raw else 1)
EOF
	ok "config text is exactly Python's json.dump(indent=4)"
fi
backups=(cfg.json.*)
[ ${#backups[@]} -eq 1 ] || fail "expected one backup, found: ${backups[*]}"
[[ "${backups[0]}" =~ ^cfg\.json\.[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}\.[0-9]{6}$ ]] ||
	fail "backup name is not <file>.<YYYY-MM-DD_HH-MM-SS.ffffff>: ${backups[0]}"
cmp -s "${backups[0]}" cfg.orig || fail "backup does not hold the old content"
ok "backup ${backups[0]} holds the old config"

B=.t-$UUID
D=$B.d
[ -f "$B" ] || fail "cert+key file $B missing"
[ "$(stat -c %a "$B")" = 600 ] || fail "$B is not mode 600"
has "BEGIN CERTIFICATE" "$B" && has "PRIVATE KEY-----" "$B" || fail "$B lacks the certificate or the key"
[ "$(openssl x509 -in "$B")" = "$(openssl x509 -in "$D/client-cert.pem")" ] ||
	fail "$B does not start with client-cert.pem"
[ "$(pub_of_key "$B")" = "$(pub_of_cert "$B")" ] || fail "the key in $B does not match its certificate"
for f in client-ca.pem client-ca-key.pem client-csr.pem client-cert-key.pem client-cert.pem client-cert-bundle.pem; do
	[ -s "$D/$f" ] || fail "$D/$f missing"
done
[ "$(stat -c %a "$D/client-ca-key.pem")" = 600 ] || fail "CA key is not mode 600"
ok "$B holds the client certificate and its key; $D has the six files"

openssl verify -CAfile "$D/client-ca.pem" "$D/client-cert.pem" >"$TMP/v" 2>&1 || fail "openssl verify: $(cat "$TMP/v")"
openssl verify -CAfile "$D/client-ca.pem" -purpose sslclient "$D/client-cert.pem" >/dev/null 2>&1 ||
	fail "client cert not valid for sslclient"
ok "openssl verify: client certificate chains to the CA"
CA_DN="C = US, ST = NY, L = Armonk, O = IBM, OU = Digital Assets, CN = Client CA"
[ "$(subj "$D/client-ca.pem")" = "$CA_DN" ] || fail "CA subject: $(subj "$D/client-ca.pem")"
[ "$(subj "$D/client-cert.pem")" = "C = US, ST = NY, L = Armonk, O = IBM, OU = Digital Assets, CN = Client" ] ||
	fail "client subject: $(subj "$D/client-cert.pem")"
[ "$(openssl x509 -in "$D/client-cert.pem" -noout -issuer | sed 's/^issuer=//')" = "$CA_DN" ] ||
	fail "client issuer is not the CA"
ok "subjects: CN=Client CA and CN=Client under C=US/ST=NY/L=Armonk/O=IBM/OU=Digital Assets"
text "$D/client-ca.pem" >"$TMP/ca.txt"
text "$D/client-cert.pem" >"$TMP/cl.txt"
has "CA:TRUE" "$TMP/ca.txt" || fail "CA lacks CA:TRUE"
has "Certificate Sign, CRL Sign" "$TMP/ca.txt" || fail "CA key usage is not keyCertSign+cRLSign"
has "CA:FALSE" "$TMP/cl.txt" || fail "client cert lacks CA:FALSE"
eku_both "$TMP/cl.txt" || fail "client EKU is not clientAuth+serverAuth"
has "Digital Signature" "$TMP/cl.txt" || fail "client key usage lacks digitalSignature"
ok "extensions: CA:TRUE + keyCertSign/cRLSign on the CA; CA:FALSE, EKU client+server on the client"
for f in "$TMP/ca.txt" "$TMP/cl.txt"; do
	has "id-ecPublicKey" "$f" && has "prime256v1" "$f" || fail "not an ECDSA P-256 key by default"
	has "ecdsa-with-SHA256" "$f" || fail "not signed with ECDSA SHA-256"
done
ok "keys are ECDSA P-256 by default, signatures ecdsa-with-SHA256"
openssl x509 -in "$D/client-ca.pem" -noout -checkend $((729 * 86400)) >/dev/null || fail "CA valid < 729 days"
! openssl x509 -in "$D/client-ca.pem" -noout -checkend $((731 * 86400)) >/dev/null || fail "CA valid > 731 days"
openssl x509 -in "$D/client-cert.pem" -noout -checkend $((364 * 86400)) >/dev/null || fail "client valid < 364 days"
! openssl x509 -in "$D/client-cert.pem" -noout -checkend $((366 * 86400)) >/dev/null || fail "client valid > 366 days"
for f in client-ca.pem client-cert.pem; do
	s=$((16#$(openssl x509 -in "$D/$f" -noout -serial | sed 's/serial=//')))
	[ "$s" -ge 50000000 ] && [ "$s" -le 100000000 ] || fail "$f serial $s outside [5e7, 1e8]"
done
ok "validity 2 years (CA) and 1 year (client); serials in [50000000, 100000000]"

sha() { sha256sum cfg.json "$B" "$D"/*.pem | sha256sum; }
before=$(sha)
sbs create-client-cert --env cfg.json || fail "second create-client-cert failed"
[ "$(sha)" = "$before" ] || fail "second create-client-cert changed files"
[ "$(ls cfg.json.* | wc -l)" -eq 1 ] || fail "second run rewrote the config"
ok "create-client-cert again reuses everything (no file changed, no new backup)"

# ---- create-server-cert ----
sbs create-server-cert --env cfg.json || fail "create-server-cert failed"
S=$D/server-cert.pem
for f in server-cert.pem server-cert-key.pem server-csr.pem; do [ -s "$D/$f" ] || fail "$D/$f missing"; done
openssl verify -CAfile "$D/client-ca.pem" -purpose sslserver -verify_hostname "$HOST" "$S" >"$TMP/v" 2>&1 ||
	fail "openssl verify server: $(cat "$TMP/v")"
ok "openssl verify: server certificate chains to the CA, valid for $HOST"
text "$S" >"$TMP/srv.txt"
grep -A1 "Subject Alternative Name" "$TMP/srv.txt" | grep -q "^ *DNS:$HOST\$" || fail "server SAN is not DNS:$HOST"
grep -A1 "Extended Key Usage" "$TMP/srv.txt" | grep -q "^ *TLS Web Server Authentication\$" ||
	fail "server EKU is not serverAuth only"
[ "$(subj "$S")" = "C = US, ST = NY, L = Armonk, O = IBM, OU = Digital Assets, CN = Server" ] ||
	fail "server subject: $(subj "$S")"
[ "$(pub_of_key "$D/server-cert-key.pem")" = "$(pub_of_cert "$S")" ] || fail "server key does not match"
[ "$(stat -c %a "$D/server-cert-key.pem")" = 600 ] || fail "server key is not mode 600"
ok "server certificate: CN=Server, SAN DNS:$HOST, EKU serverAuth only, key matches"
before=$(sha)
sbs create-server-cert --env cfg.json || fail "second create-server-cert failed"
[ "$(sha)" = "$before" ] || fail "second create-server-cert regenerated a certificate with the right SAN"
ok "create-server-cert again keeps the certificate (SAN unchanged)"

# ---- instance-env ----
sbs instance-env --env cfg.json || fail "instance-env failed"
cp "$TMP/out" env.out
openssl x509 -in "$B" >"$TMP/crt.pem"
for pair in CLIENT_CRT:"$TMP/crt.pem" CLIENT_CA:"$D/client-ca.pem" SERVER_CRT:"$S" SERVER_KEY:"$D/server-cert-key.pem"; do
	name=${pair%%:*} file=${pair#*:}
	line=$(grep "^$name: \"" env.out) || fail "instance-env printed no $name line"
	[[ "$line" =~ ^$name:\ \"([A-Za-z0-9+/=]+)\"$ ]] || fail "$name line is not NAME: \"base64\""
	printf '%s' "${BASH_REMATCH[1]}" | base64 -d >"$TMP/dec" || fail "$name is not base64"
	cmp -s "$TMP/dec" "$file" || fail "$name does not decode to the bytes of $file"
done
ok "instance-env: CLIENT_CRT, CLIENT_CA, SERVER_CRT, SERVER_KEY decode to the exact file bytes"
has "SERVER_KEY" "$TMP/err" && grep -qi "warning" "$TMP/err" && has "CSR" "$TMP/err" ||
	fail "instance-env does not warn about the plain SERVER_KEY"
ok "instance-env warns that SERVER_KEY is plain and recommends the CSR flow"
jq '.RUNTIME_TYPE = "classic"' cfg.json >classic.json
sbs instance-env --env classic.json || fail "instance-env (classic) failed"
grep -Eq '^-e CLIENT_CRT=[A-Za-z0-9+/=]+ -e CLIENT_CA=[A-Za-z0-9+/=]+ -e SERVER_CRT=[A-Za-z0-9+/=]+ -e SERVER_KEY=[A-Za-z0-9+/=]+$' "$TMP/out" ||
	fail "classic instance-env is not one line of -e NAME=value"
ok "instance-env (classic): one line of -e NAME=value"

# ---- sign-csr ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout x.key -subj /CN=x \
	-addext "subjectAltName=DNS:$HOST" -out x.csr 2>/dev/null || fail "openssl req failed"
mkdir signed
sbs sign-csr --env cfg.json --csrpath x.csr --certpath signed/x.pem \
	--capath "$D/client-ca.pem" --cakeypath "$D/client-ca-key.pem" || fail "sign-csr failed"
openssl verify -CAfile "$D/client-ca.pem" -verify_hostname "$HOST" signed/x.pem >"$TMP/v" 2>&1 ||
	fail "openssl verify signed CSR: $(cat "$TMP/v")"
text signed/x.pem >"$TMP/x.txt"
grep -A1 "Subject Alternative Name" "$TMP/x.txt" | grep -q "^ *DNS:$HOST\$" || fail "signed cert SAN is not the CSR's"
[ "$(openssl req -in x.csr -noout -pubkey)" = "$(pub_of_cert signed/x.pem)" ] || fail "signed cert key is not the CSR's"
eku_both "$TMP/x.txt" || fail "signed cert EKU is not clientAuth+serverAuth"
ok "sign-csr: openssl-made CSR signed, verified by openssl, SAN DNS:$HOST copied"
if sbs sign-csr --env cfg.json --csrpath does-not-exist.csr; then fail "sign-csr of a missing CSR succeeded"; fi
has "get-server-csr" "$TMP/err" || fail "sign-csr without a CSR does not say what to do"
ok "sign-csr without a CSR fails and points to get-server-csr"

# ---- RSA, refusal of a partial set, delete-certificates ----
mkdir "$TMP/rsa" && cd "$TMP/rsa"
mkcfg cfg.json
sbs create-client-cert --rsa --env cfg.json || fail "create-client-cert --rsa failed"
UUID=$(jq -r .UUID cfg.json)
B=.t-$UUID D=$B.d
openssl verify -CAfile "$D/client-ca.pem" "$D/client-cert.pem" >/dev/null 2>&1 || fail "RSA client cert does not verify"
for f in "$D/client-ca.pem" "$D/client-cert.pem"; do
	text "$f" >"$TMP/r.txt"
	has "rsaEncryption" "$TMP/r.txt" && has "Public-Key: (2048 bit)" "$TMP/r.txt" || fail "$f is not RSA 2048"
	has "sha256WithRSAEncryption" "$TMP/r.txt" || fail "$f is not signed with sha256WithRSAEncryption"
done
[ "$(pub_of_key "$B")" = "$(pub_of_cert "$B")" ] || fail "RSA key in $B does not match"
ok "create-client-cert --rsa: RSA 2048 keys, sha256WithRSAEncryption, verified by openssl"
mv "$B" "$TMP/saved"
if sbs create-client-cert --env cfg.json; then fail "partial set was overwritten"; fi
has "already exists" "$TMP/err" || fail "refusal does not say what exists"
[ -s "$D/client-ca.pem" ] || fail "refusal deleted files"
ok "create-client-cert refuses to overwrite a partial set"
sbs delete-certificates --env cfg.json || fail "delete-certificates failed"
[ ! -e "$D" ] || fail "$D still exists after delete-certificates"
sbs create-client-cert --env cfg.json || fail "create-client-cert after delete-certificates failed"
openssl verify -CAfile "$D/client-ca.pem" "$D/client-cert.pem" >/dev/null 2>&1 || fail "new set does not verify"
ok "delete-certificates removes the set; create-client-cert makes a new one"
jq '.HOSTNAME = "other.example.test"' cfg.json >other.json
sbs create-server-cert --env cfg.json || fail "create-server-cert (rsa dir) failed"
sbs create-server-cert --env other.json || fail "create-server-cert with a new HOSTNAME failed"
openssl x509 -in "$D/server-cert.pem" -noout -ext subjectAltName | grep -q "DNS:other.example.test" ||
	fail "a changed HOSTNAME did not regenerate the server certificate"
ok "create-server-cert regenerates when HOSTNAME changes"

# ---- appliance-env: the pvattest request rides in the env as SBS_ATTEST_REQUEST ----
mkdir -p "$TMP/app" && cd "$TMP/app"
mkcfg cfg.json
sbs create-client-cert --env cfg.json || fail "create-client-cert (appliance dir) failed"
head -c 3000 /dev/urandom >req.bin
sbs appliance-env --env cfg.json --out env.cpio --attest-request-file req.bin ||
	fail "appliance-env --attest-request-file failed"
cpio -i --quiet --to-stdout etc/sbs/env <env.cpio >env.txt 2>/dev/null || fail "env.cpio is not a cpio holding etc/sbs/env"
sed -n 's/^SBS_ATTEST_REQUEST=//p' env.txt | base64 -d >req.back || fail "SBS_ATTEST_REQUEST is not base64"
cmp -s req.bin req.back || fail "SBS_ATTEST_REQUEST does not decode to the request file"
grep -q '^SBS_WORKLOAD_SEED=' env.txt || fail "the env lost its seeds"
jq '.ATTEST_REQUEST_FILE = "req.bin"' cfg.json >cfg2.json
sbs appliance-env --env cfg2.json --out env2.cpio || fail "appliance-env with ATTEST_REQUEST_FILE failed"
cpio -i --quiet --to-stdout etc/sbs/env <env2.cpio | grep -q '^SBS_ATTEST_REQUEST=' ||
	fail "ATTEST_REQUEST_FILE in the config did not reach the env"
sbs appliance-env --env cfg.json --out env3.cpio || fail "appliance-env without a request file failed"
cpio -i --quiet --to-stdout etc/sbs/env <env3.cpio | grep -q '^SBS_ATTEST_REQUEST=' &&
	fail "SBS_ATTEST_REQUEST present without a request file"
sbs appliance-env --env cfg.json --out env4.cpio --attest-request-file missing.bin &&
	fail "appliance-env accepted a missing request file"
[ ! -e env4.cpio ] || fail "a failed appliance-env left env4.cpio"
head -c 60000 /dev/zero >big.bin
sbs appliance-env --env cfg.json --out env5.cpio --attest-request-file big.bin &&
	fail "appliance-env accepted a request that cannot fit the env"
[ ! -e env5.cpio ] || fail "a failed appliance-env left env5.cpio"
ok "appliance-env: --attest-request-file / ATTEST_REQUEST_FILE put the request in the env as base64; missing or oversize files refused, nothing written"
cd "$TMP"

# ---- SBS_TIMEOUT: checked, and it bounds a wait for a server that never answers ----
mkcfg tcfg.json
SBS_TIMEOUT=abc sbs status --env tcfg.json --noverify && fail "SBS_TIMEOUT=abc accepted"
has "SBS_TIMEOUT must be" "$TMP/err" || fail "no message for SBS_TIMEOUT=abc"
SBS_TIMEOUT=0 sbs status --env tcfg.json --noverify && fail "SBS_TIMEOUT=0 accepted"
SBS_TIMEOUT=3601 sbs status --env tcfg.json --noverify && fail "SBS_TIMEOUT=3601 accepted"
# a listener that accepts and never says anything: the handshake waits in vain
SP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); c=s.accept(); time.sleep(60)' "$SP" &
SILENT=$!
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$SP") 2>/dev/null && break; sleep 0.1; done
jq --arg p "$SP" '.CICD_PORT = $p | .HOSTNAME = "localhost"' tcfg.json >tcfg2.json
sbs create-client-cert --env tcfg2.json || fail "create-client-cert (timeout test) failed"
SBS_TIMEOUT=1 sbs status --env tcfg2.json --noverify && fail "status against a silent server succeeded"
kill "$SILENT" 2>/dev/null || true; wait "$SILENT" 2>/dev/null || true
has "timed out after 1 s" "$TMP/err" || fail "SBS_TIMEOUT=1 did not bound the wait: $(cat "$TMP/err")"
ok "SBS_TIMEOUT: malformed, 0 and over 3600 refused; 1 bounds the wait for a silent server"

echo "all $n checks passed"
