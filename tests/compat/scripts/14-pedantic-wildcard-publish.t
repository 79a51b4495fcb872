# title: pedantic publish to a wildcard subject is reported and delivered anyway (12.14)
connect a
send a CONNECT {"verbose":false,"pedantic":true}\r\nSUB > 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n
recv a
send a PUB foo.> 1\r\ny\r\nPUB foo..bar 1\r\nz\r\nPING\r\n
recv a
# Not pedantic: no error.
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo.* 1\r\nw\r\nPING\r\n
recv b
send a PING\r\n
recv a
