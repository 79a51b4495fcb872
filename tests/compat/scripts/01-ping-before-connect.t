# title: PING is answered before CONNECT; text after PING is ignored (12.1)
connect a
send a PING\r\n
recv a
send a PING xyz\r\n
recv a
send a CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n
recv a
