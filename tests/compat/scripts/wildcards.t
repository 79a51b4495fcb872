# title: '*' matches one token, '>' one or more; a wildcard is only a whole token
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nSUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nSUB *.bar 4\r\nSUB foo 5\r\nSUB foo.*bar 6\r\nSUB *.*.* 7\r\nPING\r\n
recv a
send a PUB foo.bar 1\r\nA\r\nPING\r\n
recvset a
send a PUB foo 1\r\nB\r\nPING\r\n
recvset a
send a PUB foo.bar.baz 1\r\nC\r\nPING\r\n
recvset a
send a PUB foo.*bar 1\r\nD\r\nPING\r\n
recvset a
send a PUB x.bar 1\r\nE\r\nPING\r\n
recvset a
# A published wildcard is a literal token: it matches '*' and '>' subscriptions.
send a PUB foo.* 1\r\nF\r\nPUB foo.x.> 1\r\nG\r\nPING\r\n
recvset a
# Subjects are case-sensitive.
send a PUB FOO.bar 1\r\nH\r\nPING\r\n
recvset a
