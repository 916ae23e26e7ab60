FROM alpine
HEALTHCHECK CURL http://x/
