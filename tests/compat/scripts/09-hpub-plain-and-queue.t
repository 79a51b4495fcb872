# title: HPUB reaches a plain and a queue subscriber as HMSG with the same sizes (12.9)
connect a
send a CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB foo 1\r\nSUB foo q1 2\r\nPING\r\n
recv a
# Which of the two sids comes first is not part of the protocol.
send a HPUB foo 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\nPING\r\n
recvset a
send a HPUB foo rep 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\nPING\r\n
recvset a
