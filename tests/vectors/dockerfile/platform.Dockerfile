ARG BASE=alpine
FROM --platform=$BUILDPLATFORM $BASE AS b
FROM --platform=linux/s390x b
