'use strict';
// Test harness: opens our dashboards in Grafana's own dashboard engine (npm
// @grafana/scenes with @grafana/data and @grafana/runtime, the versions of one Grafana
// line pinned in ../<line>/package-lock.json) under Node and jsdom, against our real
// functions over HTTP. Driven by tests/support/grafana_scenes.py.
//
//   node tests/grafana/scenes/harness.cjs tests/grafana/13.2
//
// Protocol: JSON lines. First line: {"ready": true, "versions": {...}, "node", "load_ms"}.
//   {"id", "cmd": "open", "dashboard", "datasources": {uid: {type, name, url, headers}},
//    "now_ms", "values": {name: value}, "screen_width", "timeout_ms", "adhoc_key"}
//      -> {"id", "variables": [...], "panels": [...], "annotations": [...], "adhoc",
//          "exchanges": [...], "notes": [...], "settled": bool}
//   {"id", "cmd": "payloads", "dashboard", "datasources", "values",
//    "queries": [{"kind": "target"|"variable", "uid", "query"}]}
//      -> {"id", "results": [{"payload"} | {"error"}], "notes": [...]}
//   {"id", "cmd": "interpolate", "dashboard", "values", "text", "format"} -> {"id", "text"}
//   Any failure: {"id", "error": "<message>"}.

const path = require('path');
const readline = require('readline');
const util = require('util');
const { createRequire } = require('module');

// stdout carries the protocol only; Grafana's console output goes to stderr.
for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[level] = (...args) => process.stderr.write(util.format(...args) + '\n');
}

const started = process.hrtime.bigint();
const packagesDir = path.resolve(process.argv[2] || path.join(__dirname, '..', '13.2'));
const requireFromPackages = createRequire(path.join(packagesDir, 'package.json'));
const browser = require('./browser.cjs');
browser.installBrowserGlobals(requireFromPackages);
browser.installShiftedClock();

const pkgs = {
  data: requireFromPackages('@grafana/data'),
  runtime: requireFromPackages('@grafana/runtime'),
  scenes: requireFromPackages('@grafana/scenes'),
  rxjs: requireFromPackages('rxjs'),
  rxjsOperators: requireFromPackages('rxjs/operators'),
};
const versionOf = (name) => requireFromPackages(`${name}/package.json`).version;
const versions = {
  '@grafana/data': versionOf('@grafana/data'),
  '@grafana/runtime': versionOf('@grafana/runtime'),
  '@grafana/scenes': versionOf('@grafana/scenes'),
  react: versionOf('react'),
};
// A real Grafana reports its own version here; scenes reads it (e.g. to wrap the scene
// object in scopedVars so that requests serialise).
pkgs.runtime.config.buildInfo = { ...pkgs.runtime.config.buildInfo, version: versions['@grafana/data'] };

const { createServices } = require('./services.cjs');
const { createJsonDatasourceClass } = require('./simpod.cjs');
const { buildDashboardScene } = require('./dashboard.cjs');
const { plainFrame } = require('./frames.cjs');

let exchanges = [];
let notes = [];
const services = createServices(pkgs, { push: (e) => exchanges.push(e) });
const JsonDatasource = createJsonDatasourceClass(pkgs, { push: (n) => notes.push(n) });
pkgs.runtime.setBackendSrv(services.backendSrv);
pkgs.runtime.setTemplateSrv(services.templateSrv);
pkgs.runtime.setRunRequest(services.runRequest);
pkgs.runtime.setDataSourceSrv(services.dataSourceSrv);
const loadMs = Number(process.hrtime.bigint() - started) / 1e6;

