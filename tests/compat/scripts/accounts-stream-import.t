# title: stream exports and imports, with prefix and with to; exports for named accounts only
natsd-conf: accounts = {
natsd-conf:   A = { users = ( { user = "a"; password = "a"; } );
natsd-conf:         exports = ( { stream = "foo.>"; }, { stream = "only.b"; accounts = ["B"]; },
natsd-conf:                     { stream = "map.*.x"; } ); };
natsd-conf:   B = { users = ( { user = "b"; password = "b"; } );
natsd-conf:         imports = ( { stream = { account = "A"; subject = "foo.>"; }; prefix = "fromA"; },
natsd-conf:                     { stream = { account = "A"; subject = "only.b"; }; },
natsd-conf:                     { stream = { account = "A"; subject = "map.*.x"; }; to = "mapped.*"; } ); };
natsd-conf:   C = { users = ( { user = "c"; password = "c"; } );
natsd-conf:         imports = ( { stream = { account = "A"; subject = "foo.>"; }; } ); }; };
nats-conf: accounts {
nats-conf:   A { users [ {user: a, password: a} ]
nats-conf:       exports [ {stream: "foo.>"}, {stream: "only.b", accounts: [B]}, {stream: "map.*.x"} ] }
nats-conf:   B { users [ {user: b, password: b} ]
nats-conf:       imports [ {stream: {account: A, subject: "foo.>"}, prefix: fromA},
nats-conf:                 {stream: {account: A, subject: "only.b"}},
nats-conf:                 {stream: {account: A, subject: "map.*.x"}, to: "mapped.*"} ] }
nats-conf:   C { users [ {user: c, password: c} ]
nats-conf:       imports [ {stream: {account: A, subject: "foo.>"}} ] } }
connect b
send b CONNECT {"verbose":false,"user":"b","pass":"b"}\r\nSUB fromA.> 1\r\nSUB only.b 2\r\nSUB mapped.> 3\r\nSUB foo.> 4\r\nPING\r\n
recv b
connect c
send c CONNECT {"verbose":false,"user":"c","pass":"c"}\r\nSUB > 1\r\nPING\r\n
recv c
connect a
send a CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nPUB foo.bar reply 2\r\nhi\r\nPUB only.b 1\r\nx\r\nPUB map.q.x 1\r\ny\r\nPUB other 1\r\nz\r\nPING\r\n
recv a
send b PING\r\n
recv b
send c PING\r\n
recv c
