FROM alpine
ENV A=1
COPY \$A '$A' "$A" ${A}b $$ /dst/
