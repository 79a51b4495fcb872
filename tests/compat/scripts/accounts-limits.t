# title: account limits: connections, subscriptions and payload per connection
natsd-conf: accounts = { A = { users = ( { user = "a"; password = "a"; } );
natsd-conf:                    limits = { max_connections = 2; max_subscriptions = 1; max_payload = 4; }; }; };
nats-conf: accounts { A { users [ {user: a, password: a} ]
nats-conf:                limits { max_connections: 2, max_subscriptions: 1, max_payload: 4 } } }
connect a
send a CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nSUB x 1\r\nSUB y 2\r\nPING\r\n
recv a
connect b
send b CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nPING\r\n
recv b
connect c
send c CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nPING\r\n
closed c
send b PUB x 4\r\nabcd\r\nPING\r\n
recv b
send b PUB x 5\r\nabcde\r\n
closed b
send a PING\r\n
recv a
