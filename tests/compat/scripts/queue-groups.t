# title: one member of a queue group receives each message; plain subscribers all receive
connect q1
send q1 CONNECT {"verbose":false,"pedantic":false}\r\nSUB work grp 1\r\nPING\r\n
recv q1
connect q2
send q2 CONNECT {"verbose":false,"pedantic":false}\r\nSUB work grp 1\r\nPING\r\n
recv q2
connect p1
send p1 CONNECT {"verbose":false,"pedantic":false}\r\nSUB work 1\r\nSUB work other 2\r\nPING\r\n
recv p1
connect p2
send p2 CONNECT {"verbose":false,"pedantic":false}\r\nSUB work 1\r\nPING\r\n
recv p2
connect pub
send pub CONNECT {"verbose":false,"pedantic":false}\r\nPUB work 1\r\n1\r\nPUB work 1\r\n2\r\nPUB work 1\r\n3\r\nPUB work 1\r\n4\r\nPING\r\n
recv pub
send q1 PING\r\n
send q2 PING\r\n
recvset q1 q2
send p1 PING\r\n
recvset p1
send p2 PING\r\n
recv p2
