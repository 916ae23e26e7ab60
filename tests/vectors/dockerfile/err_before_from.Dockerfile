# build
ARG X=1
RUN echo
FROM a
