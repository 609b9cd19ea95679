'use strict';
// Test harness: evaluates JSONata expressions (an Infinity root selector) with the npm
// `jsonata` package pinned in package.json / package-lock.json, on our /query answers.
//
// Install once:  npm ci --prefix tests/alerting
// Driven by:     tests/alerting/evaluation.py (JsonataEvaluator)
//
// Protocol: JSON lines.
//   On start, once:  {"ready": true, "jsonata": "<version>", "node": "<version>"}
//   Request:   {"id": n, "expression": "<JSONata>", "input": <JSON value>}
//   Reply:     {"id": n, "defined": true, "result": <JSON value>}
//              {"id": n, "defined": false}        the expression gave `undefined` (no match)
//              {"id": n, "error": "<message>"}
// JSONata sequences come back as plain arrays (JSON.stringify drops the sequence marker).

const path = require('path');
const readline = require('readline');
const util = require('util');

for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[level] = (...args) => process.stderr.write(util.format(...args) + '\n');
}

const jsonata = require('jsonata');
const version = require(path.join(__dirname, 'node_modules', 'jsonata', 'package.json')).version;

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

async function handle(request) {
  const result = await jsonata(request.expression).evaluate(request.input);
  if (result === undefined) return { defined: false };
  return { defined: true, result };
}

reply({ ready: true, jsonata: version, node: process.version });

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
lines.on('line', (line) => {
  if (!line.trim()) return;
  // One request at a time, in order: replies match requests by position and by id.
  queue = queue.then(async () => {
    let id = null;
    try {
      const request = JSON.parse(line);
      id = request.id === undefined ? null : request.id;
      const result = await handle(request);
      reply({ id, ...result });
    } catch (err) {
      reply({ id, error: err && err.message ? err.message : String(err) });
    }
  });
});
lines.on('close', () => {
  queue.then(() => process.exit(0));
});
