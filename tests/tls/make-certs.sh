#!/bin/sh
# Makes the certificates the TLS tests use, with the openssl command, into
# the directory given (created if needed):
#   ca.pem ca.key             the test CA
#   server.pem server.key     server cert for localhost and 127.0.0.1
#   alice.pem alice.key       client, email SAN alice@example.com
#   bob.pem bob.key           client, DNS SAN bob.example.com
#   carol.pem carol.key       client, no SAN, subject CN=carol,O=Acme
#   nobody.pem nobody.key     client, email SAN nobody@example.com
#   expired.pem expired.key   client signed by the CA, expired in 2020
#   other-ca.pem other-ca.key another CA
#   rogue.pem rogue.key       client signed by the other CA
#   server2.pem server2.key   server cert signed by the other CA (reload)
# Usage: make-certs.sh DIR
set -eu

dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"

ossl() {
	openssl "$@" >/dev/null 2>&1 || { echo "openssl $1 failed" >&2; exit 1; }
}

ca() { # name subject
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "$2" \
		-keyout "$1.key" -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}

leaf() { # name subject ca extensions
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" -keyout "$1.key" \
		-out "$1.csr"
	printf '%s\n' "$4" >"$1.ext"
	ossl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
		-CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem"
	rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=natsd test CA"
ca other-ca "/CN=natsd other CA"
leaf server "/CN=localhost" ca \
	"subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf server2 "/CN=localhost" other-ca \
	"subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf alice "/CN=alice" ca \
	"subjectAltName=email:alice@example.com
extendedKeyUsage=clientAuth"
leaf bob "/CN=bob" ca \
	"subjectAltName=DNS:bob.example.com
extendedKeyUsage=clientAuth"
leaf carol "/O=Acme/CN=carol" ca "extendedKeyUsage=clientAuth"
leaf nobody "/CN=nobody" ca \
	"subjectAltName=email:nobody@example.com
extendedKeyUsage=clientAuth"
leaf rogue "/CN=alice" other-ca \
	"subjectAltName=email:alice@example.com
extendedKeyUsage=clientAuth"

# Expired: openssl ca takes explicit dates, x509 -req does not.
mkdir -p expdb
: >expdb/index.txt
cat >expdb/ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = expdb
database = expdb/index.txt
new_certs_dir = expdb
serial = expdb/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = ext
[ any ]
commonName = supplied
[ ext ]
subjectAltName = email:alice@example.com
extendedKeyUsage = clientAuth
CNF
echo 01 >expdb/serial
ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=alice" -keyout expired.key \
	-out expired.csr
ossl ca -batch -config expdb/ca.cnf -cert ca.pem -keyfile ca.key \
	-startdate 20200101000000Z -enddate 20200102000000Z \
	-in expired.csr -out expired.pem
rm -rf expdb expired.csr
