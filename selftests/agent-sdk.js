// SPDX-License-Identifier: GPL-2.0
//
// Run by selftests/agent.sh as a process inside a Pod: the unmodified npm
// @phala/dstack-sdk (installed by scripts/npm-sdk into build/npm-sdk)
// talks to dstack-pod-agent on its default sockets (/var/run/dstack.sock,
// /var/run/tappd.sock).  Writes each reply as JSON into OUTDIR and prints
// one "sdk NAME ok|FAIL ..." line per call; exits non-zero on any failure.
//
//   node agent-sdk.js SDKDIR OUTDIR REPORT_DATA_HEX EVENT_NAME
'use strict';
const fs = require('fs');
const path = require('path');

const [sdkDir, outDir, reportHex, eventName] = process.argv.slice(2);
const sdk = require(path.join(sdkDir, 'node_modules', '@phala', 'dstack-sdk'));
let failed = 0;

function line(name, ok, more) {
	console.log(`sdk ${name} ${ok ? 'ok' : 'FAIL'} ${more || ''}`);
	if (!ok)
		failed = 1;
}

function save(name, obj) {
	fs.writeFileSync(path.join(outDir, name + '.json'), JSON.stringify(obj));
}

async function step(name, fn) {
	try {
		await fn();
	} catch (e) {
		line(name, false, String(e && e.stack || e));
	}
}

(async () => {
	const client = new sdk.DstackClient();
	let info;

	await step('version', async () => {
		const v = await client.version();
		line('version', typeof v.version === 'string' && v.version.length > 0, v.version);
	});
	await step('info', async () => {
		info = await client.info();
		save('info', info);
		line('info', typeof info.app_id === 'string' && info.tcb_info &&
		     typeof info.tcb_info.rtmr3 === 'string' && info.pod &&
		     info.pod.pod_uid === info.instance_id,
		     `app_id=${info.app_id} instance_id=${info.instance_id}`);
	});
	await step('getQuote', async () => {
		const q = await client.getQuote(Buffer.from(reportHex, 'hex'));
		save('quote', q);
		const rtmrs = q.replayRtmrs();
		line('getQuote', typeof q.quote === 'string' && q.quote.length > 1000 &&
		     q.dstack_pod_bundle && q.dstack_pod_bundle.nonce.startsWith(reportHex),
		     `quote ${q.quote.length / 2} bytes`);
		line('replayRtmrs', rtmrs.length === 4 && info &&
		     rtmrs[3] === info.tcb_info.rtmr3,
		     `rtmr3 ${rtmrs[3]}`);
	});
	await step('emitEvent', async () => {
		await client.emitEvent(eventName, 'payload-' + eventName);
		line('emitEvent', true, eventName);
	});
	await step('tappd.tdxQuote', async () => {
		const t = new sdk.TappdClient();
		const q = await t.tdxQuote(Buffer.from(reportHex, 'hex'), 'raw');
		save('tappd-quote', q);
		const r = q.replayRtmrs();
		line('tappd.tdxQuote', typeof q.quote === 'string' && q.quote.length > 1000 &&
		     info && r[3] === info.tcb_info.rtmr3, `quote ${q.quote.length / 2} bytes`);
		const q2 = await t.tdxQuote('hello', 'sha512');
		line('tappd.tdxQuote.sha512', q2.hash_algorithm === 'sha512' &&
		     q2.prefix === 'app-data:', q2.hash_algorithm);
	});
	await step('tappd.info', async () => {
		const t = new sdk.TappdClient();
		const i = await t.info();
		line('tappd.info', info && i.instance_id === info.instance_id &&
		     i.tcb_info.mrtd === info.tcb_info.mrtd, i.instance_id);
		line('tappd.isReachable', await t.isReachable(), '');
	});
	await step('getKey', async () => {
		let err = '';

		try {
			await client.getKey('k');
		} catch (e) {
			err = String(e.message || e);
		}
		// No upstream agent in the test: the call must fail (the SDK
		// does not surface the agent's {"error"}; agent-client.py
		// checks the message itself).
		line('getKey', err !== '', err);
	});
	process.exit(failed);
})();
