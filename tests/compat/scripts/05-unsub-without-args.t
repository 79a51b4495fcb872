# title: op name followed by CR is an unknown op; a missing size closes silently (12.5)
connect a
send a CONNECT {"verbose":false}\r\nUNSUB\r\n
closed a
connect b
send b CONNECT {"verbose":false}\r\nPUB foo\r\n
closed b
