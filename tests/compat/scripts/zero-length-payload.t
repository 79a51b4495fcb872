# title: zero-length payloads, with and without a reply subject
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo 1\r\nPUB foo 0\r\n\r\nPUB foo r 0\r\n\r\nPING\r\n
recv a
