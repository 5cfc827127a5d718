// The `k6/metrics` module.
const N = globalThis.__stampede_native;

class Metric {
  constructor(name, type, isTime) {
    if (typeof name !== 'string' || name === '') throw new TypeError('a metric needs a name');
    this.name = name;
    this.type = type;
    this._id = N.registerMetric(name, type, !!isTime);
  }
  add(value, tags) {
    let v = value;
    if (typeof v === 'boolean') v = v ? 1 : 0;
    else if (v === null || v === undefined) v = NaN;
    else v = Number(v);
    // As k6: a warning and `false`, or an exception with the `throw` option.
    if (Number.isNaN(v)) return N.metricInvalid(this.name, String(value));
    N.metricAdd(this._id, this.type, v, tags);
    return true;
  }
}

export class Counter extends Metric { constructor(name, isTime) { super(name, 'counter', isTime); } }
export class Gauge extends Metric { constructor(name, isTime) { super(name, 'gauge', isTime); } }
export class Rate extends Metric { constructor(name, isTime) { super(name, 'rate', isTime); } }
export class Trend extends Metric { constructor(name, isTime) { super(name, 'trend', isTime); } }

export default { Counter, Gauge, Rate, Trend };
