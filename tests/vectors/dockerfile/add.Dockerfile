FROM alpine
ADD --chown=1:2 --chmod=0644 app.tar.gz /opt/
ADD ["file with space.txt", "/dst/"]
