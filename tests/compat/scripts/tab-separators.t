# title: tabs and runs of spaces separate arguments
connect a
send a CONNECT\t{"verbose":false,"pedantic":false}\r\nSUB\tfoo\t\t1\r\nSUB   foo  \t q   2\r\nPING\r\n
recvset a
send a PUB\tfoo\t \t2\r\nhi\r\nPING\r\n
recvset a
send a PUB foo \trep\t 3\r\nabc\r\nUNSUB\t1\r\nUNSUB 2 \t\r\nPUB foo 1\r\nx\r\nPING\r\n
recvset a
