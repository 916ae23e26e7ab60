FROM alpine
RUN --from=x echo
