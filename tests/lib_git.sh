# SPDX-License-Identifier: MIT
# Git over smart HTTP for the integration tests (sourced after lib.sh).
#
# start_git_http [CGI]: serves the bare repositories under $TMP/srv as
# http://127.0.0.1:$HP/git/<name>.git, through lighttpd and git http-backend
# (or CGI: a wrapper that ends by exec'ing git http-backend, e.g. to log
# requests). Listens on 127.0.0.1 only; lib.sh's EXIT trap stops it. Sets HP.
start_git_http() {
	local cgi=${1:-$(git --exec-path)/git-http-backend}
	HP=$(free_port)
	mkdir -p "$TMP/www" "$TMP/srv"
	cat >"$TMP/lighttpd.conf" <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )
server.document-root = "$TMP/www"
server.bind = "127.0.0.1"
server.port = $HP
server.errorlog = "$TMP/lighttpd.err"
alias.url = ( "/git/" => "$cgi/" )
\$HTTP["url"] =~ "^/git/" {
	cgi.assign = ( "" => "" )
	setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$TMP/srv", "GIT_HTTP_EXPORT_ALL" => "1",
				   "GIT_CONFIG_NOSYSTEM" => "1", "HOME" => "$TMP" )
}
EOF
	lighttpd -D -f "$TMP/lighttpd.conf" >"$TMP/lighttpd.out" 2>&1 &
	PIDS+=($!)
	wait_tcp "$HP" 20 || { cat "$TMP/lighttpd.out" "$TMP/lighttpd.err" >&2; fail "lighttpd did not start"; }
}
