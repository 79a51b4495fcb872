# title: clients may not publish to _GR_. nor use _R_., $JS.ACK. or _GR_. replies
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nSUB > 1\r\nPING\r\n
recv b
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nPUB _GR_.x 1\r\n1\r\nPING\r\n
recv a
send a PUB foo _R_.x 1\r\n2\r\nPING\r\n
recv a
send a PUB foo $JS.ACK.x 1\r\n3\r\nPING\r\n
recv a
send a PUB foo _GR_.x 1\r\n4\r\nPING\r\n
recv a
send a PUB foo _R_ 1\r\n5\r\nPUB _R_.x 1\r\n6\r\nPING\r\n
recv a
send b PING\r\n
recv b
