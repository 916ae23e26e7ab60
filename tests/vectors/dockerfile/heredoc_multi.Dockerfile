FROM alpine
RUN cat <<A <<-B 3<<"C" > /all
a1
A
	b1
	B
c1 $X
C
COPY <<one <<two /dest/
1
one
2
two
