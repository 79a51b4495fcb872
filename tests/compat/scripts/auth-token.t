# title: --auth token: good, bad and missing tokens
args: --auth t0ken
connect good
send good CONNECT {"verbose":false,"pedantic":false,"auth_token":"t0ken"}\r\nPING\r\n
recv good
connect bad
send bad CONNECT {"verbose":false,"pedantic":false,"auth_token":"nope"}\r\n
closed bad
connect missing
send missing CONNECT {"verbose":false,"pedantic":false}\r\n
closed missing
connect userpass
send userpass CONNECT {"verbose":false,"pedantic":false,"user":"t0ken","pass":"t0ken"}\r\n
closed userpass
