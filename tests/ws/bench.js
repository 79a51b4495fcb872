// Pub/sub throughput over WebSocket with the nats.ws client: one
// publishing and one subscribing connection, count messages of size
// bytes, timed from the first publish to the last delivery.
//   node bench.js ws://127.0.0.1:8080 [count] [size]
// Prints "<msgs/s> msgs/s <MB/s> MB/s". Not a test: `make check` does not
// run it (docs/PERFORMANCE.md has figures).
'use strict';

globalThis.WebSocket = require('ws');
const { connect } = require('nats.ws');

async function main()
{
	const url = process.argv[2];
	const count = parseInt(process.argv[3] || '200000', 10);
	const size = parseInt(process.argv[4] || '128', 10);
	const sub = await connect({ servers : url });
	const pub = await connect({ servers : url });
	const payload = new Uint8Array(size);
	let got = 0;
	let t0 = 0;
	const done = new Promise((resolve) => {
		const s = sub.subscribe('bench', { max : count });
		(async () => {
			for await (const m of s) {
				void m;
				if (++got === count)
					resolve();
			}
		})();
	});
	await sub.flush();
	t0 = process.hrtime.bigint();
	// A round trip every MiB or so keeps the publisher within reach of
	// the subscriber: one far behind is cut off as a slow consumer
	// (max_pending), by either server.
	const every = Math.max(
		1, Math.min(1000, Math.floor((1 << 20) / (size + 32))));
	for (let i = 0; i < count; i++) {
		pub.publish('bench', payload);
		if (i % every === every - 1)
			await pub.flush();
	}
	await pub.flush();
	await done;
	const s = Number(process.hrtime.bigint() - t0) / 1e9;
	const rate = count / s;
	console.log(`${Math.round(rate)} msgs/s ${
		(rate * size / 1e6).toFixed(1)} MB/s`);
	await pub.close();
	await sub.close();
}

main().then(() => process.exit(0), (e) => {
	console.log(`FAIL: ${e}`);
	process.exit(1);
});
