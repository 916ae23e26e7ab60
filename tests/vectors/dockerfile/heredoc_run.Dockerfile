FROM alpine
RUN <<EOF
set -e
echo "hello $USER"
  indented
EOF
RUN python3 <<PY > /out.txt
print("hi")
PY
CMD ["sh"]
