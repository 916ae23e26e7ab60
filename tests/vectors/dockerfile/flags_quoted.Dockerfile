FROM alpine
COPY --chown="app user" -- --weird-name /dst
