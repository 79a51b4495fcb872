# title: the subscription beyond max_subscriptions is refused, the connection stays (12.16)
natsd-conf: max_subscriptions = 3;
nats-conf: max_subscriptions: 3
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n
recv a
send a PUB d 1\r\nx\r\nPUB c 1\r\ny\r\nPING\r\n
recv a
