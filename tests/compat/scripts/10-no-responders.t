# title: a request nobody receives gets a 503 status on the reply subscription (12.10)
connect a
send a CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\nSUB _INBOX.x 3\r\nPING\r\n
recv a
send a PUB nobody _INBOX.x 0\r\n\r\nPING\r\n
recv a
# No 503 without a reply subject, nor when someone receives it.
send a PUB nobody 0\r\n\r\nSUB somebody 4\r\nPUB somebody _INBOX.x 2\r\nhi\r\nPING\r\n
recv a
# A client that did not ask for no_responders gets nothing.
connect b
send b CONNECT {"verbose":false,"headers":true}\r\nSUB _INBOX.y 1\r\nPUB nobody _INBOX.y 0\r\n\r\nPING\r\n
recv b
