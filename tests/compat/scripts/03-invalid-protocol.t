# title: CONNECT protocol other than 0 or 1 is refused and the connection closed (12.3)
connect a
send a CONNECT {"verbose":false,"protocol":2}\r\n
closed a
connect b
send b CONNECT {"verbose":false,"protocol":0}\r\nPING\r\n
recv b
connect c
send c CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n
recv c
connect d
send d CONNECT {"verbose":false,"protocol":-1}\r\n
closed d
