# unknowndirective=value
# escape=`
FROM busybox
COPY a c:\
RUN echo \
  done
