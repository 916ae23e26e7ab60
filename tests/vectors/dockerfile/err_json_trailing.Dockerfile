FROM alpine
CMD ["a"] x
