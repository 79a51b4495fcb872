# title: INFO, +OK and PONG from a client are accepted silently
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nINFO {"server_id":"x"}\r\n+OK\r\nPONG\r\nPING\r\n
recv a
send a INFO {}\r\nPING\r\n
recv a
