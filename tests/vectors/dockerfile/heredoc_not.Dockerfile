FROM alpine
RUN cat <<<"not a heredoc" '<<NOPE'
RUN cat <<EOF>out; echo done
x
EOF
RUN ["cat", "<<EOF"]
ENV A=<<EOF
