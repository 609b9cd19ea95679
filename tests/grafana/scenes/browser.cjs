'use strict';
// Browser globals for Grafana's frontend packages under Node: a jsdom window and the
// few observers and media queries jsdom lacks (no-ops: nothing is rendered).

const NO_OP_OBSERVER = class {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
};

// Style sheets and images that the bundles require() for a web bundler: nothing to load.
function ignoreAssetRequires() {
  const extensions = require('module')._extensions;
  for (const extension of ['.css', '.scss', '.svg', '.png', '.gif', '.woff', '.woff2']) {
    extensions[extension] = (module) => {
      module.exports = {};
    };
  }
}

function installBrowserGlobals(requireFromPackages) {
  ignoreAssetRequires();
  const { JSDOM } = requireFromPackages('jsdom');
  const dom = new JSDOM('<!doctype html><html><body></body></html>', {
    url: 'http://localhost:3000/',
    pretendToBeVisual: true,
  });
  const { window } = dom;
  window.matchMedia = (query) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener() {},
    removeListener() {},
    addEventListener() {},
    removeEventListener() {},
    dispatchEvent: () => false,
  });
  window.ResizeObserver = NO_OP_OBSERVER;
  window.IntersectionObserver = NO_OP_OBSERVER;
  const names = [
    'window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'HTMLElement',
    'Element', 'Node', 'getComputedStyle', 'matchMedia', 'ResizeObserver',
    'IntersectionObserver', 'MutationObserver', 'CustomEvent', 'Event', 'DocumentFragment',
    'SVGElement', 'HTMLCanvasElement', 'location', 'history', 'DOMParser', 'Text',
  ];
  for (const name of names) {
    if (window[name] !== undefined) {
      Object.defineProperty(global, name, { value: window[name], configurable: true, writable: true });
    }
  }
  // Every other window property Node lacks (devicePixelRatio, HTMLDivElement, ...), as
  // the browser has them on its global object.
  for (const name of Object.getOwnPropertyNames(window)) {
    if (!(name in global)) {
      Object.defineProperty(global, name, { value: window[name], configurable: true, writable: true });
    }
  }
  global.requestAnimationFrame = (callback) => setTimeout(() => callback(Date.now()), 0);
  global.cancelAnimationFrame = (handle) => clearTimeout(handle);
  window.requestAnimationFrame = global.requestAnimationFrame;
  window.cancelAnimationFrame = global.cancelAnimationFrame;
  return window;
}

// The dashboards open at a chosen moment (the end of the seeded data, say): `new Date()`
// and `Date.now()` read a clock shifted by a fixed offset; dates built from a value are
// untouched. Grafana's time ranges (dateMath, moment) then resolve `now` at that moment.
const RealDate = Date;
let clockOffsetMs = 0;

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + clockOffsetMs);
    else super(...args);
  }
  static now() {
    return RealDate.now() + clockOffsetMs;
  }
}

function installShiftedClock() {
  global.Date = ShiftedDate;
}

function setNow(epochMs) {
  clockOffsetMs = epochMs === null || epochMs === undefined ? 0 : epochMs - RealDate.now();
}

module.exports = { installBrowserGlobals, installShiftedClock, setNow };
