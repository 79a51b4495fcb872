# title: UNSUB with a max delivers exactly that many messages (12.12)
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB a 1\r\nUNSUB 1 2\r\nPUB a 1\r\n1\r\nPUB a 1\r\n2\r\nPUB a 1\r\n3\r\nPING\r\n
recv a
# The sid is gone: a fourth publish reaches nothing.
send a PUB a 1\r\n4\r\nPING\r\n
recv a
