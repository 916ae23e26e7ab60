FROM alpine
# comment

RUN a \
    b
RUN c

COPY x \
  y
# another comment

FOO bar
