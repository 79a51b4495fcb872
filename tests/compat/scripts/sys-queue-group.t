# title: the queue group name _sys_ is refused for clients
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo _sys_ 1\r\nPING\r\n
recv a
send a PUB foo 1\r\nx\r\nPING\r\n
recv a
