// Pub/sub and request/reply over WebSocket with the nats.ws client, as
// a browser would run them, against the server at argv[2] (ws://... or
// wss://..., whose CA comes through NODE_EXTRA_CA_CERTS).
// argv[3] says whether the server offers compression ("compress") or not
// ("plain"); the client always asks for permessage-deflate, so the
// extension must be in force exactly when the server offers it.
// Prints "ok" lines and exits 0, or prints what failed and exits 1.
'use strict';

const WS = require('ws');

let lastSocket = null;
// nats.ws takes the WebSocket of globalThis, as in a browser; this one
// remembers the socket so that the negotiated extensions can be checked.
class RecordingWebSocket extends WS
{
	constructor(url, protocols)
	{
		super(url, protocols, { perMessageDeflate : true });
		lastSocket = this;
	}
}
globalThis.WebSocket = RecordingWebSocket;

const { connect, StringCodec, headers } = require('nats.ws');

const url = process.argv[2];
const mode = process.argv[3] || 'plain';
const sc = StringCodec();

function fail(what)
{
	console.log(`FAIL: ${what}`);
	process.exit(1);
}

function timeout(ms, what)
{
	return new Promise(
		(_, reject) => setTimeout(
			() => reject(new Error(`timeout: ${what}`)), ms));
}

async function main()
{
	const nc = await Promise.race([
		connect({ servers : url, reconnect : false, timeout : 3000 }),
		timeout(5000, 'connect'),
	]);
	const ext = lastSocket ? lastSocket.extensions : '';
	const compressed = ext.includes('permessage-deflate');
	if (compressed !== (mode === 'compress'))
		fail(`extensions "${ext}" with server mode ${mode}`);
	console.log(`ok connect ${nc.getServer()} extensions="${ext}"`);
	// wss://: the bytes really went through TLS.
	if (url.startsWith('wss:')) {
		const sock = lastSocket ? lastSocket._socket : null;
		if (!sock || !sock.encrypted || !sock.getProtocol())
			fail('wss:// without TLS');
		console.log(`ok tls ${sock.getProtocol()}`);
	}

	// Pub/sub: small and large messages arrive whole and in order.
	const sizes = [ 0, 1, 100, 4095, 4096, 4097, 70000, 300000 ];
	const n = 200;
	const sub = nc.subscribe('ws.test', { max : n });
	const got = (async () => {
		let i = 0;
		for await (const m of sub) {
			const want = sizes[i % sizes.length];
			if (m.data.length !== want)
				fail(`message ${i}: ${
					m.data.length} bytes, want ${want}`);
			if (want > 0 && m.data[want - 1] !== (i % 251))
				fail(`message ${i}: wrong content`);
			i++;
		}
		return i;
	})();
	for (let i = 0; i < n; i++) {
		const b = new Uint8Array(sizes[i % sizes.length]);
		b.fill(i % 251);
		nc.publish('ws.test', b);
	}
	const count = await Promise.race([ got, timeout(10000, 'pub/sub') ]);
	if (count !== n)
		fail(`received ${count} of ${n}`);
	console.log(`ok pubsub ${n} messages`);

	// Request/reply, with headers.
	const rsub = nc.subscribe('ws.echo');
	(async () => {
		for await (const m of rsub) {
			const h = headers();
			h.set('X-Seen',
			      m.headers ? m.headers.get('X-Id') : 'none');
			m.respond(sc.encode(`echo:${sc.decode(m.data)}`),
				  { headers : h });
		}
	})();
	for (let i = 0; i < 20; i++) {
		const h = headers();
		h.set('X-Id', `${i}`);
		const r = await nc.request('ws.echo', sc.encode(`hi${i}`),
					   { timeout : 3000, headers : h });
		if (sc.decode(r.data) !== `echo:hi${i}`)
			fail(`reply ${i}: ${sc.decode(r.data)}`);
		if (!r.headers || r.headers.get('X-Seen') !== `${i}`)
			fail(`reply ${i}: headers`);
	}
	console.log('ok request/reply 20');

	// No responders comes back as an error, as from nats-server.
	try {
		await nc.request('ws.nobody', sc.encode('x'),
				 { timeout : 2000 });
		fail('request without responders succeeded');
	} catch (e) {
		if (!/503|no responders/i.test(`${e.code} ${e.message}`))
			fail(`no responders: ${e.code} ${e.message}`);
	}
	console.log('ok no responders');

	await nc.flush();
	const rtt = await nc.rtt();
	console.log(`ok rtt ${rtt}ms`);
	await nc.drain();
	console.log('ok drain');
}

main().then(() => process.exit(0), (e) => fail(e && e.stack ? e.stack : e));
