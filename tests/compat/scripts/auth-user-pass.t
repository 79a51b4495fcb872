# title: --user/--pass: good, bad and missing credentials
args: --user alice --pass s3cret
connect good
send good CONNECT {"verbose":false,"pedantic":false,"user":"alice","pass":"s3cret"}\r\nPING\r\n
recv good
connect bad
send bad CONNECT {"verbose":false,"pedantic":false,"user":"alice","pass":"nope"}\r\n
closed bad
connect baduser
send baduser CONNECT {"verbose":false,"pedantic":false,"user":"bob","pass":"s3cret"}\r\n
closed baduser
connect missing
send missing CONNECT {"verbose":false,"pedantic":false}\r\n
closed missing
connect token
send token CONNECT {"verbose":false,"pedantic":false,"auth_token":"s3cret"}\r\n
closed token
