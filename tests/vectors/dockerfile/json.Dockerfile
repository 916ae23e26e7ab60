FROM alpine
RUN [ -f /etc/os-release ] && echo yes
CMD [ "echo", "a\"b", "tab\there", "\u00e9\ud83d\ude00", "\ud800x", "a\/b" ]
ENTRYPOINT []
