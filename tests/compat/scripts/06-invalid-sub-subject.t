# title: SUB with an empty token or '>' not last gives -ERR and stays open (12.6)
connect a
send a CONNECT {"verbose":false}\r\nSUB foo. 1\r\nPING\r\n
recv a
send a SUB foo..bar 2\r\nPING\r\n
recv a
send a SUB .foo 3\r\nPING\r\n
recv a
send a SUB foo.>.bar 4\r\nPING\r\n
recv a
send a SUB foo.* q 5\r\nSUB > 6\r\nSUB foo.*bar 7\r\nPING\r\n
recv a
closed a 200
