FROM alpine
HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --retries=3 \
  CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --start-interval=500ms cmd ["wget", "-q", "-O-", "http://x/"]
HEALTHCHECK NONE
