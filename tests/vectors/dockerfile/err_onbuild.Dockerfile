FROM alpine
ONBUILD RUN make
