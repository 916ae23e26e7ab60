FROM alpine
RUN --network=none echo offline
RUN --network=default echo online
