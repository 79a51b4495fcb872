# title: publish and subscribe permissions from the authorization block (12.15)
natsd-conf: authorization = { users = ( { user = "a"; password = "b";
natsd-conf:   permissions = { publish = { allow = ["ok.>", "_INBOX.>"]; };
natsd-conf:                   subscribe = { allow = ["ok.>", "q.> grp"]; deny = ["ok.secret"]; }; }; } ); };
nats-conf: authorization { users = [ { user: a, password: b,
nats-conf:   permissions: { publish: { allow: ["ok.>", "_INBOX.>"] },
nats-conf:                  subscribe: { allow: ["ok.>", "q.> grp"], deny: ["ok.secret"] } } } ] }
connect a
send a CONNECT {"verbose":false,"pedantic":false,"user":"a","pass":"b"}\r\nSUB ok.x 1\r\nPUB ok.x 2\r\nhi\r\nPING\r\n
recv a
send a PUB notok 1\r\nx\r\nPING\r\n
recv a
send a SUB notok 2\r\nPING\r\n
recv a
send a SUB ok.secret 3\r\nPING\r\n
recv a
send a SUB q.a grp 4\r\nSUB q.a other 5\r\nSUB q.a 6\r\nPING\r\n
recv a
send a PUB notok reply 1\r\nx\r\nPUB ok.y notok 1\r\ny\r\nPING\r\n
recv a
