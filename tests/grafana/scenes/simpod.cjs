'use strict';
// Our adapter for the simpod-json-datasource plugin (0.6.x), which is not published on
// npm. Written from the facts of its request and response handling in its source,
// simPod/GrafanaJsonDatasource at tag v0.6.5 (file:line of that tag below); none of
// its code is copied. Everything around it (scenes, interpolation, time ranges,
// toDataFrame, annotation processing) is Grafana's own code from npm.

// Grafana's template variable syntax (public/app/features/variables/utils.ts,
// variableRegex): $name, [[name:fmt]], ${name}, ${name.field:fmt}.
const VARIABLE_PATTERN = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;

function createJsonDatasourceClass(pkgs, notes) {
  const { DataSourceApi, CustomVariableSupport, toDataFrame } = pkgs.data;
  const { getBackendSrv, getTemplateSrv } = pkgs.runtime;
  const { from, lastValueFrom } = pkgs.rxjs;
  const { map } = pkgs.rxjsOperators;

  function post(ds, path, data) {
    return lastValueFrom(getBackendSrv().fetch({ url: `${ds.url}${path}`, method: 'POST', data }));
  }

  // Code-mode payload (DataSource.ts:230-255): each variable formatted `json`; a result
  // wrapped in double quotes is unwrapped; then JSON.parse, and a text that does not
  // parse is silently sent as {} (recorded in `notes` so tests can see it happen).
  function codePayload(text, scopedVars, refId) {
    if (typeof text !== 'string' || !text.trim()) return {};
    const interpolated = text.replace(VARIABLE_PATTERN, (match) => {
      const replaced = getTemplateSrv().replace(match, scopedVars, 'json');
      return replaced.length >= 2 && replaced.startsWith('"') && replaced.endsWith('"')
        ? replaced.slice(1, -1)
        : replaced;
    });
    try {
      return JSON.parse(interpolated);
    } catch (err) {
      notes.push({ kind: 'payload-not-json', refId, payload: text, interpolated, error: err.message });
      return {};
    }
  }

  // Builder-mode payload: every value .toString()'d and interpolated with the `regex`
  // format; a null value makes the whole payload {} (DataSource.ts:230-255).
  function builderPayload(payload, scopedVars, refId) {
    const result = {};
    for (const [key, value] of Object.entries(payload || {})) {
      if (value === null || value === undefined) {
        notes.push({ kind: 'payload-null-value', refId, payload, key });
        return {};
      }
      result[key] = getTemplateSrv().replace(value.toString(), scopedVars, 'regex');
    }
    return result;
  }

  // The plugin's variable options (response_parser.ts:6-31): __text/__value fields give
  // {text, value}; otherwise every value of every field is an option text. Duplicate
  // texts collapse, the first one winning.
  function variableOptions(frame) {
    const fields = frame.fields || [];
    const textField = fields.find((f) => f.name === '__text');
    const valueField = fields.find((f) => f.name === '__value');
    const found = [];
    if (textField && valueField) {
      for (let i = 0; i < textField.values.length; i++) {
        found.push({ text: String(textField.values[i]), value: String(valueField.values[i]) });
      }
    } else {
      for (const field of fields) for (const value of field.values) found.push({ text: value });
    }
    const seen = new Set();
    return found.filter((o) => (seen.has(o.text) ? false : seen.add(o.text)));
  }

  // VariableSupport.ts:41-46: the variable query goes through metricFindQuery.
  class JsonVariableSupport extends CustomVariableSupport {
    constructor(datasource) {
      super();
      this.datasource = datasource;
      this.editor = () => null;
    }
    query(request) {
      const query = request.targets[0];
      const options = { range: request.range, scopedVars: request.scopedVars, variable: request.variable };
      return from(this.datasource.metricFindQuery(query, options)).pipe(map((data) => ({ data })));
    }
  }

  class JsonDatasource extends DataSourceApi {
    constructor(instanceSettings) {
      super(instanceSettings);
      this.url = instanceSettings.url;
      this.annotations = {}; // Grafana's standard annotation support: POST /query, refId Anno
      this.variables = new JsonVariableSupport(this);
    }

    // DataSource.ts:79 and 270-273: targets without `target` are dropped; hidden ones are
    // sent; every element of the answer goes through toDataFrame.
    async query(request) {
      const targets = request.targets
        .filter((t) => t.target !== undefined && t.target !== null && t.target !== '')
        .map((t) => ({ ...t, payload: this.targetPayload(t, request.scopedVars) }));
      if (targets.length === 0) return { data: [] };
      const response = await post(this, '/query', { ...request, targets });
      return { data: response.data.map((element) => toDataFrame(element)) };
    }

    targetPayload(target, scopedVars) {
      return target.editorMode === 'builder'
        ? builderPayload(target.payload, scopedVars, target.refId)
        : codePayload(target.payload, scopedVars, target.refId);
    }

    // MetricFindQuery.ts:26-33: format json is JSON.parse(replace(query, json)), a parse
    // failure being the variable's error; otherwise {target: replace(query, regex)}.
    variablePayload(query, scopedVars) {
      const text = typeof query === 'string' ? query : query.query;
      return query && query.format === 'json'
        ? JSON.parse(getTemplateSrv().replace(text, scopedVars, 'json'))
        : { target: getTemplateSrv().replace(text, scopedVars, 'regex') };
    }

    async metricFindQuery(query, options) {
      const payload = this.variablePayload(query, options && options.scopedVars);
      const response = await post(this, '/variable', { payload, range: options && options.range });
      return variableOptions(toDataFrame(response.data));
    }

    // Ad hoc filters: the options scenes builds ({filters, timeRange, ...}) are posted.
    async getTagKeys(options) {
      const response = await post(this, '/tag-keys', { filters: options && options.filters, timeRange: options && options.timeRange });
      return response.data;
    }

    async getTagValues(options) {
      const response = await post(this, '/tag-values', {
        key: options.key,
        filters: options.filters,
        timeRange: options.timeRange,
      });
      return response.data;
    }

    // DataSource.ts:89-121: GET <url>; only 200 counts; the message is statusText plus
    // data.error.code / data.error.message when present.
    async testDatasource() {
      try {
        const response = await lastValueFrom(getBackendSrv().fetch({ url: this.url, method: 'GET' }));
        if (response.status === 200) return { status: 'success', message: 'Data source is working', title: 'Success' };
        return { status: 'error', message: response.statusText, title: 'Error' };
      } catch (err) {
        let message = err.statusText || 'Error';
        if (err.data && err.data.error) message += `: ${err.data.error.code}. ${err.data.error.message}`;
        return { status: 'error', message, title: 'Error' };
      }
    }
  }

  return JsonDatasource;
}

module.exports = { createJsonDatasourceClass };
