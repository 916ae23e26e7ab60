FROM alpine
RUN <<-EOT sh
	echo tab-indented
		two tabs
	  tab then spaces
	EOT
