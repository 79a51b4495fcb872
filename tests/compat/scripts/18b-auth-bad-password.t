# title: a bad password, or a first op other than CONNECT (even PING), is an Authorization Violation (12.18)
args: --user a --pass b
connect a
send a CONNECT {"verbose":false,"pedantic":false,"user":"a","pass":"wrong"}\r\n
closed a
connect b
send b SUB foo 1\r\n
closed b
connect c
send c PING\r\n
closed c
connect d
send d CONNECT {"verbose":false,"pedantic":false,"user":"a","pass":"b"}\r\nPING\r\n
recv d
