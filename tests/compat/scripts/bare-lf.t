# title: control lines may end in a bare LF; payloads still need CRLF
connect a
send a CONNECT {"verbose":false,"pedantic":false}\nSUB foo 1\nPUB foo 2\nhi\r\nPING\n
recv a
send a PUB foo rep 0\n\r\nping\n
recv a
# A bare LF after a payload is not accepted.
send a PUB foo 1\nx\nPING\n
closed a
