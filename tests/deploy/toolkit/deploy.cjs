// Test-only: runs tencent-component-toolkit's Layer.deploy and Scf.deploy (what the layer and
// scf components call) on the inputs given on stdin, against a local SCF API stub.
//
// stdin: {"endpoint": "127.0.0.1:PORT", "steps": [{"component": "layer" | "scf",
//          "region": "ap-guangzhou", "inputs": {...}}]}
// stdout: one JSON array, per step {"component", "outputs"} or {"component", "error"};
//         it stops at the first error, as the documented deploy loop does.
//
// The seam: every API call of the toolkit goes through Capi.prototype.request of
// @tencent-sdk/capi, whose options accept `host` and `protocol` (dist/index.js getHost,
// getUrl). The wrapper below sets them on each call, so every Capi instance the toolkit
// builds (Scf, Layer, the trigger classes, tags, aliases) talks to the stub over plain
// HTTP; nothing else in the toolkit changes. The toolkit's own console output goes to
// stderr, so stdout stays JSON. Function outputs carry the environment as SCF returns it:
// its values are redacted before they are written.
'use strict';

const util = require('util');
const { Capi } = require('@tencent-sdk/capi');
// The two modules the layer and scf components use (the package index loads every product).
const Layer = require('tencent-component-toolkit/lib/modules/layer');
const Scf = require('tencent-component-toolkit/lib/modules/scf').default;

console.log = (...args) => process.stderr.write(`${util.format(...args)}\n`);

function pointAt(endpoint) {
  const request = Capi.prototype.request;
  Capi.prototype.request = function (data, opts, isV3) {
    const local = Object.assign({}, opts || this.options, { host: endpoint, protocol: 'http' });
    return request.call(this, data, local, isV3);
  };
}

function redacted(outputs) {
  const variables = outputs && outputs.Environment && outputs.Environment.Variables;
  if (!Array.isArray(variables)) return outputs;
  const clean = variables.map(({ Key }) => ({ Key, Value: '<redacted>' }));
  return Object.assign({}, outputs, { Environment: { Variables: clean } });
}

async function run(job) {
  pointAt(job.endpoint);
  // Not secrets: the stub checks that requests are signed, not by whom.
  const credentials = { SecretId: 'AKIDlocalstub', SecretKey: 'local-stub-key' };
  const results = [];
  for (const step of job.steps) {
    const Component = step.component === 'layer' ? Layer : Scf;
    try {
      const outputs = await new Component(credentials, step.region).deploy(step.inputs);
      results.push({ component: step.component, outputs: redacted(outputs) });
    } catch (error) {
      results.push({ component: step.component, error: String(error.message || error) });
      break;
    }
  }
  return results;
}

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  run(JSON.parse(input)).then(
    (results) => process.stdout.write(JSON.stringify(results)),
    (error) => {
      process.stderr.write(`${error.stack || error}\n`);
      process.exit(2);
    },
  );
});
