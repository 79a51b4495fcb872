# title: verbose +OK answers CONNECT, SUB, UNSUB, PUB and HPUB, and comes before the MSG a PUB causes
connect a
send a CONNECT {"verbose":true,"pedantic":false,"headers":true}\r\nPING\r\n
recv a
send a SUB foo 1\r\nPUB foo 5\r\nhello\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n
recv a
send a UNSUB 1\r\nPUB foo 1\r\nx\r\nPING\r\n
recv a
# Errors that keep the connection open get no +OK.
send a SUB foo. 2\r\nPING\r\n
recv a
