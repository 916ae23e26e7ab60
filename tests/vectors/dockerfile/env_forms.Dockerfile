FROM alpine
ENV A=1 B="two words" C='single $A' D=\$A
ENV E $A and   more
ENV F=${A}x G=$B
ENV A=2 H=$A
RUN echo $A
