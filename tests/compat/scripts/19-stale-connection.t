# title: a client that never answers the server's PINGs is closed as stale (12.19)
natsd-conf: ping_interval = "1s"; ping_max = 1;
nats-conf: ping_interval: "1s"
nats-conf: ping_max: 1
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\n
closed a 3000
