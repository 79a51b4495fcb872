# title: HPUB with header size 0 is a plain MSG; header bytes are not validated
connect a
send a CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB foo 1\r\nPING\r\n
recv a
send a HPUB foo 0 5\r\nhello\r\nPING\r\n
recv a
send a HPUB foo 7 9\r\nabc\r\n\r\nhi\r\nPING\r\n
recv a
send a HPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n
recv a
