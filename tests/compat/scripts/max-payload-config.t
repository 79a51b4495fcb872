# title: a configured max_payload is advertised in INFO and enforced on PUB and HPUB
natsd-conf: max_payload = 100;
nats-conf: max_payload: 100
connect a
send a CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB foo 1\r\nPUB foo 10\r\n0123456789\r\nPING\r\n
recv a
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo 101\r\n
closed b
connect c
send c CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB foo 12 101\r\n
closed c
connect d
send d CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo 100\r\n0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\r\nPING\r\n
recv d
send a PING\r\n
recv a
