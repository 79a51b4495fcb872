# title: wrong argument counts close the connection without -ERR
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo\r\n
closed a
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nSUB a b c d\r\n
closed b
connect c
send c CONNECT {"verbose":false,"pedantic":false}\r\nUNSUB 1 2 3\r\n
closed c
connect d
send d CONNECT {"verbose":false,"pedantic":false}\r\nPUB a b c 1\r\n
closed d
connect e
send e CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB foo 12\r\n
closed e
connect f
send f CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB a b c 12 12\r\n
closed f
connect g
send g CONNECT\r\n
closed g
