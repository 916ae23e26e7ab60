FROM alpine
RUN --network=host curl x
