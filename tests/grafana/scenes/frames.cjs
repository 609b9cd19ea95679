'use strict';
// Grafana data frames as plain JSON for the Python side: {name, refId, meta, length,
// fields: [{name, type, values, labels, config}]}, null for what Grafana left undefined.

const orNull = (value) => (value === undefined ? null : value);

function plainValues(values) {
  if (values === undefined || values === null) return null;
  if (Array.isArray(values)) return Array.from(values);
  if (typeof values === 'object') {
    if (typeof values.toArray === 'function') return Array.from(values.toArray());
    if (typeof values.length === 'number') return Array.from(values);
  }
  return values;
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

module.exports = { plainFrame };
