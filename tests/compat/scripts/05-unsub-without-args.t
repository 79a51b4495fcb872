# title: an op name followed by CR is an unknown op; a missing size closes silently (12.5)
connect a
send a CONNECT {"verbose":false}\r\nUNSUB\r\n
closed a
connect b
send b CONNECT {"verbose":false}\r\nPUB foo\r\n
closed b
# The same for the other ops with arguments; CONNECT and INFO differ:
# their argument is JSON, and an empty one is a JSON error (silent close).
connect c
send c CONNECT {"verbose":false}\r\nSUB\r\n
closed c
connect d
send d CONNECT {"verbose":false}\r\nPUB\r\n
closed d
connect e
send e CONNECT {"verbose":false,"headers":true}\r\nHPUB\r\n
closed e
connect f
send f CONNECT\r\n
closed f
connect g
send g CONNECT {"verbose":false}\r\nINFO\r\n
closed g
connect h
send h CONNECT {"verbose":false}\r\nSUB \r\n
closed h
