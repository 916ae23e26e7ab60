FROM a
ADD --checksum=sha256:abc https://x/y /z
