'use strict';
// Stand-ins for the Grafana app services a dashboard needs, which live in Grafana's
// own frontend (public/app/...) and not in any npm package. Each follows the Grafana
// source file named above it, as of the 12.4 / 13.2 lines, and does no more than the
// dashboards here need. Registered through @grafana/runtime's setters.

function createServices(pkgs, exchanges) {
  const { from, Observable, of, throwError } = pkgs.rxjs;
  const { map, catchError } = pkgs.rxjsOperators;
  const { LoadingState, DataTopic } = pkgs.data;
  const { sceneGraph } = pkgs.scenes;
  const registry = new Map(); // uid -> {instance, settings, target: {url, headers}}
  let inFlight = 0;

  // public/app/core/services/backend_srv.ts (fetch) together with the datasource proxy,
  // pkg/api/pluginproxy/ds_proxy.go: a proxy URL /api/datasources/proxy/uid/<uid>/<path>
  // goes to <datasource URL>/<path> with the datasource's configured headers
  // (httpHeaderName1/httpHeaderValue1, our bearer token). JSON in, JSON out; a non-2xx
  // answer becomes a FetchError {status, statusText, data, config}.
  const backendSrv = {
    fetch(options) {
      return new Observable((subscriber) => {
        let cancelled = false;
        send(options).then(
          (response) => {
            if (cancelled) return;
            if (response.ok) {
              subscriber.next(response);
              subscriber.complete();
            } else {
              subscriber.error({
                status: response.status,
                statusText: response.statusText,
                data: response.data,
                config: options,
              });
            }
          },
          (err) => cancelled || subscriber.error({ status: 0, statusText: String(err), data: {}, config: options }),
        );
        return () => {
          cancelled = true;
        };
      });
    },
    get(url, params) {
      return new Promise((resolve, reject) =>
        backendSrv.fetch({ url, method: 'GET', params }).subscribe({ next: (r) => resolve(r.data), error: reject }),
      );
    },
    post(url, data) {
      return new Promise((resolve, reject) =>
        backendSrv.fetch({ url, method: 'POST', data }).subscribe({ next: (r) => resolve(r.data), error: reject }),
      );
    },
  };

  async function send(options) {
    const method = (options.method || 'GET').toUpperCase();
    const { url, headers } = resolveProxyUrl(options.url);
    const allHeaders = { ...(options.headers || {}), ...headers };
    const init = { method, headers: allHeaders };
    if (options.data !== undefined && method !== 'GET') {
      init.body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
      allHeaders['Content-Type'] = allHeaders['Content-Type'] || 'application/json';
    }
    const exchange = { method, url, body: init.body === undefined ? null : JSON.parse(init.body) };
    exchanges.push(exchange);
    inFlight += 1;
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      let data;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch (err) {
        data = text;
      }
      exchange.status = response.status;
      exchange.answer = data === undefined ? null : data;
      return { ok: response.ok, status: response.status, statusText: response.statusText, data, url, config: options };
    } catch (err) {
      exchange.status = 0;
      exchange.answer = String(err);
      throw err;
    } finally {
      inFlight -= 1;
    }
  }

  function resolveProxyUrl(url) {
    const match = /^\/api\/datasources\/proxy\/uid\/([^/]+)(\/.*)?$/.exec(url);
    if (!match) throw new Error(`only datasource proxy URLs are served here, not ${url}`);
    const entry = registry.get(match[1]);
    if (!entry) throw new Error(`datasource ${match[1]} is not registered`);
    const base = entry.target.url.replace(/\/+$/, '');
    return { url: base + (match[2] || ''), headers: entry.target.headers || {} };
  }

  // public/app/features/templating/template_srv.ts, the scenes branch: replace() is
  // sceneGraph.interpolate on the scene object of the request (scopedVars.__sceneObject),
  // else on the active dashboard scene (window.__grafanaSceneContext).
  const templateSrv = {
    replace(target, scopedVars, format, interpolations) {
      const wrapped = scopedVars && scopedVars.__sceneObject && scopedVars.__sceneObject.value;
      const sceneObject = wrapped ? wrapped.valueOf() : window.__grafanaSceneContext;
      if (!sceneObject) throw new Error('templateSrv.replace outside a scene');
      return sceneGraph.interpolate(sceneObject, target, scopedVars, format, interpolations);
    },
    getVariables() {
      const scene = window.__grafanaSceneContext;
      return scene ? sceneGraph.getVariables(scene).state.variables.map((v) => v.state) : [];
    },
    containsTemplate(text) {
      return typeof text === 'string' && /\$\w+|\[\[\w+|\$\{\w+/.test(text);
    },
    updateTimeRange() {},
    getAdhocFilters() {
      return [];
    },
  };

  // public/app/features/query/state/runRequest.ts: call the datasource (or the given
  // query function), turn each response into PanelData: frames split into series and
  // annotations (meta.dataTopic), errors kept, an exception becomes state Error.
  function runRequest(datasource, request, queryFunction) {
    const call = queryFunction || datasource.query.bind(datasource);
    const started = Date.now();
    return from(Promise.resolve(call(request))).pipe(
      pkgs.rxjsOperators.mergeMap((result) => (result && typeof result.subscribe === 'function' ? result : of(result))),
      map((response) => {
        const frames = (response && response.data) || [];
        const isAnnotation = (frame) => frame && frame.meta && frame.meta.dataTopic === DataTopic.Annotations;
        const errors = response.errors || (response.error ? [response.error] : undefined);
        return {
          state: errors && errors.length ? LoadingState.Error : response.state || LoadingState.Done,
          series: frames.filter((frame) => !isAnnotation(frame)),
          annotations: frames.filter(isAnnotation),
          errors,
          error: errors && errors[0],
          request: { ...request, endTime: Date.now() },
          timeRange: request.range,
          timings: { dataProcessingTime: Date.now() - started },
        };
      }),
      catchError((err) => {
        const error = pkgs.runtime.toDataQueryError(err);
        return of({ state: LoadingState.Error, series: [], annotations: [], error, errors: [error], request, timeRange: request.range });
      }),
    );
  }

  // public/app/features/plugins/datasource_srv.ts: instances by uid (or the default).
  const dataSourceSrv = {
    async get(ref) {
      return lookup(ref).instance;
    },
    getInstanceSettings(ref) {
      try {
        return lookup(ref).settings;
      } catch (err) {
        return undefined;
      }
    },
    getList() {
      return Array.from(registry.values()).map((entry) => entry.settings);
    },
    reload() {},
    registerMetadata() {},
  };

  function lookup(ref) {
    const uid = ref === null || ref === undefined ? null : typeof ref === 'string' ? ref : ref.uid;
    if (uid === null) {
      const fallback = Array.from(registry.values()).find((entry) => entry.settings.isDefault);
      if (fallback) return fallback;
    }
    const entry = registry.get(uid) || Array.from(registry.values()).find((e) => e.settings.name === uid);
    if (!entry) throw new Error(`Datasource ${JSON.stringify(ref)} was not found`);
    return entry;
  }

  function register(uid, instance, settings, target) {
    registry.set(uid, { instance, settings, target });
  }

  function clear() {
    registry.clear();
  }

  return {
    backendSrv,
    templateSrv,
    runRequest,
    dataSourceSrv,
    register,
    clear,
    lookupInstance: (ref) => lookup(ref).instance,
    inFlight: () => inFlight,
    throwError,
  };
}

module.exports = { createServices };
