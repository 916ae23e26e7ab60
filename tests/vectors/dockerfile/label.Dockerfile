FROM alpine
ARG V=2.1
LABEL org.opencontainers.image.title="My App" version=$V \
      description="multi \
line"
LABEL "quoted key"=v empty=
