'use strict';
// The Node side of the JSON-lines protocol that tests/support/node_process.py (and
// tests/alerting/frames.py) speak: one request object a line on stdin, one reply a line on
// stdout, in order, each carrying the request's "id". Used by the test harnesses of
// tests/grafana/<line>, tests/grafana/scenes and tests/alerting, each of which runs with
// its own node_modules: this module requires Node's built-ins only.

const readline = require('readline');
const util = require('util');

// stdout carries the protocol only: every console level goes to stderr (Grafana's code
// logs through console, e.g. toDataFrame warns about each body it cannot convert).
function keepStdoutForReplies() {
  for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
    console[level] = (...args) => process.stderr.write(util.format(...args) + '\n');
  }
}

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

const errorMessage = (err) => (err && err.message ? err.message : String(err));

// Answers each request with `{id, ...await handle(request)}`, or `{id, error}` where
// `errorText(err)` says what failed (the message by default). One request at a time, in
// order; when stdin closes, the process exits once the last reply is written.
function serveJsonLines(handle, { errorText = errorMessage } = {}) {
  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    queue = queue.then(async () => {
      let id = null;
      try {
        const request = JSON.parse(line);
        if (request === null || typeof request !== 'object' || Array.isArray(request)) {
          throw new Error('a request must be a JSON object');
        }
        id = request.id === undefined ? null : request.id;
        const result = await handle(request);
        // Serialised before writing, so that a failure here still yields one reply line.
        const text = JSON.stringify({ id, ...result });
        process.stdout.write(text + '\n');
      } catch (err) {
        reply({ id, error: errorText(err) });
      }
    });
  });
  lines.on('close', () => queue.then(() => process.exit(0)));
}

module.exports = { keepStdoutForReplies, reply, serveJsonLines };
