# title: echo false keeps a connection's own messages from its own subscriptions (12.13)
connect a
send a CONNECT {"verbose":false,"pedantic":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 2\r\nme\r\nPING\r\n
recv a
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo 3\r\nyou\r\nPING\r\n
recv b
send a PING\r\n
recv a
