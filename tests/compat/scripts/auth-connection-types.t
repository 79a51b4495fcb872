# title: allowed_connection_types: a user limited to WEBSOCKET is refused over plain TCP; STANDARD gets in
natsd-conf: authorization = { users = (
natsd-conf:   { user = "ws"; password = "p"; allowed_connection_types = ["WEBSOCKET"]; },
natsd-conf:   { user = "std"; password = "p"; allowed_connection_types = ["STANDARD", "WEBSOCKET"]; } ); };
nats-conf: authorization { users = [
nats-conf:   { user: ws, password: p, allowed_connection_types: ["WEBSOCKET"] },
nats-conf:   { user: std, password: p, allowed_connection_types: ["STANDARD", "WEBSOCKET"] } ] }
connect a
send a CONNECT {"verbose":false,"user":"ws","pass":"p"}\r\nPING\r\n
closed a
connect b
send b CONNECT {"verbose":false,"user":"std","pass":"p"}\r\nPING\r\n
recv b
