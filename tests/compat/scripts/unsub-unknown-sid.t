# title: UNSUB of an unknown sid is accepted silently (+OK when verbose)
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nUNSUB 99\r\nUNSUB 98 5\r\nPING\r\n
recv a
connect b
send b CONNECT {"verbose":true,"pedantic":false}\r\nUNSUB 99\r\nPING\r\n
recv b
