FROM alpine
HEALTHCHECK --retries=2 CMD
