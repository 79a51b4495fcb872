# title: before CONNECT the connection is verbose; CONNECT {} keeps it so (12.2)
connect a
send a pub foo 1\r\nx\r\nPING\r\n
recv a
# An empty CONNECT leaves verbose, pedantic and echo at their defaults (true).
connect b
send b CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n
recv b
