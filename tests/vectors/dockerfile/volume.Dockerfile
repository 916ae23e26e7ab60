FROM alpine
ENV D=/data
VOLUME ["/var/log", "$D"]
VOLUME /a /b $D
