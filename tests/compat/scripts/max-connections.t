# title: beyond max_connections a client gets INFO, then -ERR and is closed
natsd-conf: max_connections = 1;
nats-conf: max_connections: 1
# Let the server notice that the harness's readiness probe has gone.
wait 200
connect a
send a CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n
recv a
connect b
closed b
send a PING\r\n
recv a
