   # indented comment
	FROM alpine   
  RUN echo # not a comment
