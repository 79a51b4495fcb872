# title: no CONNECT within the authorization timeout gives Authentication Timeout (12.18)
# nats-server's default is 2 s (also with --user/--pass); 0.5 s keeps this short.
natsd-conf: authorization = { user = "a"; password = "b"; timeout = 0.5; };
nats-conf: authorization { user: a, password: b, timeout: 0.5 }
connect a
closed a 1500
