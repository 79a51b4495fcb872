# title: PUB/HPUB announcing more than max_payload (1 MiB) is refused and closes (12.7)
connect a
send a CONNECT {"verbose":false}\r\nPUB foo 2000000\r\n
closed a
connect b
send b CONNECT {"verbose":false,"headers":true}\r\nHPUB foo 12 1048577\r\n
closed b
