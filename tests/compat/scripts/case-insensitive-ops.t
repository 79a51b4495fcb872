# title: operation names are case-insensitive
connect a
send a connect {"verbose":false,"pedantic":false,"headers":true}\r\nsub foo 1\r\nSuB bar 2\r\npInG\r\n
recv a
send a pub foo 2\r\nhi\r\nhpub foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPuB bar 1\r\nx\r\nping\r\n
recv a
send a unsub 1\r\nUnSuB 2\r\npong\r\nPUB foo 1\r\nx\r\nPUB bar 1\r\ny\r\nPing\r\n
recv a
