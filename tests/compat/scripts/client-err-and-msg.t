# title: -ERR from a client closes it; MSG and other server-only ops are unknown operations
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\n-ERR 'oops'\r\n
closed a
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nMSG foo 1 1\r\nx\r\n
closed b
connect c
send c CONNECT {"verbose":false,"pedantic":false}\r\nRS+ $G foo\r\n
closed c
connect d
send d CONNECT {"verbose":false,"pedantic":false}\r\nLS+ foo\r\n
closed d
connect f
send f CONNECT {"verbose":false,"pedantic":false}\r\nFOO bar\r\n
closed f
connect g
send g CONNECT {"verbose":false,"pedantic":false}\r\nA+ foo\r\nPING\r\n
closed g
connect h
send h CONNECT {"verbose":false,"pedantic":false}\r\nRMSG $G foo 1\r\nx\r\n
closed h
