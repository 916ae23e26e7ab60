ARG A=1
ARG B=${A}2
FROM alpine
ARG B
RUN echo $B
