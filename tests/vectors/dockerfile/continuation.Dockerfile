FROM debian:bookworm
RUN apt-get update && \
    apt-get install -y \
# a comment inside the continuation is dropped
      curl \

      git \
    && rm -rf /var/lib/apt/lists/*
RUN echo one \    
two
