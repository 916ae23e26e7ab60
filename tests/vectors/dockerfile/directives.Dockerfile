# syntax=docker/dockerfile:1.7
#  ESCAPE = `
# comment
# escape=\
FROM busybox
RUN echo a `
  b
