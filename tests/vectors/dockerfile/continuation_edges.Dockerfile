FROM alpine
RUN echo a\\
b
RUN echo "x" \
# comment ending in backslash \
    y
RUN echo last \
