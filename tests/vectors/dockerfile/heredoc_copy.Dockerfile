FROM alpine
ARG NAME=world
COPY <<EOF /greeting
hello ${NAME} \$NAME "$NAME"
EOF
COPY <<'EOF' /literal
hello ${NAME}
EOF
COPY <<"EOF" /dq
$NAME
EOF
