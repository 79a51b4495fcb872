# title: a CONNECT that is not valid JSON closes the connection without -ERR
connect a
send a CONNECT {bad\r\n
closed a
connect b
send b CONNECT verbose\r\n
closed b
connect c
send c CONNECT {"verbose":"yes"}\r\n
closed c
connect d
send d CONNECT {"verbose":false,"pedantic":false} trailing\r\n
closed d
connect e
send e CONNECT {"verbose":false,"pedantic":false,"unknown_field":[1,2],"max_payload":5}\r\nPING\r\n
recv e
