# title: bad or negative sizes close the connection without -ERR; a bad UNSUB max unsubscribes
# (nats-server reads a bad or negative UNSUB max as "no max": the subscription goes at once)
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo -1\r\n
closed a
connect b
send b CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo abc\r\n
closed b
connect c
send c CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo 1x\r\n
closed c
connect d
send d CONNECT {"verbose":false,"pedantic":false}\r\nPUB foo 99999999999999999999\r\n
closed d
connect e
send e CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB foo 10 5\r\n
closed e
connect f
send f CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nHPUB foo -1 5\r\n
closed f
connect g
send g CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo 1\r\nUNSUB 1 abc\r\nPUB foo 1\r\nx\r\nPING\r\n
recv g
connect h
send h CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo 1\r\nUNSUB 1 -1\r\nPUB foo 1\r\nx\r\nPING\r\n
recv h
