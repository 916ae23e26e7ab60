FROM a
COPY --chown a b
