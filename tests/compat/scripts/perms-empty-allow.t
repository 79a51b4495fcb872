# title: an empty allow list in the config allows everything, as if absent
natsd-conf: authorization = { users = ( { user = "a"; password = "b";
natsd-conf:   permissions = { publish = { allow = []; }; subscribe = { allow = []; deny = ["no"]; }; }; } ); };
nats-conf: authorization { users = [ { user: a, password: b,
nats-conf:   permissions: { publish: { allow: [] }, subscribe: { allow: [], deny: ["no"] } } } ] }
connect a
send a CONNECT {"verbose":false,"pedantic":false,"user":"a","pass":"b"}\r\nSUB x 1\r\nPUB x 2\r\nhi\r\nPING\r\n
recv a
send a SUB no 2\r\nPING\r\n
recv a
