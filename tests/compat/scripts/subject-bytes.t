# title: any non-whitespace byte may be in a subject or sid, any byte in a payload; an empty token matches nothing
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB a\x01b sid-\xc3\xa9 \r\nSUB \xe2\x82\xac.* s.1\r\nSUB > all\r\nPING\r\n
recv a
send a PUB a\x01b 1\r\nx\r\nPING\r\n
recvset a
send a PUB \xe2\x82\xac.y 1\r\ny\r\nPING\r\n
recvset a
send a PUB foo..bar 1\r\nz\r\nPUB .foo 1\r\nz\r\nPUB foo. 1\r\nz\r\nPING\r\n
recv a
send a PUB bin 5\r\n\r\n\x00\xff.\r\nPING\r\n
recv a
