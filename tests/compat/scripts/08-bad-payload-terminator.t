# title: a payload not followed by CRLF is an unknown-op error and closes (12.8)
connect a
send a CONNECT {"verbose":false}\r\nPUB foo 1\r\nxy\r\n
closed a
connect b
send b CONNECT {"verbose":false}\r\nPUB foo 1\r\nx\nPING\r\n
closed b
