'use strict';
// Test harness: evaluates JSONata expressions (an Infinity root selector) with the npm
// `jsonata` package pinned in package.json / package-lock.json, on our /query answers.
//
// Install once:  npm ci --prefix tests/alerting
// Driven by:     tests/alerting/frames.py (evaluate_jsonata)
//
// Protocol: JSON lines (../support/json_lines.cjs).
//   On start, once:  {"ready": true, "jsonata": "<version>", "node": "<version>"}
//   Request:   {"id": n, "expression": "<JSONata>", "input": <JSON value>}
//   Reply:     {"id": n, "defined": true, "result": <JSON value>}
//              {"id": n, "defined": false}        the expression gave `undefined` (no match)
//              {"id": n, "error": "<message>"}
// JSONata sequences come back as plain arrays (JSON.stringify drops the sequence marker).

const path = require('path');
const { keepStdoutForReplies, reply, serveJsonLines } = require('../support/json_lines.cjs');

keepStdoutForReplies();

const jsonata = require('jsonata');
const version = require(path.join(__dirname, 'node_modules', 'jsonata', 'package.json')).version;

async function handle(request) {
  const result = await jsonata(request.expression).evaluate(request.input);
  if (result === undefined) return { defined: false };
  return { defined: true, result };
}

reply({ ready: true, jsonata: version, node: process.version });
serveJsonLines(handle);
