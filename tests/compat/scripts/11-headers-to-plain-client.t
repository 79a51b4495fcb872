# title: a client without headers gets a header message as MSG with the payload only; its HPUB closes it (12.11)
connect plain
send plain CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo 1\r\nPING\r\n
recv plain
connect h
send h CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB foo 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\nHPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n
recv h
send plain PING\r\n
recv plain
send plain HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n
closed plain
