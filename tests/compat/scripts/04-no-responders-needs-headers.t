# title: no_responders without headers is refused and closes (12.4)
connect a
send a CONNECT {"verbose":false,"no_responders":true}\r\n
closed a
connect b
send b CONNECT {"verbose":false,"headers":false,"no_responders":true}\r\n
closed b
connect c
send c CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\nPING\r\n
recv c