function registerDatasources(datasources) {
  services.clear();
  for (const [uid, ds] of Object.entries(datasources || {})) {
    const settings = {
      uid,
      type: ds.type,
      name: ds.name || uid,
      url: `/api/datasources/proxy/uid/${uid}`,
      access: 'proxy',
      isDefault: Boolean(ds.isDefault),
      jsonData: {},
      readOnly: true,
      meta: { id: ds.type, name: ds.type, type: 'datasource', info: { logos: {} }, module: '', baseUrl: '' },
    };
    if (ds.type === 'simpod-json-datasource') {
      services.register(uid, new JsonDatasource(settings), settings, { url: ds.url, headers: ds.headers });
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isBusy(built) {
  if (services.inFlight() > 0) return true;
  if (built.variables.some((v) => v.state.loading)) return true;
  for (const item of built.items) {
    const data = item.state.$data.state.data;
    if (!data || data.state === 'Loading') return true;
  }
  return built.layers.some((l) => l.state.isEnabled && (!l.state.data || l.state.data.state === 'Loading'));
}

async function settle(built, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    await sleep(20);
    quiet = isBusy(built) ? 0 : quiet + 1;
    if (quiet >= 3) return true;
  }
  return false;
}

function errorMessages(data) {
  return ((data && data.errors) || []).map((e) => e.message || JSON.stringify(e));
}

function variableReport(variable) {
  const { state } = variable;
  return {
    name: state.name,
    type: state.type,
    value: variable.getValue ? variable.getValue() : state.value,
    text: variable.getValueText ? variable.getValueText() : state.text,
    options: (state.options || []).map((o) => ({ text: o.label, value: o.value })),
    filters: state.type === 'adhoc' ? state.filters : undefined,
    error: state.error ? String(state.error.message || state.error) : null,
  };
}

// What the ad hoc filter picker offers (the calls its UI makes when opened): the keys,
// and the values of `key`.
async function probeAdHoc(built, key) {
  const found = {};
  for (const variable of built.variables.filter((v) => v.state.type === 'adhoc')) {
    const keys = await variable._getKeys(null);
    const values = key ? await variable._getValuesFor({ key, operator: '=', value: '' }) : [];
    const label = (o) => (o.label !== undefined ? o.label : o.text !== undefined ? o.text : o.value);
    found[variable.state.name] = { keys: keys.map(label), values: values.map(label) };
  }
  return found;
}

async function openDashboard(request) {
  browser.setNow(request.now_ms);
  exchanges = [];
  notes = [];
  registerDatasources(request.datasources);
  const built = buildDashboardScene(pkgs, request.dashboard, {
    values: request.values,
    screenWidth: request.screen_width || 1920,
  });
  window.__grafanaSceneContext = built.scene;
  // Parents first, as React mounts them: the scene, the variable pickers of the controls
  // bar (every variable not hidden; scenes 6 applies ad hoc filters only while theirs
  // is mounted), the layout, then each panel item.
  const deactivations = [built.scene.activate()];
  for (const variable of built.variables.filter((v) => v.state.hide !== 2)) deactivations.push(variable.activate());
  deactivations.push(built.scene.state.body.activate());
  for (const item of built.items) deactivations.push(item.activate());
  for (const [runner, width] of built.widths) runner.setContainerWidth(width);
  try {
    const settled = await settle(built, request.timeout_ms || 30000);
    const adhoc = await probeAdHoc(built, request.adhoc_key);
    return {
      settled,
      adhoc,
      variables: built.variables.map(variableReport),
      panels: built.items.map((item, index) => {
        const panel = built.panels[index];
        const data = item.state.$data.state.data || {};
        return {
          id: panel.id,
          title: panel.title,
          state: data.state || null,
          errors: errorMessages(data),
          frames: (data.series || []).map(plainFrame),
          annotations: (data.annotations || []).map(plainFrame),
        };
      }),
      annotations: built.layers.map((layer, index) => {
        const data = layer.state.data || {};
        return {
          name: built.annotationModels[index].name,
          state: data.state || null,
          errors: errorMessages(data),
          // The layer's processed events (postProcessQueryResult, dedup), one frame.
          frames: (data.series || []).map(plainFrame),
        };
      }),
      exchanges,
      notes,
    };
  } finally {
    for (const deactivate of deactivations.reverse()) deactivate();
    window.__grafanaSceneContext = undefined;
    browser.setNow(null);
  }
}

function computePayloads(request) {
  notes = [];
  registerDatasources(request.datasources);
  const built = buildDashboardScene(pkgs, request.dashboard, { values: request.values, screenWidth: 1920 });
  window.__grafanaSceneContext = built.scene;
  try {
    const results = request.queries.map((query) => {
      try {
        const ds = services.dataSourceSrv.getInstanceSettings(query.uid) && services.lookupInstance(query.uid);
        if (!ds) return { error: `datasource ${query.uid} is not a JSON datasource` };
        const payload =
          query.kind === 'variable' ? ds.variablePayload(query.query, undefined) : ds.targetPayload(query.query, undefined);
        return { payload };
      } catch (err) {
        return { error: err.message };
      }
    });
    return { results, notes };
  } finally {
    window.__grafanaSceneContext = undefined;
  }
}

function interpolate(request) {
  const built = buildDashboardScene(pkgs, request.dashboard, { values: request.values, screenWidth: 1920 });
  return { text: pkgs.scenes.sceneGraph.interpolate(built.scene, request.text, undefined, request.format) };
}

async function handle(request) {
  switch (request.cmd) {
    case 'open':
      return openDashboard(request);
    case 'payloads':
      return computePayloads(request);
    case 'interpolate':
      return interpolate(request);
    default:
      throw new Error(`unknown cmd ${JSON.stringify(request.cmd)}`);
  }
}

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

reply({ ready: true, versions, node: process.version, load_ms: loadMs });

// One request at a time, in order: a dashboard replay owns the clock and the registry.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let id = null;
    try {
      const request = JSON.parse(line);
      id = request.id === undefined ? null : request.id;
      const result = await handle(request);
      process.stdout.write(JSON.stringify({ id, ...result }) + '\n');
    } catch (err) {
      reply({ id, error: err && err.stack ? err.stack : String(err) });
    }
  });
});
lines.on('close', () => queue.then(() => process.exit(0)));
