# title: UNSUB with a max already reached removes the subscription at once; a higher max lets the rest through
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB a 1\r\nSUB a 2\r\nPUB a 1\r\n1\r\nPUB a 1\r\n2\r\nPING\r\n
recvset a
send a UNSUB 1 2\r\nUNSUB 2 3\r\nPUB a 1\r\n3\r\nPUB a 1\r\n4\r\nPING\r\n
recv a
send a UNSUB 2 0\r\nSUB b 3\r\nUNSUB 3 1\r\nPUB b 1\r\n5\r\nPUB b 1\r\n6\r\nPING\r\n
recv a
