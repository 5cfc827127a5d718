// The `k6/execution` module: live views of the VU, scenario and instance state.
const N = globalThis.__stampede_native;
N.load('exec');

const tagsProxy = new Proxy({}, {
  get(_, k) { return N.vuTagGet(String(k)); },
  set(_, k, v) {
    if (v !== null && typeof v === 'object') throw new TypeError('a tag value must be a string, number or boolean');
    N.vuTagSet(String(k), String(v));
    return true;
  },
  deleteProperty(_, k) { N.vuTagDelete(String(k)); return true; },
  ownKeys() { return N.vuTagKeys(); },
  getOwnPropertyDescriptor(_, k) {
    const v = N.vuTagGet(String(k));
    return v === undefined ? undefined : { value: v, enumerable: true, configurable: true, writable: true };
  },
});

function info(section) { return N.execInfo(section); }

const vu = {
  get idInInstance() { return info('vu').idInInstance; },
  get idInTest() { return info('vu').idInTest; },
  get iterationInInstance() { return info('vu').iterationInInstance; },
  get iterationInScenario() { return info('vu').iterationInScenario; },
  metrics: { tags: tagsProxy, metadata: {} },
  get tags() { return tagsProxy; },
};

const scenario = {
  get name() { return info('scenario').name; },
  get executor() { return info('scenario').executor; },
  get startTime() { return info('scenario').startTime; },
  get progress() { return info('scenario').progress; },
  get iterationInInstance() { return info('scenario').iterationInInstance; },
  get iterationInTest() { return info('scenario').iterationInTest; },
};

const instance = {
  get iterationsCompleted() { return info('instance').iterationsCompleted; },
  get iterationsInterrupted() { return info('instance').iterationsInterrupted; },
  get vusActive() { return info('instance').vusActive; },
  get vusInitialized() { return info('instance').vusInitialized; },
  get currentTestRunDuration() { return info('instance').currentTestRunDuration; },
};

const test = {
  abort(msg) { N.abort(msg === undefined ? '' : String(msg)); },
  fail(msg) { N.markFailed(msg === undefined ? '' : String(msg)); },
  get options() { return N.testOptions(); },
};

export { vu, scenario, instance, test };
export default { vu, scenario, instance, test };
