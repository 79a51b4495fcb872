# title: SUB with a sid already in use on the connection is ignored (+OK when verbose)
connect a
send a CONNECT {"verbose":true,"pedantic":false}\r\nSUB foo 1\r\nSUB bar 1\r\nSUB foo 1\r\nPING\r\n
recv a
send a PUB bar 1\r\nx\r\nPUB foo 1\r\ny\r\nPING\r\n
recv a
