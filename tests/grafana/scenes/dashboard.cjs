'use strict';
// A dashboard's classic JSON (schemaVersion 41/42) built into a scene, following
// Grafana's public/app/features/dashboard-scene/serialization/transformSaveModelToScene.ts
// (createSceneVariableFromVariableModel, annotation layers, one SceneQueryRunner per
// panel) and DashboardScene.enrichDataRequest (dashboardUID, panelId, panelName,
// panelPluginId on every request). Nothing is rendered: each panel's runner sits in a
// SceneFlexItem that is activated by hand, as React would on mount, and is then told its
// width, as the panel's size measurement does (the runner waits for it before querying).

function flatPanels(panels) {
  const found = [];
  for (const panel of panels || []) {
    if (panel.type === 'row') found.push(...flatPanels(panel.panels));
    else found.push(panel);
  }
  return found;
}

function currentValue(variable) {
  const current = variable.current || {};
  return { value: current.value, text: current.text };
}

function createVariable(s, model, override) {
  const common = {
    name: model.name,
    label: model.label,
    description: model.description,
    hide: model.hide,
    skipUrlSync: model.skipUrlSync,
  };
  const { value, text } = override !== undefined ? { value: override, text: override } : currentValue(model);
  switch (model.type) {
    case 'query':
      return new s.QueryVariable({
        ...common,
        datasource: model.datasource,
        query: model.query,
        definition: model.definition,
        regex: model.regex,
        sort: model.sort,
        refresh: model.refresh,
        isMulti: model.multi,
        includeAll: model.includeAll,
        allValue: model.allValue || undefined,
        value,
        text,
      });
    case 'custom':
      return new s.CustomVariable({
        ...common,
        query: model.query,
        isMulti: model.multi,
        includeAll: model.includeAll,
        allValue: model.allValue || undefined,
        value,
        text,
      });
    case 'textbox':
      return new s.TextBoxVariable({ ...common, value: value !== undefined ? value : model.query });
    case 'constant':
      return new s.ConstantVariable({ ...common, value: model.query });
    case 'interval':
      return new s.IntervalVariable({
        ...common,
        intervals: String(model.query).split(',').map((i) => i.trim()).filter(Boolean),
        value,
        autoEnabled: model.auto,
        autoMinInterval: model.auto_min,
        autoStepCount: model.auto_count,
        refresh: model.refresh,
      });
    case 'adhoc':
      return new s.AdHocFiltersVariable({
        ...common,
        datasource: model.datasource,
        filters: override !== undefined ? override : model.filters || [],
        baseFilters: model.baseFilters || [],
      });
    default:
      throw new Error(`variable ${model.name}: type ${model.type} is not supported by this harness`);
  }
}

function buildDashboardScene(pkgs, dashboard, options) {
  const s = pkgs.scenes;
  const overrides = options.values || {};
  const panels = flatPanels(dashboard.panels).filter((p) => Array.isArray(p.targets) && p.targets.length);
  const runners = new Map(); // runner key -> panel
  const widths = new Map(); // runner -> its panel's width in px, told once it is mounted
  const variables = ((dashboard.templating || {}).list || []).map((model) =>
    createVariable(s, model, overrides[model.name]),
  );
  // Built-in "Annotations & Alerts" (Grafana's own annotation store) needs a Grafana
  // server: not part of this replay.
  const annotationModels = ((dashboard.annotations || {}).list || []).filter((a) => !a.builtIn);
  const layers = annotationModels.map(
    (a) =>
      new s.dataLayers.AnnotationsDataLayer({
        key: `annotation-${a.name}`,
        name: a.name,
        isEnabled: a.enable !== false,
        isHidden: Boolean(a.hide),
        query: a,
      }),
  );

  class DashboardScene extends s.EmbeddedScene {
    enrichDataRequest(sceneObject) {
      const panel = runners.get(sceneObject.state.key);
      const enriched = { app: 'dashboard', dashboardUID: dashboard.uid };
      if (panel) Object.assign(enriched, { panelId: panel.id, panelName: panel.title, panelPluginId: panel.type });
      return enriched;
    }
  }

  const items = panels.map((panel) => {
    const key = `panel-${panel.id}`;
    runners.set(key, panel);
    const runner = new s.SceneQueryRunner({
      key,
      datasource: panel.datasource,
      queries: panel.targets,
      minInterval: panel.interval || undefined,
      maxDataPoints: panel.maxDataPoints || undefined,
      maxDataPointsFromWidth: true,
    });
    const columns = (panel.gridPos && panel.gridPos.w) || 24;
    widths.set(runner, Math.round((options.screenWidth * columns) / 24));
    return new s.SceneFlexItem({ $data: runner, body: new s.SceneCanvasText({ text: panel.title || '' }) });
  });

  const scene = new DashboardScene({
    $timeRange: new s.SceneTimeRange({
      from: dashboard.time.from,
      to: dashboard.time.to,
      timeZone: dashboard.timezone || 'browser',
    }),
    $variables: new s.SceneVariableSet({ variables }),
    $data: layers.length ? new s.SceneDataLayerSet({ layers }) : undefined,
    body: new s.SceneFlexLayout({ children: items }),
  });
  return { scene, items, panels, variables, layers, annotationModels, widths };
}

module.exports = { buildDashboardScene, flatPanels };
