'use strict';
// Test harness: runs Grafana's own `toDataFrame` (npm @grafana/data, pinned in
// package.json / package-lock.json) on response bodies of our backend, so that
// tests see exactly the frames Grafana builds from them.
//
// Install once:  npm ci --prefix tests/grafana/13.2
// Driven by:     tests/support/grafana.py (GrafanaFrames)
//
// Protocol: JSON lines.
//   On start, once:  {"ready": true, "grafana_data": "<version>", "node": "<version>", "load_ms": <n>}
//   Request:   {"id": n, "body": <JSON value>}             /query answer (the default mode)
//              {"id": n, "body": <JSON value>, "mode": "variable"}   /variable answer
//              "raw": "<JSON text>" may replace "body": Node then parses the text itself
//              with JSON.parse, as the browser does with the HTTP body.
//   Reply:     {"id": n, "frames": [frame, ...]}              (mode "query")
//              {"id": n, "frames": [frame], "options": [...]}  (mode "variable")
//              {"id": n, "error": "<message>"}
//   frame:     {name, refId, meta, length, fields: [{name, type, values, labels, config}]}
//              `null` stands for a property Grafana left undefined. Values go through
//              JSON.stringify, so undefined / NaN / +-Infinity inside them come out as null.
//
// Mode "query" mirrors the simpod JSON datasource plugin, which maps every element
// of the /query answer through toDataFrame on its own; the first element that does
// not convert fails the whole answer, and the error names its index.
// Mode "variable" mirrors the plugin's /variable handling: one toDataFrame call on
// the whole body, then its mapping of the frame to variable options.
//
// Only dist/cjs/dataframe/processDataFrame.cjs is loaded, not the package index
// (which needs a browser). Its require chain is lodash, moment and moment-timezone
// plus files of @grafana/data itself: no React and no browser globals. (The same
// folder's packages also serve ../scenes/harness.cjs, which does need a browser.)

const path = require('path');
const readline = require('readline');
const util = require('util');

// stdout carries the protocol only. Grafana logs through console (toDataFrame
// console.warn()s every body it cannot convert), so all console output goes to stderr.
for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[level] = (...args) => {
    process.stderr.write(util.format(...args) + '\n');
  };
}

const started = process.hrtime.bigint();
const PACKAGE_DIR = path.join(__dirname, 'node_modules', '@grafana', 'data');
const { toDataFrame } = require(
  path.join(PACKAGE_DIR, 'dist', 'cjs', 'dataframe', 'processDataFrame.cjs')
);
const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
const grafanaDataVersion = require(path.join(PACKAGE_DIR, 'package.json')).version;

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

// Grafana field values may be arrays, typed arrays or (older Grafana) Vectors with
// `length` and index access; all become plain arrays. Anything else is passed on
// untouched, so that a test sees that the values are not an array at all.
function plainValues(values) {
  if (values === undefined || values === null) return null;
  if (Array.isArray(values)) return Array.from(values);
  if (typeof values === 'object') {
    if (typeof values.toArray === 'function') return Array.from(values.toArray());
    if (typeof values.length === 'number') return Array.from(values);
  }
  return values;
}

function orNull(value) {
  return value === undefined ? null : value;
}

function plainFrame(frame) {
  const fields = Array.isArray(frame.fields) ? frame.fields : [];
  return {
    name: orNull(frame.name),
    refId: orNull(frame.refId),
    meta: orNull(frame.meta),
    length: orNull(frame.length),
    fields: fields.map((field) => ({
      name: orNull(field.name),
      type: orNull(field.type),
      values: plainValues(field.values),
      labels: orNull(field.labels),
      config: orNull(field.config),
    })),
  };
}

// The plugin's variable mapping (ResponseParser.transformMetricFindResponse):
// fields named __text and __value give {text, value}, both stringified; otherwise
// every value of every field becomes an option with that value as its text. Then
// duplicate texts are dropped, the first occurrence winning.
function variableOptions(frame) {
  const fields = Array.isArray(frame.fields) ? frame.fields : [];
  const textField = fields.find((field) => field.name === '__text');
  const valueField = fields.find((field) => field.name === '__value');
  const found = [];
  if (textField && valueField) {
    const texts = plainValues(textField.values) || [];
    const values = plainValues(valueField.values) || [];
    for (let i = 0; i < texts.length; i++) {
      found.push({ text: String(texts[i]), value: String(values[i]) });
    }
  } else {
    for (const field of fields) {
      for (const value of plainValues(field.values) || []) {
        found.push({ text: value });
      }
    }
  }
  const seen = new Set();
  return found.filter((option) => {
    if (seen.has(option.text)) return false;
    seen.add(option.text);
    return true;
  });
}

function bodyOf(request) {
  if (Object.prototype.hasOwnProperty.call(request, 'raw')) {
    if (typeof request.raw !== 'string') throw new Error('"raw" must be a string of JSON text');
    try {
      return JSON.parse(request.raw);
    } catch (err) {
      throw new Error(`body is not valid JSON: ${err.message}`);
    }
  }
  if (Object.prototype.hasOwnProperty.call(request, 'body')) return request.body;
  throw new Error('request has neither "body" nor "raw"');
}

function handle(request) {
  const body = bodyOf(request);
  const mode = request.mode === undefined ? 'query' : request.mode;
  if (mode === 'query') {
    if (!Array.isArray(body)) {
      throw new Error(`a /query answer must be an array of frames, got ${describe(body)}`);
    }
    const frames = body.map((element, index) => {
      try {
        return plainFrame(toDataFrame(element));
      } catch (err) {
        throw new Error(`element ${index}: ${err.message}`);
      }
    });
    return { frames };
  }
  if (mode === 'variable') {
    const frame = toDataFrame(body);
    return { frames: [plainFrame(frame)], options: variableOptions(frame) };
  }
  throw new Error(`unknown mode ${JSON.stringify(mode)}`);
}

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

reply({ ready: true, grafana_data: grafanaDataVersion, node: process.version, load_ms: loadMs });

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let id = null;
  try {
    const request = JSON.parse(line);
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      throw new Error('a request must be a JSON object');
    }
    id = orNull(request.id);
    const result = handle(request);
    // Serialise before writing so that a failure here still yields one reply line.
    const text = JSON.stringify({ id, ...result });
    process.stdout.write(text + '\n');
  } catch (err) {
    reply({ id, error: err && err.message ? err.message : String(err) });
  }
});
lines.on('close', () => process.exit(0));
