# title: accounts are separate subject spaces; users in accounts {} log into theirs
natsd-conf: accounts = { A = { users = ( { user = "a"; password = "a"; } ); };
natsd-conf:              B = { users = ( { user = "b"; password = "b"; } ); }; };
nats-conf: accounts { A { users [ {user: a, password: a} ] }
nats-conf:            B { users [ {user: b, password: b} ] } }
connect a
send a CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nSUB x 1\r\nPING\r\n
recv a
connect b
send b CONNECT {"verbose":false,"user":"b","pass":"b"}\r\nSUB x 1\r\nPUB x 3\r\nb->\r\nPING\r\n
recv b
send a PUB x 3\r\na->\r\nPING\r\n
recv a
send b PING\r\n
recv b
connect c
send c CONNECT {"verbose":false,"user":"a","pass":"wrong"}\r\n
closed c
