# title: the legacy account and new_account CONNECT fields are an Authorization Violation
connect a
send a CONNECT {"verbose":false,"pedantic":false,"account":"x"}\r\n
closed a
connect b
send b CONNECT {"verbose":false,"pedantic":false,"new_account":true}\r\n
closed b
